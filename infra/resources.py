"""Haven's deploy resources as one CloudFormation (SAM) document, built from the code.

This is the single definition of everything that is not a Lambda function or the API
itself: the DynamoDB tables (one per model in `ALL_MODELS`, derived from the PynamoDB
metadata), the media bucket, the KMS key, the exports queue and its dead-letter queue,
the Cognito user pool, the signing-key secret,
the SES sender identity, the Lambda execution role, alarms, API throttling and the
functions' environment. `chalice package --merge-template infra/resources.json` merges it
into the template Chalice generates; `infra/provision.py` stands the same document up in
the local emulator.

    python -m infra.resources            write infra/resources.json
    python -m infra.resources --check    exit 1 when infra/resources.json is stale

The merge is a deep dict merge: keys given here win. Two of the entries are therefore
partial, on purpose: `RestAPI` (adds MethodSettings to the API Chalice generates) and one
`Role` override per Lambda function (Chalice cannot reference a role created in the same
stack), which for a queue's function also points its SQS event source at the stage's queue.
A partial entry that no longer matches anything Chalice generates has no `Type`
and fails cfn-lint, which the tests run.
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
ALARM_TOPIC = "AlarmTopic"
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


def lambda_function_ids(chalice_app) -> list[str]:
    """The logical ids `chalice package` gives the app's functions (see chalice/package.py)."""
    from chalice.app import ScheduledEventConfig, SQSEventConfig
    from chalice.utils import to_cfn_resource_name

    ids: list[str] = []
    if chalice_app.routes:
        ids.append("APIHandler")
        ids.extend(to_cfn_resource_name(a.name) for a in chalice_app.builtin_auth_handlers)
    for source in chalice_app.event_sources:
        if not isinstance(source, (ScheduledEventConfig, SQSEventConfig)):
            raise ValueError(f"{source.name}: only scheduled and SQS event sources are modelled here")
        ids.append(to_cfn_resource_name(source.name))
    ids.extend(to_cfn_resource_name(f.name) for f in chalice_app.pure_lambda_functions)
    if getattr(chalice_app, "websocket_handlers", None):
        raise ValueError("websocket handlers are not modelled here")
    return ids


# --- everything else ------------------------------------------------------------------------

def key_resources() -> dict[str, dict]:
    return {
        KEY: {
            "Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": sub("Haven ${Stage}: message bodies, media, tables, secret"),
                "EnableKeyRotation": True,
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "PendingWindowInDays": 30,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        # The account administers the key; who may use it is decided by IAM
                        # policies (the Lambda role below).
                        "Sid": "AccountAdministersThroughIam",
                        "Effect": "Allow",
                        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                        "Action": "kms:*",
                        "Resource": "*",
                    }],
                },
            },
        },
        KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": sub(f"alias/{APP_PREFIX}-${{Stage}}"), "TargetKeyId": ref(KEY)},
        },
    }


def bucket_resources() -> dict[str, dict]:
    bucket_arn = arn_of(BUCKET)
    objects_arn = sub(f"${{{BUCKET}.Arn}}/*")
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": sub(f"{APP_PREFIX}-${{Stage}}-media-${{AWS::AccountId}}"),
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

# Queue-triggered functions: function name -> (queue logical id, dead-letter queue logical id).
EXPORTS_QUEUE = "ExportsQueue"
EXPORTS_DLQ = "ExportsDeadLetterQueue"
QUEUES = {"exports": (EXPORTS_QUEUE, EXPORTS_DLQ)}
QUEUE_FUNCTION_TIMEOUT = 900  # .chalice/config.json gives the exports function 15 minutes
MAX_RECEIVES = 3


def queue_resources() -> dict[str, dict]:
    """Per queue-triggered function: its queue and a dead-letter queue after 3 failed tries.
    Messages carry ids only; SQS encrypts them at rest with its own keys."""
    resources: dict[str, dict] = {}
    for name, (queue_id, dlq_id) in QUEUES.items():
        resources[dlq_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": sub(f"{APP_PREFIX}-${{Stage}}-{name}-dlq"),
                           "MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True},
        }
        resources[queue_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{APP_PREFIX}-${{Stage}}-{name}"),
                # AWS requires at least the function's timeout; six times it, as AWS recommends.
                "VisibilityTimeout": 6 * QUEUE_FUNCTION_TIMEOUT,
                "MessageRetentionPeriod": 4 * 24 * 3600,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": arn_of(dlq_id), "maxReceiveCount": MAX_RECEIVES},
            },
        }
    return resources


def signing_key_parameter_path() -> str:
    return f"/aws/reference/secretsmanager/{APP_PREFIX}-${{Stage}}-signing-key"


def role_resource(table_ids: list[str], queues: bool = True) -> dict:
    table_arns: list[Any] = []
    for logical_id in table_ids:
        table_arns.append(arn_of(logical_id))
        table_arns.append(sub(f"${{{logical_id}.Arn}}/index/*"))
    statements = [
        {"Sid": "Tables", "Effect": "Allow",
         # No Scan: requests and sweeps read by key or through the due indexes only.
         "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem",
                    "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"],
         "Resource": table_arns},
        *([{"Sid": "AccessLogAppendOnly", "Effect": "Deny",
            # The clinical-data access log is append-only: no function may change or remove a record.
            "Action": ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
            "Resource": arn_of(ACCESS_LOG_TABLE)}] if ACCESS_LOG_TABLE in table_ids else []),
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
        {"Sid": "Key", "Effect": "Allow",
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
         "Resource": arn_of(KEY)},
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
        *([{"Sid": "Queues", "Effect": "Allow",
            # The API sends; the queue's function receives, deletes, and reads its attributes.
            "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ChangeMessageVisibility"],
            "Resource": [arn_of(queue_id) for queue_id, _dlq in QUEUES.values()]}] if queues else []),
        # Talkcasts: synchronous speech synthesis only (no lexicons, no asynchronous tasks).
        {"Sid": "Speech", "Effect": "Allow", "Action": ["polly:SynthesizeSpeech"], "Resource": "*"},
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                         ":log-group:/aws/lambda/${AWS::StackName}-*")},
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}},
    ]
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": sub("Haven ${Stage}: every Lambda function (API and sweeps)"),
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "haven-least-privilege",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
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


def alarm_resources(function_ids: list[str]) -> dict[str, dict]:
    resources: dict[str, dict] = {
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": sub(f"{APP_PREFIX}-${{Stage}}-alarms"),
                           "KmsMasterKeyId": "alias/aws/sns",
                           "Subscription": [{"Protocol": "email", "Endpoint": ref("OpsEmail")}]},
        },
        "ApiServerErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "The API answered 5xx",
                "Namespace": "AWS/ApiGateway", "MetricName": "5XXError",
                "Dimensions": [{"Name": "ApiName", "Value": APP_PREFIX}],
                "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching", "AlarmActions": [ref(ALARM_TOPIC)],
            },
        },
    }
    for _name, (_queue_id, dlq_id) in QUEUES.items():
        resources[f"{dlq_id}Alarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"{dlq_id} holds messages its function gave up on",
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
                "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching", "AlarmActions": [ref(ALARM_TOPIC)],
            },
        }
    for function_id in function_ids:
        resources[f"{function_id}ErrorsAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"{function_id} raised errors",
                "Namespace": "AWS/Lambda", "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": ref(function_id)}],
                "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching", "AlarmActions": [ref(ALARM_TOPIC)],
            },
        }
    return resources


def build(chalice_app=None, models: Iterable | None = None) -> dict:
    """The merge template, as a dict."""
    chalice_app = chalice_app if chalice_app is not None else load_chalice_app()
    function_ids = lambda_function_ids(chalice_app)
    tables = table_resources(models)
    resources: dict[str, dict] = {}
    resources.update(key_resources())
    resources.update(tables)
    resources.update(bucket_resources())
    resources.update(identity_resources())
    resources.update(secret_and_mail_resources())
    resources.update(queue_resources())
    resources[ROLE] = role_resource(list(tables))
    resources.update(alarm_resources(function_ids))
    # Partial entries, merged into what `chalice package` generates.
    for function_id in function_ids:
        resources[function_id] = {"Properties": {"Role": arn_of(ROLE)}}
    for name, (queue_id, _dlq) in QUEUES.items():
        # Chalice names the queue by the placeholder given in app.py; the stage's queue is ours.
        function_id = camel(name)
        if function_id in function_ids:
            resources[function_id]["Properties"]["Events"] = {
                f"{function_id}SqsEventSource": {"Properties": {"Queue": arn_of(queue_id)}}}
    if "APIHandler" in function_ids:
        resources["RestAPI"] = {"Properties": {"MethodSettings": [{
            "ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
            "ThrottlingRateLimit": ref("ApiThrottlingRateLimit"),
            "ThrottlingBurstLimit": ref("ApiThrottlingBurstLimit"),
        }]}}
    outputs: dict[str, dict] = {
        "MediaBucketName": {"Value": ref(BUCKET)},
        "KmsKeyArn": {"Value": arn_of(KEY)},
        "UserPoolId": {"Value": ref(USER_POOL)},
        "UserPoolClientId": {"Value": ref(USER_POOL_CLIENT)},
        "SigningKeyParameter": {"Value": sub(signing_key_parameter_path())},
        "LambdaRoleArn": {"Value": arn_of(ROLE)},
        "ExportsQueueUrl": {"Value": ref(EXPORTS_QUEUE)},
    }
    for logical_id in tables:
        outputs[f"{logical_id}Name"] = {"Value": ref(logical_id)}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Haven: tables, media bucket, key, identity, secret, mail, role, alarms (merged into chalice package)",
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
