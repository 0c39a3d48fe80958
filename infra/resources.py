"""Haven's deploy resources as one CloudFormation (SAM) document, built from the code.

This is the single definition of everything that is not a Lambda function or the API
itself: the DynamoDB tables (one per model in `ALL_MODELS`, derived from the PynamoDB
metadata), the media bucket, the KMS key, the exports queue and its dead-letter queue, the
Cognito user pool, the signing-key secret,
the SES sender identity, the Lambda execution role, alarms, API throttling and the
functions' environment. `chalice package --merge-template infra/resources.json` merges it
into the template Chalice generates; `infra/provision.py` stands the same document up in
the local emulator.

    python -m infra.resources            write infra/resources.json
    python -m infra.resources --check    exit 1 when infra/resources.json is stale

The merge is a deep dict merge: keys given here win. Some entries are therefore partial, on
purpose: `RestAPI` (adds MethodSettings and the access log to the API Chalice generates) and
one entry per Lambda function (its role, its name, its own encrypted log group and, for the
sweeps, reserved concurrency; Chalice cannot reference a role created in the same stack; for a
queue's function, its SQS event source pointed at the stage's queue). A
partial entry that no longer matches anything Chalice generates has no `Type` and fails
cfn-lint, which the tests run.

Security and operations (README "Security"): the KMS key policy grants each use to the one
principal that needs it (the functions' room keys only with their encryption context; S3,
DynamoDB, Secrets Manager and CloudWatch Logs only through those services); the account
administers the key but cannot use it; a break-glass role (MFA) can decrypt. Logs: API access
log (route templates only, never the raw path), one encrypted log group per function,
CloudTrail data events of every table and the media bucket, S3 server access logs. WAF rate
limit per IP on the API stage. A dashboard, alarms for what needs a person (docs/runbook.md)
and saved Logs Insights queries.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "infra" / "resources.json"

APP_PREFIX = "haven"
KEY = "Key"
KEY_ALIAS = "KeyAlias"
BUCKET = "MediaBucket"
BUCKET_POLICY = "MediaBucketPolicy"
USER_POOL = "UserPool"
USER_POOL_CLIENT = "UserPoolClient"
SIGNING_SECRET = "SigningKeySecret"
MAIL_IDENTITY = "MailSenderIdentity"
ROLE = "LambdaRole"
ROLE_POLICY = "LambdaPolicy"
ALARM_TOPIC = "AlarmTopic"
ALARM_KEY = "AlarmKey"
ALARM_KEY_ALIAS = "AlarmKeyAlias"
BREAK_GLASS_ROLE = "BreakGlassRole"
BREAK_GLASS_POLICY = "BreakGlassPolicy"
ACCESS_LOGS_BUCKET = "AccessLogsBucket"
ACCESS_LOGS_BUCKET_POLICY = "AccessLogsBucketPolicy"
TRAIL = "DataEventsTrail"
TRAIL_BUCKET = "TrailBucket"
TRAIL_BUCKET_POLICY = "TrailBucketPolicy"
API_ACCESS_LOG_GROUP = "ApiAccessLogGroup"
API_GATEWAY_ACCOUNT = "ApiGatewayAccount"
API_GATEWAY_LOGS_ROLE = "ApiGatewayLogsRole"
WEB_ACL = "WebAcl"
WEB_ACL_ASSOCIATION = "WebAclAssociation"
WAF_LOG_GROUP = "WafLogGroup"
WAF_LOGGING = "WafLogging"
DASHBOARD = "Dashboard"
API_NAME = "haven"           # the REST API's name (Chalice's app_name): the ApiName metric dimension
API_STAGE = "api"            # `api_gateway_stage` in .chalice/config.json
SERVICE_DIMENSION = [{"Name": "service", "Value": "haven"}]  # powertools adds it to every Haven metric
GROUPS = {"ProvidersGroup": ("providers", "Providers (therapists, psychiatrists). MFA required."),
          "OpsGroup": ("ops", "Operations staff. MFA required.")}
PENDING_PREFIX = "pending/"
METRICS_NAMESPACE = "Haven"

PARAMETERS: dict[str, dict[str, Any]] = {
    "Stage": {
        "Type": "String", "Default": "prod", "AllowedPattern": "^[a-z][a-z0-9]{0,15}$",
        "Description": "Deployment stage; every resource name is haven-<Stage>-...",
    },
    "MailSender": {
        "Type": "String", "AllowedPattern": "^[^@\\s]+@[^@\\s]+$",
        "Description": "From address of every email (an SES identity is created for it).",
    },
    "OpsEmail": {
        "Type": "String", "AllowedPattern": "^[^@\\s]+@[^@\\s]+$",
        "Description": "Where operational notices and alarms go.",
    },
    "PublicBaseUrl": {
        "Type": "String", "AllowedPattern": "^https?://\\S+$",
        "Description": "Base URL of the API as users reach it (links in email point here).",
    },
    "CorsOrigins": {
        "Type": "CommaDelimitedList",
        "Description": "Origins of the client apps (API CORS and browser uploads to the bucket).",
    },
    "ApiThrottlingRateLimit": {
        "Type": "Number", "Default": 50, "MinValue": 1,
        "Description": "Steady-state requests per second across the API stage.",
    },
    "ApiThrottlingBurstLimit": {
        "Type": "Number", "Default": 100, "MinValue": 1,
        "Description": "Burst of requests across the API stage.",
    },
    "WafRequestsPerIpPer5Minutes": {
        "Type": "Number", "Default": 1000, "MinValue": 10,
        "Description": "WAF blocks (429) an IP address above this many requests in 5 minutes.",
    },
    "LogRetentionDays": {
        "Type": "Number", "Default": 365,
        "AllowedValues": [30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
        "Description": "Retention of the functions', API access and WAF logs (CloudWatch Logs).",
    },
    "AuditLogRetentionDays": {
        "Type": "Number", "Default": 2192, "MinValue": 365,
        "Description": "Retention of CloudTrail data events and S3 server access logs (days).",
    },
    "SweepReservedConcurrency": {
        "Type": "Number", "Default": 2, "MinValue": 1,
        "Description": "Reserved concurrency of each scheduled function (caps it and guarantees it).",
    },
    "QueueReservedConcurrency": {
        "Type": "Number", "Default": 2, "MinValue": 1,
        "Description": "Reserved concurrency of each queue's function (data exports: at most this many "
                       "built at once; the others wait in the queue).",
    },
}


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


def ref(name: str) -> dict:
    return {"Ref": name}


def arn_of(name: str) -> dict:
    return {"Fn::GetAtt": [name, "Arn"]}


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


# --- tables ---------------------------------------------------------------------------------

def all_models() -> list:
    from chalicelib.store.models import ALL_MODELS

    return list(ALL_MODELS)


def table_short_name(model) -> str:
    """`users` for a model whose table is `haven-<stage>-users`."""
    from chalicelib.settings import TABLE_NAMES

    table_name = model.Meta.table_name
    matches = [n for n in TABLE_NAMES if re.fullmatch(rf"{APP_PREFIX}-[^-]+-{re.escape(n)}", table_name)]
    if not matches:
        raise ValueError(f"{model.__name__}: table {table_name!r} is not haven-<stage>-<one of settings.TABLE_NAMES>")
    return max(matches, key=len)


def table_logical_id(short_name: str) -> str:
    return f"{camel(short_name)}Table"


def _key_schema(elements: Iterable[dict]) -> list[dict]:
    ordered = sorted(elements, key=lambda e: 0 if e["KeyType"] == "HASH" else 1)
    return [{"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in ordered]


def _projection(projection: dict) -> dict:
    out = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return out


def ttl_attribute(model) -> str | None:
    from pynamodb.attributes import TTLAttribute

    names = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if len(names) > 1:
        raise ValueError(f"{model.__name__}: DynamoDB allows one TTL attribute, found {names}")
    return names[0] if names else None


def table_resource(model) -> dict:
    """AWS::DynamoDB::Table for one PynamoDB model (keys, indexes, TTL from its metadata)."""
    short = table_short_name(model)
    schema = model._get_schema()
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    properties: dict[str, Any] = {
        "TableName": sub(f"{APP_PREFIX}-${{Stage}}-{short}"),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions.items())],
        "KeySchema": _key_schema(schema["key_schema"]),
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [
            {"IndexName": gsi["index_name"], "KeySchema": _key_schema(gsi["key_schema"]),
             "Projection": _projection(gsi["projection"])}
            for gsi in sorted(schema["global_secondary_indexes"], key=lambda g: g["index_name"])
        ]
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = [
            {"IndexName": lsi["index_name"], "KeySchema": _key_schema(lsi["key_schema"]),
             "Projection": _projection(lsi["projection"])}
            for lsi in sorted(schema["local_secondary_indexes"], key=lambda g: g["index_name"])
        ]
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    properties["SSESpecification"] = {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": ref(KEY)}
    properties["DeletionProtectionEnabled"] = True
    ttl = ttl_attribute(model)
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


def table_resources(models: Iterable | None = None) -> dict[str, dict]:
    resources: dict[str, dict] = {}
    for model in models if models is not None else all_models():
        logical_id = table_logical_id(table_short_name(model))
        if logical_id in resources:
            raise ValueError(f"two models map to {logical_id}")
        resources[logical_id] = table_resource(model)
    return resources


# --- Lambda functions (generated by Chalice) ------------------------------------------------

def load_chalice_app():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import app as app_module

    return app_module.app


def lambda_functions(chalice_app) -> dict[str, str]:
    """{logical id `chalice package` gives a function (see chalice/package.py): its short name}.
    The short name makes the deployed function name `haven-<Stage>-<short name>`."""
    from chalice.app import CloudWatchEventConfig, ScheduledEventConfig, SQSEventConfig
    from chalice.utils import to_cfn_resource_name

    functions: dict[str, str] = {}
    if chalice_app.routes:
        functions["APIHandler"] = "api"
        functions.update((to_cfn_resource_name(a.name), a.name) for a in chalice_app.builtin_auth_handlers)
    for source in chalice_app.event_sources:
        if not isinstance(source, (ScheduledEventConfig, CloudWatchEventConfig, SQSEventConfig)):
            raise ValueError(f"{source.name}: only scheduled, EventBridge and SQS event sources are modelled here")
        functions[to_cfn_resource_name(source.name)] = source.name
    functions.update((to_cfn_resource_name(f.name), f.name) for f in chalice_app.pure_lambda_functions)
    if getattr(chalice_app, "websocket_handlers", None):
        raise ValueError("websocket handlers are not modelled here")
    return {logical_id: re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for logical_id, name in functions.items()}


def sweep_schedules(chalice_app) -> dict[str, tuple[str, str]]:
    """{logical id: (sweep name, schedule expression)} of the scheduled functions."""
    from chalice.utils import to_cfn_resource_name

    from infra.schedules import scheduled_functions

    return {to_cfn_resource_name(s.name): (s.name, s.expression) for s in scheduled_functions(chalice_app)}


def function_name(short_name: str) -> str:
    return f"{APP_PREFIX}-${{Stage}}-{short_name}"


def log_group_id(function_id: str) -> str:
    return f"{function_id}LogGroup"


# --- everything else ------------------------------------------------------------------------

ACCOUNT_ROOT = sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
MEDIA_BUCKET_NAME = f"{APP_PREFIX}-${{Stage}}-media-${{AWS::AccountId}}"
TRAIL_NAME = f"{APP_PREFIX}-${{Stage}}-data-events"
TRAIL_BUCKET_NAME = f"{APP_PREFIX}-${{Stage}}-trail-${{AWS::AccountId}}"
# Built from names, not GetAtt: the key policy cannot reference resources that use the key.
MEDIA_BUCKET_ARN = f"arn:${{AWS::Partition}}:s3:::{MEDIA_BUCKET_NAME}"
TRAIL_ARN = f"arn:${{AWS::Partition}}:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/{TRAIL_NAME}"
SIGNING_SECRET_ARN = (f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}"
                      f":secret:{APP_PREFIX}-${{Stage}}-signing-key-*")
LOG_GROUP_ARN = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
FUNCTION_LOG_GROUPS = f"/aws/lambda/{APP_PREFIX}-${{Stage}}-"
API_ACCESS_LOG_GROUP_NAME = f"/aws/apigateway/{APP_PREFIX}-${{Stage}}-access"
WAF_LOG_GROUP_NAME = f"aws-waf-logs-{APP_PREFIX}-${{Stage}}"  # WAF requires the prefix

# Key administration without key use: no Encrypt, Decrypt, ReEncrypt, GenerateDataKey, Sign.
KEY_ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
]
ROOM_KEY_CONTEXT = {"purpose": "room-key", "keys": ["purpose", "room_id"]}  # chalicelib/adapters/crypto.py
# A user's own data key (a client's journal and mood notes; anyone's idempotency records): UserCipher.
USER_KEY_CONTEXT = {"purpose": "user-key", "keys": ["purpose", "user_id"]}
# A session request's data key (its note and decline reason): NoteCipher.
REQUEST_KEY_CONTEXT = {"purpose": "request-key", "keys": ["purpose", "request_id"]}


def _key_admin_statement() -> dict:
    return {
        # The account administers the key (IAM decides which admins); using it is granted below.
        "Sid": "AccountAdministersTheKeyButDoesNotUseIt", "Effect": "Allow",
        "Principal": {"AWS": ACCOUNT_ROOT}, "Action": KEY_ADMIN_ACTIONS, "Resource": "*",
    }


def via(service: str) -> dict:
    return sub(f"{service}.${{AWS::Region}}.amazonaws.com")


def key_policy() -> dict:
    """The Haven key: each use granted to the principal that needs it, and only that use."""
    role = arn_of(ROLE)
    account = sub("${AWS::AccountId}")
    statements = [
        _key_admin_statement(),
        {"Sid": "FunctionsRoomKeys", "Effect": "Allow", "Principal": {"AWS": role},
         # Message bodies: a data key per room, made and opened with the room's encryption context.
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {
             "StringEquals": {"kms:EncryptionContext:purpose": ROOM_KEY_CONTEXT["purpose"]},
             "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ROOM_KEY_CONTEXT["keys"]},
             "Null": {"kms:EncryptionContext:room_id": "false"},
         }},
        {"Sid": "FunctionsUserKeys", "Effect": "Allow", "Principal": {"AWS": role},
         # What a user keeps to themselves: a data key per user, made and opened with their context.
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {
             "StringEquals": {"kms:EncryptionContext:purpose": USER_KEY_CONTEXT["purpose"]},
             "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": USER_KEY_CONTEXT["keys"]},
             "Null": {"kms:EncryptionContext:user_id": "false"},
         }},
        {"Sid": "FunctionsRequestKeys", "Effect": "Allow", "Principal": {"AWS": role},
         # Free text of session requests: a data key per request, made and opened with its context.
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {
             "StringEquals": {"kms:EncryptionContext:purpose": REQUEST_KEY_CONTEXT["purpose"]},
             "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": REQUEST_KEY_CONTEXT["keys"]},
             "Null": {"kms:EncryptionContext:request_id": "false"},
         }},
        {"Sid": "FunctionsMediaThroughS3", "Effect": "Allow", "Principal": {"AWS": role},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {
             "StringEquals": {"kms:ViaService": via("s3")},
             # With S3 bucket keys the context is the bucket ARN; without, the object ARN.
             "StringLike": {"kms:EncryptionContext:aws:s3:arn": [sub(MEDIA_BUCKET_ARN), sub(MEDIA_BUCKET_ARN + "/*")]},
         }},
        {"Sid": "FunctionsSigningKeyThroughSecretsManager", "Effect": "Allow", "Principal": {"AWS": role},
         "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {
             "StringEquals": {"kms:ViaService": via("secretsmanager")},
             "StringLike": {"kms:EncryptionContext:SecretARN": sub(SIGNING_SECRET_ARN)},
         }},
        {"Sid": "TablesThroughDynamoDB", "Effect": "Allow", "Principal": {"AWS": [ACCOUNT_ROOT, role]},
         # DynamoDB uses the key for whoever may use the table (IAM on the table decides); the
         # account (through IAM) for the deployment and console, the functions for their requests.
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
                    "kms:CreateGrant"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": via("dynamodb"), "kms:CallerAccount": account}}},
        {"Sid": "SecretThroughSecretsManager", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT},
         # CloudFormation creates (and an admin may rotate) the signing key; IAM decides who.
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": via("secretsmanager"), "kms:CallerAccount": account},
                       "StringLike": {"kms:EncryptionContext:SecretARN": sub(SIGNING_SECRET_ARN)}}},
        {"Sid": "SecretsManagerDescribesTheKey", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT},
         "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": via("secretsmanager"), "kms:CallerAccount": account}}},
        {"Sid": "DynamoDBDescribesTheKey", "Effect": "Allow", "Principal": {"Service": "dynamodb.amazonaws.com"},
         "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"},
        {"Sid": "CloudWatchLogsEncryptsHavenLogGroups", "Effect": "Allow",
         "Principal": {"Service": via("logs")},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
             sub(LOG_GROUP_ARN + FUNCTION_LOG_GROUPS + "*"),
             sub(LOG_GROUP_ARN + API_ACCESS_LOG_GROUP_NAME),
             sub(LOG_GROUP_ARN + WAF_LOG_GROUP_NAME),
         ]}}},
        {"Sid": "CloudTrailEncryptsDataEvents", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": sub(TRAIL_ARN)},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": sub(TRAIL_ARN)}}},
        {"Sid": "CloudTrailDescribesTheKey", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": sub(TRAIL_ARN)}}},
        {"Sid": "AccountReadsDataEvents", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT},
         # Auditors (IAM decides who) decrypt the trail's log files, and nothing else.
         "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": sub(TRAIL_ARN)}}},
        {"Sid": "BreakGlassDecrypts", "Effect": "Allow", "Principal": {"AWS": arn_of(BREAK_GLASS_ROLE)},
         # The documented emergency path (README "Security"): MFA to assume, every use in CloudTrail.
         "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def alarm_key_policy() -> dict:
    """The alarm topic's own key: CloudWatch must be able to publish alarms to it. It protects
    alarm text only (no personal data), so the CloudWatch grant cannot reach Haven's data."""
    return {"Version": "2012-10-17", "Statement": [
        _key_admin_statement(),
        {"Sid": "CloudWatchPublishesAlarms", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         # As CloudWatch documents it, unconditioned: whether SNS passes the alarm's source
         # account on to KMS is not documented, and a wrong guess would silently drop alarms.
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"},
    ]}


def _key(description: str, policy: dict) -> dict:
    return {
        "Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": sub(description),
            "EnableKeyRotation": True,
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "PendingWindowInDays": 30,
            "KeyPolicy": policy,
        },
    }


def key_resources() -> dict[str, dict]:
    return {
        KEY: _key("Haven ${Stage}: message bodies, media, tables, secret, logs", key_policy()),
        KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": sub(f"alias/{APP_PREFIX}-${{Stage}}"), "TargetKeyId": ref(KEY)},
        },
        ALARM_KEY: _key("Haven ${Stage}: the alarm topic", alarm_key_policy()),
        ALARM_KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": sub(f"alias/{APP_PREFIX}-${{Stage}}-alarms"), "TargetKeyId": ref(ALARM_KEY)},
        },
    }


def bucket_resources() -> dict[str, dict]:
    bucket_arn = arn_of(BUCKET)
    objects_arn = sub(f"${{{BUCKET}.Arn}}/*")
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            # Server access logs are delivered under the access-log bucket's policy: have it first.
            "DependsOn": [ACCESS_LOGS_BUCKET_POLICY],
            "Properties": {
                "BucketName": sub(MEDIA_BUCKET_NAME),
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn_of(KEY)},
                    "BucketKeyEnabled": True,
                }]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "expire-unclaimed-uploads", "Status": "Enabled",
                     "Prefix": PENDING_PREFIX, "ExpirationInDays": 1},
                    {"Id": "expire-noncurrent-versions", "Status": "Enabled",
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                ]},
                "CorsConfiguration": {"CorsRules": [{
                    "Id": "client-app-uploads",
                    "AllowedOrigins": ref("CorsOrigins"),
                    "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000,
                }]},
                "LoggingConfiguration": {"DestinationBucketName": ref(ACCESS_LOGS_BUCKET), "LogFilePrefix": "media/"},
            },
        },
        BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref(BUCKET),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                     "Action": "s3:*", "Resource": [bucket_arn, objects_arn],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                    {"Sid": "DenyUploadsWithoutKms", "Effect": "Deny", "Principal": "*",
                     "Action": "s3:PutObject", "Resource": objects_arn,
                     "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
                ]},
            },
        },
    }


PUBLIC_ACCESS_BLOCKED = {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                         "IgnorePublicAcls": True, "RestrictPublicBuckets": True}


def _deny_insecure_transport(bucket: str) -> dict:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn_of(bucket), sub(f"${{{bucket}.Arn}}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def _log_bucket(name: str, encryption: dict, logging: dict | None) -> dict:
    properties: dict[str, Any] = {
        "BucketName": sub(name),
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [encryption]},
        "VersioningConfiguration": {"Status": "Enabled"},
        "PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCKED,
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {"Rules": [
            {"Id": "expire-after-retention", "Status": "Enabled",
             "ExpirationInDays": ref("AuditLogRetentionDays"),
             "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        ]},
    }
    if logging:
        properties["LoggingConfiguration"] = logging
    resource = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                "Properties": properties}
    if logging:  # delivery is allowed by the access-log bucket's policy: have it first
        resource["DependsOn"] = [ACCESS_LOGS_BUCKET_POLICY]
    return resource


def audit_resources(table_ids: list[str]) -> dict[str, dict]:
    """CloudTrail data events of every table and the media bucket's objects, into a bucket of
    their own; S3 server access logs of both buckets into a third."""
    account = sub("${AWS::AccountId}")
    return {
        ACCESS_LOGS_BUCKET: _log_bucket(
            f"{APP_PREFIX}-${{Stage}}-access-logs-${{AWS::AccountId}}",
            # S3 server access logging delivers only to buckets encrypted with SSE-S3.
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}, None),
        ACCESS_LOGS_BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref(ACCESS_LOGS_BUCKET),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    _deny_insecure_transport(ACCESS_LOGS_BUCKET),
                    {"Sid": "S3ServerAccessLogsDelivery", "Effect": "Allow",
                     "Principal": {"Service": "logging.s3.amazonaws.com"},
                     "Action": "s3:PutObject", "Resource": sub(f"${{{ACCESS_LOGS_BUCKET}.Arn}}/*"),
                     "Condition": {"StringEquals": {"aws:SourceAccount": account},
                                   "ArnLike": {"aws:SourceArn": [
                                       sub(MEDIA_BUCKET_ARN),
                                       sub(f"arn:${{AWS::Partition}}:s3:::{TRAIL_BUCKET_NAME}")]}}},
                ]},
            },
        },
        TRAIL_BUCKET: _log_bucket(
            TRAIL_BUCKET_NAME,
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn_of(KEY)},
             "BucketKeyEnabled": True},
            {"DestinationBucketName": ref(ACCESS_LOGS_BUCKET), "LogFilePrefix": "trail/"}),
        TRAIL_BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref(TRAIL_BUCKET),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    _deny_insecure_transport(TRAIL_BUCKET),
                    {"Sid": "CloudTrailAclCheck", "Effect": "Allow",
                     "Principal": {"Service": "cloudtrail.amazonaws.com"},
                     "Action": "s3:GetBucketAcl", "Resource": arn_of(TRAIL_BUCKET),
                     "Condition": {"StringEquals": {"aws:SourceArn": sub(TRAIL_ARN)}}},
                    {"Sid": "CloudTrailWrite", "Effect": "Allow",
                     "Principal": {"Service": "cloudtrail.amazonaws.com"},
                     "Action": "s3:PutObject",
                     "Resource": sub(f"${{{TRAIL_BUCKET}.Arn}}/AWSLogs/${{AWS::AccountId}}/*"),
                     "Condition": {"StringEquals": {"aws:SourceArn": sub(TRAIL_ARN),
                                                    "s3:x-amz-acl": "bucket-owner-full-control"}}},
                ]},
            },
        },
        TRAIL: {
            "Type": "AWS::CloudTrail::Trail",
            "DependsOn": [TRAIL_BUCKET_POLICY],
            "Properties": {
                "TrailName": sub(TRAIL_NAME),
                "S3BucketName": ref(TRAIL_BUCKET),
                "KMSKeyId": arn_of(KEY),
                "IsLogging": True,
                "IsMultiRegionTrail": True,
                "IncludeGlobalServiceEvents": True,
                "EnableLogFileValidation": True,
                # Data events only (who read or wrote which item or object, never the values);
                # management events are left to the account's own trail.
                "AdvancedEventSelectors": [
                    {"Name": "Haven tables: every item read and write",
                     "FieldSelectors": [
                         {"Field": "eventCategory", "Equals": ["Data"]},
                         {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
                         {"Field": "resources.ARN", "Equals": [arn_of(t) for t in table_ids]},
                     ]},
                    {"Name": "Haven media: every object read and write",
                     "FieldSelectors": [
                         {"Field": "eventCategory", "Equals": ["Data"]},
                         {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                         {"Field": "resources.ARN", "StartsWith": [sub(MEDIA_BUCKET_ARN + "/")]},
                     ]},
                ],
            },
        },
    }


def identity_resources() -> dict[str, dict]:
    resources: dict[str, dict] = {
        USER_POOL: {
            "Type": "AWS::Cognito::UserPool", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": sub(f"{APP_PREFIX}-${{Stage}}"),
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "UsernameConfiguration": {"CaseSensitive": False},
                # OPTIONAL at pool level: clients may enrol; providers and ops must (README: MFA).
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "Policies": {"PasswordPolicy": {
                    "MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True,
                    "RequireNumbers": True, "RequireSymbols": False, "TemporaryPasswordValidityDays": 7,
                }},
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
                "Schema": [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
                # SPEC: the pool keeps the old address until the new one is verified.
                "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
                "DeletionProtection": "ACTIVE",
            },
        },
        USER_POOL_CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "ClientName": sub(f"{APP_PREFIX}-${{Stage}}-apps"),
                "UserPoolId": ref(USER_POOL),
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "IdTokenValidity": 1, "AccessTokenValidity": 1, "RefreshTokenValidity": 30,
                "TokenValidityUnits": {"IdToken": "hours", "AccessToken": "hours", "RefreshToken": "days"},
            },
        },
    }
    for logical_id, (name, description) in GROUPS.items():
        resources[logical_id] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"GroupName": name, "Description": description, "UserPoolId": ref(USER_POOL)},
        }
    return resources


def secret_and_mail_resources() -> dict[str, dict]:
    return {
        SIGNING_SECRET: {
            # Read by the app as the SecureString parameter
            # /aws/reference/secretsmanager/haven-<Stage>-signing-key (CloudFormation cannot
            # create SecureString parameters; Parameter Store serves secrets at that path).
            "Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Name": sub(f"{APP_PREFIX}-${{Stage}}-signing-key"),
                "Description": "Key that signs list cursors and email link payloads",
                "KmsKeyId": ref(KEY),
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        MAIL_IDENTITY: {
            "Type": "AWS::SES::EmailIdentity",
            "Properties": {"EmailIdentity": ref("MailSender")},
        },
    }


ACCESS_LOG_TABLE = "AccessLogTable"
CLINICAL_TABLE = "ClinicalTable"  # the clinical record's entries: created once, never changed

# Queue-triggered functions: function name -> (queue logical id, dead-letter queue logical id).
EXPORTS_QUEUE = "ExportsQueue"
EXPORTS_DLQ = "ExportsDeadLetterQueue"
QUEUES = {"exports": (EXPORTS_QUEUE, EXPORTS_DLQ)}
QUEUE_FUNCTION_TIMEOUT = 900  # .chalice/config.json gives the exports function 15 minutes
MAX_RECEIVES = 3
SQS_KEY = "alias/aws/sqs"


def queue_resources() -> dict[str, dict]:
    """Per queue-triggered function: its queue and a dead-letter queue after 3 failed tries.
    Messages carry ids only; SQS encrypts them at rest with the AWS managed key for SQS (so the
    Haven key's policy needs no SQS grant, and Lambda's poller may read them)."""
    resources: dict[str, dict] = {}
    for name, (queue_id, dlq_id) in QUEUES.items():
        resources[dlq_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": sub(f"{APP_PREFIX}-${{Stage}}-{name}-dlq"),
                           "MessageRetentionPeriod": 14 * 24 * 3600, "KmsMasterKeyId": SQS_KEY},
        }
        resources[queue_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{APP_PREFIX}-${{Stage}}-{name}"),
                # AWS requires at least the function's timeout; six times it, as AWS recommends.
                "VisibilityTimeout": 6 * QUEUE_FUNCTION_TIMEOUT,
                "MessageRetentionPeriod": 4 * 24 * 3600,
                "KmsMasterKeyId": SQS_KEY,
                "RedrivePolicy": {"deadLetterTargetArn": arn_of(dlq_id), "maxReceiveCount": MAX_RECEIVES},
            },
        }
    return resources


def signing_key_parameter_path() -> str:
    return f"/aws/reference/secretsmanager/{APP_PREFIX}-${{Stage}}-signing-key"


def _table_arns(table_ids: list[str]) -> list[Any]:
    arns: list[Any] = []
    for logical_id in table_ids:
        arns.append(arn_of(logical_id))
        arns.append(sub(f"${{{logical_id}.Arn}}/index/*"))
    return arns


def role_statements(table_ids: list[str]) -> list[dict]:
    """The functions' IAM policy. KMS is granted by the key policy (`key_policy`), not here."""
    return [
        {"Sid": "Tables", "Effect": "Allow",
         # No Scan: requests and sweeps read by key or through the due indexes only.
         "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem",
                    "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"],
         "Resource": _table_arns(table_ids)},
        *([{"Sid": "AccessLogAppendOnly", "Effect": "Deny",
            # The clinical-data access log is append-only: no function may change or remove a
            # record (transactions are authorised item by item, so this covers them too).
            # IAM cannot require a ConditionExpression on PutItem: that every record is written
            # with `attribute_not_exists` is the code's part (chalicelib/store/access_log.py).
            "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                       "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"],
            "Resource": arn_of(ACCESS_LOG_TABLE)}] if ACCESS_LOG_TABLE in table_ids else []),
        *([{"Sid": "ClinicalRecordAppendOnly", "Effect": "Deny",
            # Questionnaires, risk acknowledgements, records, amendments, member notes: append only.
            "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
            "Resource": arn_of(CLINICAL_TABLE)}] if CLINICAL_TABLE in table_ids else []),
        {"Sid": "MediaObjects", "Effect": "Allow",
         # Multipart actions and version deletes: data exports are streamed in parts and, after
         # 7 days, deleted with every version.
         "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                    "s3:DeleteObjectVersion", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
         "Resource": sub(f"${{{BUCKET}.Arn}}/*")},
        # ListBucket only so that HEAD of a missing upload answers 404, not 403; ListBucketVersions
        # to find every version of an expired export.
        {"Sid": "MediaBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
         "Resource": arn_of(BUCKET)},
        {"Sid": "SigningKeyParameter", "Effect": "Allow", "Action": ["ssm:GetParameter"],
         "Resource": sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                         + signing_key_parameter_path())},
        {"Sid": "SigningKeySecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": ref(SIGNING_SECRET)},
        {"Sid": "Mail", "Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"],
         "Resource": sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailSender}")},
        {"Sid": "Users", "Effect": "Allow",
         "Action": ["cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminGetUser"],
         "Resource": arn_of(USER_POOL)},
        {"Sid": "Queues", "Effect": "Allow",
         # The API sends; the queue's function receives, deletes, and reads its attributes.
         "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility"],
         "Resource": [arn_of(queue_id) for queue_id, _dlq in QUEUES.values()]},
        # Talkcasts: synchronous speech synthesis only (no lexicons, no asynchronous tasks).
        {"Sid": "Speech", "Effect": "Allow", "Action": ["polly:SynthesizeSpeech"], "Resource": "*"},
        # Live sessions: the Chime SDK meetings of this account (any control region: HAVEN_MEETINGS_REGION),
        # exactly the three calls the meetings adapter makes.
        {"Sid": "Meetings", "Effect": "Allow",
         "Action": ["chime:CreateMeeting", "chime:CreateAttendee", "chime:DeleteMeeting"],
         "Resource": sub("arn:${AWS::Partition}:chime:*:${AWS::AccountId}:meeting/*")},
        {"Sid": "Logs", "Effect": "Allow",
         # Into the log groups the template declares (encrypted, with retention); no CreateLogGroup,
         # so no unencrypted group without retention can appear.
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": sub(LOG_GROUP_ARN + FUNCTION_LOG_GROUPS + "*:*")},
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}},
    ]


def role_resources(table_ids: list[str]) -> dict[str, dict]:
    """The functions' role, and its policy as a resource of its own: the key policy names the
    role, and the policy names the tables that use the key, so the two cannot be one resource."""
    return {
        ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": sub("Haven ${Stage}: every Lambda function (API and sweeps)"),
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
            },
        },
        ROLE_POLICY: {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "haven-least-privilege",
                "Roles": [ref(ROLE)],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": role_statements(table_ids)},
            },
        },
    }


def break_glass_resources(table_ids: list[str]) -> dict[str, dict]:
    """`HavenBreakGlass-<Stage>`: read the data and decrypt it in an emergency (README "Security").
    Assumable only with MFA, by principals of this account whom IAM allows `sts:AssumeRole` on it."""
    return {
        BREAK_GLASS_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": sub("HavenBreakGlass-${Stage}"),
                "Description": sub("Haven ${Stage}: emergency read and decrypt; MFA required; see README Security"),
                "MaxSessionDuration": 3600,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                  "NumericLessThan": {"aws:MultiFactorAuthAge": "900"}}}]},
            },
        },
        BREAK_GLASS_POLICY: {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "haven-break-glass-read",
                "Roles": [ref(BREAK_GLASS_ROLE)],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "ReadTables", "Effect": "Allow",
                     "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem",
                                "dynamodb:Query"],
                     "Resource": _table_arns(table_ids)},
                    {"Sid": "ReadMedia", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                     "Resource": sub(f"${{{BUCKET}.Arn}}/*")},
                    {"Sid": "Decrypt", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"],
                     "Resource": arn_of(KEY)},
                ]},
            },
        },
    }


def environment() -> dict[str, Any]:
    """Every variable `chalicelib/settings.py` reads that differs per deployment."""
    return {
        "HAVEN_STAGE": ref("Stage"),
        "HAVEN_BUCKET": ref(BUCKET),
        "HAVEN_KMS_KEY_ID": arn_of(KEY),
        "HAVEN_USER_POOL_ID": ref(USER_POOL),
        "HAVEN_USER_POOL_CLIENT_ID": ref(USER_POOL_CLIENT),
        "HAVEN_SIGNING_KEY_PARAMETER": sub(signing_key_parameter_path()),
        "HAVEN_MAIL_SENDER": ref("MailSender"),
        "HAVEN_OPS_EMAIL": ref("OpsEmail"),
        "HAVEN_PUBLIC_BASE_URL": ref("PublicBaseUrl"),
        "HAVEN_CORS_ORIGINS": {"Fn::Join": [",", ref("CorsOrigins")]},
        "HAVEN_EXPORTS_QUEUE_URL": ref(EXPORTS_QUEUE),
        "POWERTOOLS_SERVICE_NAME": APP_PREFIX,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "HAVEN_REQUIRE_STAFF_MFA": "true",
    }


# --- logs, API stage, WAF ---------------------------------------------------------------------

# One line per request. `$context.resourcePath` is the route template (`/links/{token}`), never
# `$context.path` (the raw path, which carries link tokens); no IP address or user agent (SPEC:
# ids only in logs). `requestId` is what the functions log as the correlation id when the caller
# sent none.
API_ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "time": "$context.requestTime", "method": "$context.httpMethod",
    "route": "$context.resourcePath", "status": "$context.status", "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency", "responseLength": "$context.responseLength",
    "errorType": "$context.error.responseType", "wafResponse": "$context.wafResponseCode",
}, separators=(",", ":"))


def _log_group(name: str) -> dict:
    return {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {"LogGroupName": sub(name), "RetentionInDays": ref("LogRetentionDays"),
                           "KmsKeyId": arn_of(KEY)}}


def log_resources(functions: dict[str, str]) -> dict[str, dict]:
    """A log group per function (`/aws/lambda/<function name>`), declared so that it has retention
    and the Haven key (a group Lambda makes itself has neither), and the API access log."""
    resources = {log_group_id(fid): _log_group(f"/aws/lambda/{function_name(short)}")
                 for fid, short in functions.items()}
    resources[API_ACCESS_LOG_GROUP] = _log_group(API_ACCESS_LOG_GROUP_NAME)
    return resources


def api_logging_account_resources() -> dict[str, dict]:
    """API Gateway writes access logs with a role set once per account and region. Retained, so
    deleting one stage's stack cannot break the logging of another's (README "Security")."""
    return {
        API_GATEWAY_LOGS_ROLE: {
            "Type": "AWS::IAM::Role", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": "API Gateway writes CloudWatch logs (account setting)",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                          "AmazonAPIGatewayPushToCloudWatchLogs")],
            },
        },
        API_GATEWAY_ACCOUNT: {
            "Type": "AWS::ApiGateway::Account", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {"CloudWatchRoleArn": arn_of(API_GATEWAY_LOGS_ROLE)},
        },
    }


def stage_arn() -> dict:
    # `RestAPI.Stage` is the stage SAM generates for the API (and makes this depend on it).
    return sub("arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/${RestAPI.Stage}")


def waf_resources() -> dict[str, dict]:
    def visibility(name: str) -> dict:
        return {"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": True, "MetricName": name}

    return {
        WEB_ACL: {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": sub(f"{APP_PREFIX}-${{Stage}}-api"),
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "VisibilityConfig": visibility(f"{APP_PREFIX}-api"),
                "Rules": [
                    {"Name": "rate-per-ip", "Priority": 0,
                     "Statement": {"RateBasedStatement": {
                         "Limit": ref("WafRequestsPerIpPer5Minutes"), "AggregateKeyType": "IP",
                         "EvaluationWindowSec": 300}},
                     "Action": {"Block": {"CustomResponse": {"ResponseCode": 429}}},
                     "VisibilityConfig": visibility(f"{APP_PREFIX}-rate-per-ip")},
                    {"Name": "aws-known-bad-inputs", "Priority": 1,
                     # Log4j, Java deserialisation and similar probes.
                     "Statement": {"ManagedRuleGroupStatement": {
                         "VendorName": "AWS", "Name": "AWSManagedRulesKnownBadInputsRuleSet"}},
                     "OverrideAction": {"None": {}},
                     "VisibilityConfig": visibility(f"{APP_PREFIX}-known-bad-inputs")},
                ],
            },
        },
        WEB_ACL_ASSOCIATION: {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {"ResourceArn": stage_arn(), "WebACLArn": arn_of(WEB_ACL)},
        },
        WAF_LOG_GROUP: _log_group(WAF_LOG_GROUP_NAME),
        WAF_LOGGING: {
            "Type": "AWS::WAFv2::LoggingConfiguration",
            "Properties": {
                "ResourceArn": arn_of(WEB_ACL),
                "LogDestinationConfigs": [arn_of(WAF_LOG_GROUP)],
                # Blocked requests only, and without what could identify a person or open a link:
                # the raw path (link tokens), the query string (cursors), credentials.
                "RedactedFields": [{"UriPath": {}}, {"QueryString": {}},
                                   {"SingleHeader": {"Name": "authorization"}},
                                   {"SingleHeader": {"Name": "cookie"}}],
                "LoggingFilter": {"DefaultBehavior": "DROP", "Filters": [{
                    "Behavior": "KEEP", "Requirement": "MEETS_ANY",
                    "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}]},
            },
        },
    }


# --- metrics, alarms, dashboard, saved queries ------------------------------------------------

# What the code emits (chalicelib, powertools EMF, namespace `Haven`, dimension service=haven).
EMITTED_METRICS = {
    "BookingCreated": "chalicelib/services/bookings.py",
    "BookingSlotTaken": "chalicelib/services/bookings.py",
    "EmailSent": "chalicelib/services/notify.py",
    "NoticeFailed": "chalicelib/services/notify.py (an email or room notice attempt failed)",
    "ServerError": "chalicelib/api/routing.py",
    "deadlines_replies_overdue": "chalicelib/sweeps/__init__.py (the deadlines sweep's count)",
}
# What the dashboard and alarms need that the code does not emit yet (docs/runbook.md).
PENDING_METRICS = {
    "BookingRefused": "a booking create refused, dimension `code` (slot_taken, no_credit, ...)",
    "OldestDueAgeSeconds": "age of the oldest due item a sweep found, dimension `sweep`, at each run",
}
SWEEP_LAG_SECONDS = 15 * 60
NOTICE_FAILURE_PERIODS = 3  # consecutive 5-minute periods with failures = piling up


def _haven_metric(name: str, *extra_dimensions: dict) -> dict:
    return {"Namespace": METRICS_NAMESPACE, "MetricName": name,
            "Dimensions": [*SERVICE_DIMENSION, *extra_dimensions]}


def _alarm(description: str, metric: dict, *, statistic: str = "Sum", threshold: float = 1,
           periods: int = 1, period: int = 300) -> dict:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description, **metric,
            "Statistic": statistic, "Period": period, "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods, "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching", "AlarmActions": [ref(ALARM_TOPIC)],
        },
    }


def sweep_lag_threshold(expression: str) -> int:
    """Seconds after which a sweep's oldest due item means it is behind: 15 minutes for a sweep
    that runs every few minutes; its period plus 15 minutes for a daily one."""
    from datetime import datetime, timezone

    from infra.schedules import next_fire

    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    first = next_fire(expression, start)
    period = int((next_fire(expression, first) - first).total_seconds())
    return SWEEP_LAG_SECONDS if period <= SWEEP_LAG_SECONDS else period + SWEEP_LAG_SECONDS


def alarm_resources(function_ids: list[str], sweeps: dict[str, tuple[str, str]]) -> dict[str, dict]:
    """Alarms on what needs a person, all to the alarm topic; docs/runbook.md says what to do."""
    resources: dict[str, dict] = {
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": sub(f"{APP_PREFIX}-${{Stage}}-alarms"),
                           "KmsMasterKeyId": arn_of(ALARM_KEY),
                           "Subscription": [{"Protocol": "email", "Endpoint": ref("OpsEmail")}]},
        },
        "ApiServerErrorsAlarm": _alarm(
            "The API answered 5xx (runbook: ApiServerErrorsAlarm)",
            {"Namespace": "AWS/ApiGateway", "MetricName": "5XXError",
             "Dimensions": [{"Name": "ApiName", "Value": API_NAME}]}),
        "EmailFailuresAlarm": _alarm(
            "Emails keep failing: failures in each of 3 consecutive 5-minute periods (runbook: EmailFailuresAlarm)",
            _haven_metric("NoticeFailed"), periods=NOTICE_FAILURE_PERIODS),
        "ReplyPromisesBreachedAlarm": _alarm(
            "A reply promise was broken: a reply is overdue (runbook: ReplyPromisesBreachedAlarm)",
            _haven_metric("deadlines_replies_overdue")),
    }
    for _name, (_queue_id, dlq_id) in QUEUES.items():
        resources[f"{dlq_id}Alarm"] = _alarm(
            f"{dlq_id} holds messages its function gave up on (runbook: DeadLetterQueueAlarm)",
            {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
             "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]},
            statistic="Maximum")
    for function_id, (name, expression) in sweeps.items():
        resources[f"{function_id}BehindAlarm"] = _alarm(
            f"The {name} sweep is behind: its oldest due item waited too long (runbook: SweepBehindAlarm)",
            _haven_metric("OldestDueAgeSeconds", {"Name": "sweep", "Value": name}),
            statistic="Maximum", threshold=sweep_lag_threshold(expression))
    for function_id in function_ids:
        resources[f"{function_id}ErrorsAlarm"] = _alarm(
            f"{function_id} raised errors (runbook: FunctionErrorsAlarm)",
            {"Namespace": "AWS/Lambda", "MetricName": "Errors",
             "Dimensions": [{"Name": "FunctionName", "Value": ref(function_id)}]})
    return resources


def dashboard_body(functions: dict[str, str], sweeps: dict[str, tuple[str, str]], alarm_ids: list[str]) -> dict:
    """The CloudWatch dashboard (a `Fn::Sub` string: `${...}` are template references)."""
    region = "${AWS::Region}"
    api = f'ApiName="{API_NAME}"'

    def search(metric: str, stat: str) -> dict:
        return {"expression": f"SEARCH('{{AWS/ApiGateway,ApiName,Method,Resource,Stage}} {api} "
                              f"MetricName=\"{metric}\"', '{stat}', 300)", "id": "e1"}

    def haven(name: str, *dims: str, stat: str = "Sum") -> list:
        return [METRICS_NAMESPACE, name, "service", "haven", *dims, {"stat": stat}]

    def widget(title: str, metrics: list, x: int, y: int, **props: Any) -> dict:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "region": region, "period": 300, "view": "timeSeries",
                               "metrics": metrics, **props}}

    sweep_ids = list(sweeps)
    widgets = [
        widget("Requests by route", [[search("Count", "Sum")]], 0, 0),
        widget("5xx by route", [[search("5XXError", "Sum")]], 12, 0),
        widget("Latency p99 (API and by route)", [
            ["AWS/ApiGateway", "Latency", "ApiName", API_NAME, {"stat": "p99", "label": "all routes"}],
            [search("Latency", "p99")]], 0, 6),
        widget("Bookings created and refused", [
            haven("BookingCreated"), haven("BookingSlotTaken"),
            [{"expression": f"SEARCH('{{{METRICS_NAMESPACE},service,code}} MetricName=\"BookingRefused\"', "
                            f"'Sum', 300)", "id": "refused"}]], 12, 6),
        widget("Emails sent and failed", [haven("EmailSent"), haven("NoticeFailed")], 0, 12),
        widget("Reply promises breached", [haven("deadlines_replies_overdue")], 12, 12),
        widget("Oldest due item of each sweep (seconds)",
               [haven("OldestDueAgeSeconds", "sweep", name, stat="Maximum") for name, _ in sweeps.values()], 0, 18,
               annotations={"horizontal": [{"label": "15 minutes", "value": SWEEP_LAG_SECONDS}]}),
        widget("Sweep runs, errors and duration", [
            *[["AWS/Lambda", m, "FunctionName", f"${{{fid}}}", {"stat": "Sum" if m != "Duration" else "Maximum"}]
              for fid in sweep_ids for m in ("Invocations", "Errors", "Duration")]], 12, 18),
        {"type": "alarm", "x": 0, "y": 24, "width": 24, "height": 4,
         "properties": {"title": "Alarms", "alarms": [f"${{{a}.Arn}}" for a in alarm_ids]}},
    ]
    return {"widgets": widgets}


QUERIES = {
    # name: (query, which log groups: "api", "sweeps" or "all")
    "One request by correlation id": (
        "fields @timestamp, level, message, route, status, duration_ms, code, caller_id\n"
        "| filter correlation_id = \"PUT-THE-CORRELATION-ID-HERE\"\n"
        "| sort @timestamp asc", "api"),
    "Errors by route": (
        "fields route, status, code\n"
        "| filter level = \"ERROR\" or status >= 500 or message = \"request refused\"\n"
        "| stats count(*) as requests, sum(status >= 500 or level = \"ERROR\") as server_errors by route, code\n"
        "| sort server_errors desc, requests desc", "api"),
    "One booking's history by id": (
        "fields @timestamp, @log, message, status, by, sweep, correlation_id\n"
        "| filter booking_id = \"PUT-THE-BOOKING-ID-HERE\"\n"
        "| sort @timestamp asc", "all"),
    "Sweep runs": (
        "fields @timestamp, sweep, as_of, level, message, result\n"
        "| filter message = \"sweep done\" or level = \"ERROR\" or ispresent(sweep)\n"
        "| sort @timestamp desc\n| limit 200", "sweeps"),
}


def observability_resources(functions: dict[str, str], sweeps: dict[str, tuple[str, str]],
                            alarm_ids: list[str]) -> dict[str, dict]:
    groups = {"api": [fid for fid in functions if fid not in sweeps], "sweeps": list(sweeps), "all": list(functions)}
    resources: dict[str, dict] = {
        DASHBOARD: {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {"DashboardName": sub(f"{APP_PREFIX}-${{Stage}}"),
                           "DashboardBody": sub(json.dumps(dashboard_body(functions, sweeps, alarm_ids),
                                                           separators=(",", ":")))},
        },
    }
    for title, (query, which) in QUERIES.items():
        resources[f"{camel(title)}Query"] = {
            "Type": "AWS::Logs::QueryDefinition",
            "Properties": {"Name": sub(f"{APP_PREFIX}-${{Stage}}/{title}"), "QueryString": query,
                           "LogGroupNames": [ref(log_group_id(fid)) for fid in groups[which]]},
        }
    return resources


# API Gateway answers some requests itself, before Haven's code: in the same error envelope (SPEC §3).
# An unknown path (or a method a resource lacks) reaches the gateway as MISSING_AUTHENTICATION_TOKEN.
GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", "There is no such path in the Haven API."),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type", "Send the body as application/json."),
    "THROTTLED": ("429", "too_many_requests", "Too many requests; slow down and try again."),
    "WAF_FILTERED": ("429", "too_many_requests", "Too many requests; slow down and try again."),
    "REQUEST_TOO_LARGE": ("413", "too_large", "The request is too large."),
    "DEFAULT_4XX": (None, "bad_request", "The request was refused."),
    "DEFAULT_5XX": (None, "internal_error", "Something went wrong on our side; try again."),
}


def gateway_response_resources() -> dict:
    out = {}
    for kind, (status, code, message) in GATEWAY_RESPONSES.items():
        body = json.dumps({"error": {"code": code, "message": message}})
        properties = {"RestApiId": ref("RestAPI"), "ResponseType": kind,
                      "ResponseTemplates": {"application/json": body},
                      "ResponseParameters": {"gatewayresponse.header.Cache-Control": "'no-store'"}}
        if status:
            properties["StatusCode"] = status
        name = "GatewayResponse" + "".join(part.title() for part in kind.split("_"))
        out[name] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}
    return out


def build(chalice_app=None, models: Iterable | None = None) -> dict:
    """The merge template, as a dict."""
    chalice_app = chalice_app if chalice_app is not None else load_chalice_app()
    functions = lambda_functions(chalice_app)
    function_ids = list(functions)
    sweeps = sweep_schedules(chalice_app)
    tables = table_resources(models)
    resources: dict[str, dict] = {}
    resources.update(key_resources())
    resources.update(tables)
    resources.update(bucket_resources())
    resources.update(audit_resources(list(tables)))
    resources.update(identity_resources())
    resources.update(secret_and_mail_resources())
    resources.update(queue_resources())
    resources.update(role_resources(list(tables)))
    resources.update(break_glass_resources(list(tables)))
    resources.update(log_resources(functions))
    alarms = alarm_resources(function_ids, sweeps)
    resources.update(alarms)
    resources.update(observability_resources(
        functions, sweeps, [k for k, r in alarms.items() if r["Type"] == "AWS::CloudWatch::Alarm"]))
    # Partial entries, merged into what `chalice package` generates.
    for function_id, short in functions.items():
        resources[function_id] = {
            "DependsOn": [ROLE_POLICY],
            "Properties": {
                "Role": arn_of(ROLE),
                "FunctionName": sub(function_name(short)),
                "LoggingConfig": {"LogGroup": ref(log_group_id(function_id))},
                **({"ReservedConcurrentExecutions": ref("SweepReservedConcurrency")} if function_id in sweeps else {}),
            },
        }
    for name, (queue_id, _dlq) in QUEUES.items():
        # Chalice names the queue by the placeholder ARN in app.py; the stage's queue is ours.
        function_id = camel(name)
        if function_id in resources:
            resources[function_id]["Properties"]["Events"] = {
                f"{function_id}SqsEventSource": {"Properties": {"Queue": arn_of(queue_id)}}}
            resources[function_id]["Properties"]["ReservedConcurrentExecutions"] = ref("QueueReservedConcurrency")
    if "APIHandler" in function_ids:
        resources.update(gateway_response_resources())
        resources.update(api_logging_account_resources())
        resources.update(waf_resources())
        resources["RestAPI"] = {"DependsOn": [API_GATEWAY_ACCOUNT], "Properties": {
            "AccessLogSetting": {"DestinationArn": arn_of(API_ACCESS_LOG_GROUP), "Format": API_ACCESS_LOG_FORMAT},
            "MethodSettings": [{
                "ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                # Execution logs would carry raw paths (link tokens) and bodies: off.
                "LoggingLevel": "OFF", "DataTraceEnabled": False,
                "ThrottlingRateLimit": ref("ApiThrottlingRateLimit"),
                "ThrottlingBurstLimit": ref("ApiThrottlingBurstLimit"),
            }],
        }}
    outputs: dict[str, dict] = {
        "MediaBucketName": {"Value": ref(BUCKET)},
        "KmsKeyArn": {"Value": arn_of(KEY)},
        "UserPoolId": {"Value": ref(USER_POOL)},
        "UserPoolClientId": {"Value": ref(USER_POOL_CLIENT)},
        "SigningKeyParameter": {"Value": sub(signing_key_parameter_path())},
        "LambdaRoleArn": {"Value": arn_of(ROLE)},
        "BreakGlassRoleArn": {"Value": arn_of(BREAK_GLASS_ROLE)},
        "AlarmTopicArn": {"Value": ref(ALARM_TOPIC)},
        "DashboardName": {"Value": ref(DASHBOARD)},
        "TrailBucketName": {"Value": ref(TRAIL_BUCKET)},
        "AccessLogsBucketName": {"Value": ref(ACCESS_LOGS_BUCKET)},
        "ExportsQueueUrl": {"Value": ref(EXPORTS_QUEUE)},
    }
    for logical_id in tables:
        outputs[f"{logical_id}Name"] = {"Value": ref(logical_id)}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Haven: tables, media bucket, keys, identity, secret, mail, roles, logs, trail, WAF, "
                       "alarms, dashboard (merged into chalice package)",
        "Parameters": PARAMETERS,
        "Globals": {"Function": {"Environment": {"Variables": environment()}}},
        "Resources": resources,
        "Outputs": outputs,
    }


def render(template: dict) -> str:
    return json.dumps(template, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if infra/resources.json is stale")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing the file")
    args = parser.parse_args(argv)
    text = render(build())
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run `python -m infra.resources`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
