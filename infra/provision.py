"""Stands `infra/resources.json` up in the AWS emulator (moto server), with boto3.

The same document `chalice package` merges for AWS is read here and, resource by resource,
turned into the equivalent API calls, so the tables, bucket, key, queues, pool, secret and
sender the tests and `make run` use are the ones that deploy. Only the intrinsic functions the template
uses are resolved (Ref, Fn::GetAtt, Fn::Sub, Fn::Join). Resources the emulator cannot make
meaningful (IAM roles and policies, alarms, the alarm topic, the dashboard, log groups and
saved queries, the trail, WAF, API Gateway's account setting) and the partial entries merged
into Chalice's own resources (functions, API) are skipped and listed in `stack["skipped"]`; a
skipped role still gets its ARN, for the key policies that name it.

Local differences, on purpose: deletion protection is not turned on (tests delete and
recreate tables); IAM is not enforced; the bucket policy goes in without its conditional
denies (moto applies Principal-* denies but ignores their conditions, so they would refuse
every call). Emulators started in one process share moto's state.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import string
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "resources.json"

ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_REGION = "us-east-1"
LOCAL_STAGE = "local"
LOCAL_PARAMETERS = {
    "MailSender": "no-reply@haven.example",
    "OpsEmail": "ops@haven.example",
    "PublicBaseUrl": "http://127.0.0.1:8000",
    "CorsOrigins": "http://localhost:3000",
}
SKIPPED_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard",
                 "AWS::SNS::Topic", "AWS::Logs::LogGroup", "AWS::Logs::QueryDefinition", "AWS::CloudTrail::Trail",
                 "AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::LoggingConfiguration",
                 "AWS::ApiGateway::GatewayResponse",
                 "AWS::ApiGateway::Account")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_SESSION_TOKEN": "testing"}

log = logging.getLogger("haven.provision")


# --- the emulator ---------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def quiet_logs() -> None:
    for name in ("werkzeug", "moto", "botocore.credentials"):
        logging.getLogger(name).setLevel(logging.ERROR)


def start_emulator(port: int = 0, host: str = "127.0.0.1"):
    """Start moto in this process; returns `(server, endpoint_url)`. Port 0 picks a free port."""
    from moto.server import ThreadedMotoServer

    quiet_logs()
    make_dynamodb_atomic()
    make_s3_parts_readable()
    if port and not port_is_free(port, host):
        # ThreadedMotoServer.start() would wait forever if its thread cannot bind.
        raise OSError(f"port {port} on {host} is in use (is `make run` already up?)")
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{host}:{bound_port}"


def stop_emulator(server) -> None:
    server.stop()


_ATOMIC = False


def make_dynamodb_atomic() -> None:
    """Make moto's DynamoDB operations run one at a time, as DynamoDB's are atomic.

    moto rolls a refused transaction back by restoring whole-table copies taken when it began,
    which silently undoes writes other threads committed meanwhile (seen: two bookings for one
    credit). With one lock around each backend operation, requests still race between their
    reads and their writes (that is what the app's conditions must decide), but each write or
    transaction is all-or-nothing, as on AWS. Applied once per process (the emulator runs in-process).
    """
    global _ATOMIC
    if _ATOMIC:
        return
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    from infra import emulator_dynamodb

    emulator_dynamodb.install()  # transactions snapshot only what they touch; no instance is kept forever

    lock = threading.RLock()
    for name in ("transact_write_items", "transact_get_items", "put_item", "update_item", "delete_item",
                 "get_item", "query", "scan", "batch_write_item", "batch_get_item"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args, _original=original, **kwargs):
            with lock:
                return _original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _ATOMIC = True


_PARTS_READABLE = False


def make_s3_parts_readable() -> None:
    """Keep `/moto-api/data.json` (how `make outbox` and the tests read sent mail) working after a
    multipart upload (data exports). moto tracks each uploaded part as a key with no bucket, and
    reading a key's `status` for data.json looks its bucket up and fails for those, so every later
    read of the sent mail answered 500. Such a key now reports its status as it is."""
    global _PARTS_READABLE
    if _PARTS_READABLE:
        return
    from moto.s3.models import FakeKey

    original = FakeKey.status

    def status(self):
        if getattr(self, "bucket_name", None) is None:
            return self._status
        try:
            return original.fget(self)
        except Exception:  # a key of a bucket that no longer exists
            return self._status

    FakeKey.status = property(status, original.fset)
    _PARTS_READABLE = True


# --- the template ---------------------------------------------------------------------------

def load_template(path: Path | str | None = None) -> dict:
    return json.loads(Path(path or TEMPLATE).read_text())


class Resolver:
    """Resolves the intrinsic functions the template uses against what has been created."""

    def __init__(self, parameters: dict[str, Any], pseudo: dict[str, str]):
        self.parameters = parameters
        self.pseudo = pseudo
        self.refs: dict[str, Any] = {}
        self.attrs: dict[tuple[str, str], Any] = {}

    def ref(self, name: str) -> Any:
        for source in (self.pseudo, self.parameters, self.refs):
            if name in source:
                return source[name]
        raise KeyError(f"unresolved Ref {name}")

    def getatt(self, name: str, attribute: str) -> Any:
        try:
            return self.attrs[(name, attribute)]
        except KeyError:
            raise KeyError(f"unresolved Fn::GetAtt {name}.{attribute}") from None

    def _sub(self, text: str, extra: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token in extra:
                return str(extra[token])
            if "." in token:
                name, attribute = token.split(".", 1)
                return str(self.getatt(name, attribute))
            value = self.ref(token)
            if isinstance(value, list):
                raise ValueError(f"Fn::Sub cannot use list parameter {token}")
            return str(value)
        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(name, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self._sub(arg[0], {k: self(v) for k, v in arg[1].items()})
                return self._sub(arg, {})
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(i) for i in self(items))
            if key.startswith("Fn::"):
                raise ValueError(f"{key} is not supported by infra/provision.py")
        return {k: self(v) for k, v in value.items()}


def _dependencies(value: Any, names: set[str]) -> set[str]:
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= _dependencies(v, names)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str) and arg in names:
                found.add(arg)
            elif key == "Fn::GetAtt":
                name = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                if name in names:
                    found.add(name)
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                for token in re.findall(r"\$\{([^}!][^}]*)\}", text):
                    if token.split(".")[0] in names:
                        found.add(token.split(".")[0])
                if isinstance(arg, list):
                    found |= _dependencies(arg[1], names)
            found |= _dependencies(arg, names)
    return found


def creation_order(resources: dict[str, dict]) -> list[str]:
    """Logical ids with every resource after the ones it references (template order otherwise)."""
    names = set(resources)
    deps = {name: _dependencies(r.get("Properties", {}), names) - {name} for name, r in resources.items()}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ValueError(f"circular reference through {name}")
        visiting.add(name)
        for dep in sorted(deps[name], key=list(resources).index):
            visit(dep)
        visiting.discard(name)
        order.append(name)

    for name in resources:
        visit(name)
    return order


# --- resource handlers: CloudFormation properties -> boto3 calls -----------------------------

class Provisioner:
    def __init__(self, endpoint_url: str, region: str, resolver: Resolver):
        import boto3

        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing",
            aws_session_token="testing", region_name=region)
        self.endpoint_url = endpoint_url
        self.region = region
        self.resolve = resolver
        self._clients: dict[str, Any] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def handler(self, resource_type: str) -> Callable[[str, dict], None] | None:
        name = "_" + resource_type.replace("AWS::", "").replace("::", "_").lower()
        return getattr(self, name, None)

    def _set(self, logical_id: str, ref: Any, **attrs: Any) -> None:
        self.resolve.refs[logical_id] = ref
        for attribute, value in attrs.items():
            self.resolve.attrs[(logical_id, attribute)] = value

    # KMS
    def _kms_key(self, logical_id: str, p: dict) -> None:
        kms = self.client("kms")
        kwargs = {k: p[k] for k in ("Description", "KeyUsage", "KeySpec") if k in p}
        if "KeyPolicy" in p:
            kwargs["Policy"] = json.dumps(p["KeyPolicy"])
        meta = kms.create_key(**kwargs)["KeyMetadata"]
        if p.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        self._set(logical_id, meta["KeyId"], Arn=meta["Arn"], KeyId=meta["KeyId"])

    def _kms_alias(self, logical_id: str, p: dict) -> None:
        self.client("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
        self._set(logical_id, p["AliasName"])

    # DynamoDB
    @staticmethod
    def table_request(p: dict) -> dict:
        """create_table arguments for a resolved AWS::DynamoDB::Table (also used by reset_data)."""
        request: dict[str, Any] = {
            "TableName": p["TableName"],
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if p.get(key):
                request[key] = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"],
                                 "Projection": i["Projection"]} for i in p[key]]
        sse = p.get("SSESpecification")
        if sse and sse.get("SSEEnabled"):
            request["SSESpecification"] = {"Enabled": True}
            if sse.get("SSEType"):
                request["SSESpecification"]["SSEType"] = sse["SSEType"]
            if sse.get("KMSMasterKeyId"):
                request["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
        return request

    def create_table(self, p: dict) -> dict:
        ddb = self.client("dynamodb")
        description = ddb.create_table(**self.table_request(p))["TableDescription"]
        if p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(
                TableName=p["TableName"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(TableName=p["TableName"], TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True})
        return description

    def _dynamodb_table(self, logical_id: str, p: dict) -> None:
        description = self.create_table(p)
        self._set(logical_id, p["TableName"], Arn=description["TableArn"])

    # S3
    def _s3_bucket(self, logical_id: str, p: dict) -> None:
        s3 = self.client("s3")
        name = p["BucketName"]
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if "VersioningConfiguration" in p:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
                "Status": p["VersioningConfiguration"]["Status"]})
        if "BucketEncryption" in p:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                 **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {})}
                for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(Bucket=name,
                                       PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
        if "LifecycleConfiguration" in p:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                "Rules": [self._lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]]})
        if "CorsConfiguration" in p:
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [
                {k2: rule[k1] for k1, k2 in (("Id", "ID"), ("AllowedOrigins", "AllowedOrigins"),
                                              ("AllowedMethods", "AllowedMethods"),
                                              ("AllowedHeaders", "AllowedHeaders"),
                                              ("ExposedHeaders", "ExposeHeaders"), ("MaxAge", "MaxAgeSeconds"))
                 if k1 in rule}
                for rule in p["CorsConfiguration"]["CorsRules"]]})
        self._set(logical_id, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com")

    @staticmethod
    def _lifecycle_rule(rule: dict) -> dict:
        out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"],
                               "Filter": {"Prefix": rule["Prefix"]} if "Prefix" in rule else {"Prefix": ""}}
        if "ExpirationInDays" in rule:
            out["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "NoncurrentVersionExpiration" in rule:
            out["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": rule["NoncurrentVersionExpiration"]["NoncurrentDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        return out

    def _s3_bucketpolicy(self, logical_id: str, p: dict) -> None:
        # moto evaluates bucket policies but not these condition keys: over its plain HTTP the
        # deny-non-TLS statement refuses every call, and it cannot see `s3:x-amz-server-side-encryption`
        # so the deny-non-KMS one refuses every upload. Locally the conditional denies are left out
        # (the app itself uploads with SSE-KMS and tests check it); the deployed template keeps them.
        document = dict(p["PolicyDocument"])
        document["Statement"] = [st for st in document["Statement"]
                                 if not (st.get("Effect") == "Deny" and st.get("Condition"))]
        self.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(document))
        self._set(logical_id, p["Bucket"])

    # Cognito
    def _cognito_userpool(self, logical_id: str, p: dict) -> None:
        idp = self.client("cognito-idp")
        kwargs = {"PoolName": p["UserPoolName"]}
        for key in ("UsernameAttributes", "AutoVerifiedAttributes", "UsernameConfiguration", "Policies",
                    "AccountRecoverySetting", "AdminCreateUserConfig", "Schema", "UserAttributeUpdateSettings"):
            if key in p:
                kwargs[key] = p[key]
        pool = idp.create_user_pool(**kwargs)["UserPool"]
        mfa = p.get("MfaConfiguration", "OFF")
        if mfa != "OFF":
            idp.set_user_pool_mfa_config(
                UserPoolId=pool["Id"], MfaConfiguration=mfa,
                SoftwareTokenMfaConfiguration={"Enabled": "SOFTWARE_TOKEN_MFA" in p.get("EnabledMfas", [])})
        provider_url = f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}"
        self._set(logical_id, pool["Id"], Arn=pool["Arn"], ProviderName=provider_url,
                  ProviderURL=f"https://{provider_url}")

    def _cognito_userpoolgroup(self, logical_id: str, p: dict) -> None:
        self.client("cognito-idp").create_group(
            UserPoolId=p["UserPoolId"], GroupName=p["GroupName"], Description=p.get("Description", ""))
        self._set(logical_id, p["GroupName"])

    def _cognito_userpoolclient(self, logical_id: str, p: dict) -> None:
        kwargs = {"UserPoolId": p["UserPoolId"], "ClientName": p["ClientName"]}
        for key in ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "EnableTokenRevocation",
                    "IdTokenValidity", "AccessTokenValidity", "RefreshTokenValidity", "TokenValidityUnits"):
            if key in p:
                kwargs[key] = p[key]
        client = self.client("cognito-idp").create_user_pool_client(**kwargs)["UserPoolClient"]
        self._set(logical_id, client["ClientId"], Name=client["ClientName"])

    # Secrets Manager
    @staticmethod
    def generate_secret_string(spec: dict) -> str:
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
        return "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))

    def _secretsmanager_secret(self, logical_id: str, p: dict) -> None:
        value = p.get("SecretString") or self.generate_secret_string(p.get("GenerateSecretString", {}))
        kwargs = {"Name": p["Name"], "SecretString": value}
        for key in ("Description", "KmsKeyId"):
            if key in p:
                kwargs[key] = p[key]
        arn = self.client("secretsmanager").create_secret(**kwargs)["ARN"]
        self._set(logical_id, arn, Id=arn)

    # SQS
    def _sqs_queue(self, logical_id: str, p: dict) -> None:
        attributes = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize",
                    "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "KmsMasterKeyId"):
            if key in p:
                value = p[key]
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if "RedrivePolicy" in p:
            attributes["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=p["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._set(logical_id, url, Arn=arn, QueueName=p["QueueName"], QueueUrl=url)

    # SES
    def _ses_emailidentity(self, logical_id: str, p: dict) -> None:
        # moto verifies at once; on AWS the recipient clicks a link.
        self.client("ses").verify_email_identity(EmailAddress=p["EmailIdentity"])
        self._set(logical_id, p["EmailIdentity"])


def provision(endpoint_url: str, *, region: str = DEFAULT_REGION, stage: str = LOCAL_STAGE,
              parameters: dict[str, Any] | None = None, template: dict | None = None) -> dict:
    """Create every resource of the template in the emulator at `endpoint_url`; returns the stack."""
    from infra import resources as r

    template = template if template is not None else load_template()
    declared = template.get("Parameters", {})
    values: dict[str, Any] = {name: spec["Default"] for name, spec in declared.items() if "Default" in spec}
    values.update(LOCAL_PARAMETERS)
    values.update(parameters or {})
    values["Stage"] = stage
    for name, spec in declared.items():
        if name not in values:
            raise ValueError(f"parameter {name} has no value")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(values[name], str):
            values[name] = [v.strip() for v in values[name].split(",") if v.strip()]
    pseudo = {"AWS::Region": region, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws",
              "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": f"{r.APP_PREFIX}-{stage}"}
    resolver = Resolver(values, pseudo)
    provisioner = Provisioner(endpoint_url, region, resolver)

    resources = template["Resources"]
    skipped: dict[str, str] = {}
    created: dict[str, dict] = {}
    table_properties: dict[str, dict] = {}
    for logical_id in creation_order(resources):
        resource = resources[logical_id]
        resource_type = resource.get("Type")
        if resource_type is None:
            skipped[logical_id] = "partial entry merged into a resource chalice generates"
            continue
        if resource_type.startswith("AWS::Serverless::") or resource_type in SKIPPED_TYPES:
            skipped[logical_id] = f"{resource_type}: not meaningful in the emulator"
            if resource_type == "AWS::IAM::Role":  # IAM is not enforced locally; key policies name roles
                name = resolver(resource.get("Properties", {}).get("RoleName")) \
                    or f"{pseudo['AWS::StackName']}-{logical_id}"
                resolver.refs[logical_id] = name
                resolver.attrs[(logical_id, "Arn")] = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
            continue
        handle = provisioner.handler(resource_type)
        if handle is None:
            raise NotImplementedError(f"{logical_id}: {resource_type} has no handler in infra/provision.py")
        properties = resolver(resource.get("Properties", {}))
        handle(logical_id, properties)
        created[logical_id] = {"type": resource_type, "id": resolver.refs[logical_id]}
        if resource_type == "AWS::DynamoDB::Table":
            table_properties[logical_id] = properties
        log.debug("created %s %s", resource_type, logical_id)

    prefix = f"{r.APP_PREFIX}-{stage}-"
    tables = {p["TableName"].removeprefix(prefix): p["TableName"] for p in table_properties.values()}
    queues = {resolver.attrs[(logical_id, "QueueName")].removeprefix(prefix):
              {"url": resolver.refs[logical_id], "arn": resolver.attrs[(logical_id, "Arn")], "logical_id": logical_id}
              for logical_id, item in created.items() if item["type"] == "AWS::SQS::Queue"}
    environment = {k: str(v) for k, v in resolver(template.get("Globals", {}).get("Function", {})
                                                  .get("Environment", {}).get("Variables", {})).items()}
    pool_id = resolver.refs[r.USER_POOL]
    return {
        "aws_endpoint_url": endpoint_url,
        "region": region,
        "account_id": ACCOUNT_ID,
        "stage": stage,
        "user_pool_id": pool_id,
        "user_pool_client_id": resolver.refs[r.USER_POOL_CLIENT],
        "user_pool_arn": resolver.attrs[(r.USER_POOL, "Arn")],
        "jwks_url": f"{endpoint_url}/{pool_id}/.well-known/jwks.json",
        "bucket": resolver.refs[r.BUCKET],
        "kms_key_id": resolver.attrs[(r.KEY, "Arn")],
        "kms_key_alias": resolver.refs[r.KEY_ALIAS],
        "tables": tables,
        "queues": queues,
        "signing_key_parameter": environment["HAVEN_SIGNING_KEY_PARAMETER"],
        "signing_key_secret_arn": resolver.refs[r.SIGNING_SECRET],
        "mail_sender": values["MailSender"],
        "ops_email": values["OpsEmail"],
        "public_base_url": values["PublicBaseUrl"],
        "cors_origins": values["CorsOrigins"],
        "resources": created,
        "skipped": skipped,
        "environment": environment,
        "table_properties": table_properties,
    }


def env_for(stack: dict) -> dict[str, str]:
    """Everything the app, boto3 and PynamoDB need to run against the provisioned emulator."""
    import os

    env = dict(stack["environment"])  # the functions' environment from the template, resolved
    env.update(CREDENTIALS)
    env.update({
        "AWS_ENDPOINT_URL": stack["aws_endpoint_url"],
        "AWS_DEFAULT_REGION": stack["region"],
        "AWS_REGION": stack["region"],
        "AWS_EC2_METADATA_DISABLED": "true",
        "HAVEN_JWKS_URL": stack["jwks_url"],
        "POWERTOOLS_TRACE_DISABLED": "true",
        # Local sign-ins have no authenticator app; the MFA check is tested by turning it on.
        "HAVEN_REQUIRE_STAFF_MFA": "false",
        # One due-index shard on the emulator (deployed: 8): moto walks the whole table for every
        # index Query, so 9 partitions per kind made each sweep ~9x slower here. Sharded reads are
        # tested with 8 (tests/functional/test_bookings_sweeps.py); HAVEN_DUE_SHARDS=8 make run too.
        "HAVEN_DUE_SHARDS": os.environ.get("HAVEN_DUE_SHARDS", "1"),
    })
    return env


def apply_env(env: dict[str, str], environ=None) -> None:
    """Set `env` in `environ` (os.environ by default), dropping profiles that could redirect boto3."""
    import os

    environ = os.environ if environ is None else environ
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        environ.pop(name, None)
    environ.update(env)


def reset_data(stack: dict) -> None:
    """Empty every table and queue and forget the mail sent, for test isolation.

    When the emulator runs in this process (the tests' case) the tables' items are dropped in
    moto's memory (about 1 ms); otherwise each table is deleted and recreated from the template
    (about 30 ms a table)."""
    if not _truncate_in_process(stack):
        _recreate_tables(stack)
    clear_sent_mail(stack)
    purge_queues(stack)


def purge_queues(stack: dict) -> None:
    """Drop every message waiting in the stack's queues. In this process's emulator (the tests'
    case) moto's queues are emptied in memory (PurgeQueue allows one call a minute); otherwise
    what is visible is received and deleted."""
    queues = list((stack.get("queues") or {}).values())
    if not queues:
        return
    try:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[ACCOUNT_ID][stack["region"]]
        found = [backend.queues[q["url"].rstrip("/").rsplit("/", 1)[1]] for q in queues]
        for queue in found:
            queue._messages = []
            queue._pending_messages = set()
        return
    except Exception:  # another process's emulator, or moto's internals changed
        pass
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    aws_session_token="testing", region_name=stack["region"])
    sqs = session.client("sqs", endpoint_url=stack["aws_endpoint_url"])
    for queue in queues:
        while True:
            messages = sqs.receive_message(QueueUrl=queue["url"], MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                sqs.delete_message(QueueUrl=queue["url"], ReceiptHandle=message["ReceiptHandle"])


def _truncate_in_process(stack: dict) -> bool:
    try:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[ACCOUNT_ID][stack["region"]]
        tables = [backend.tables[p["TableName"]] for p in stack["table_properties"].values()]
    except Exception:  # another process's emulator, or moto's internals changed
        return False
    if not all(isinstance(getattr(table, "items", None), dict) for table in tables):
        return False
    for table in tables:
        table.items.clear()
    # moto also tracks every DynamoDB model instance it ever made (each transaction's table copies
    # included) for `/moto-api/data.json`, which the tests read mail from: forget them too, or
    # that page slows to a timeout after a few thousand transactions.
    from moto.core.model_instances import model_data

    for model in model_data.get("dynamodb", {}).values():
        model.instances_tracked = []
    return True


def _recreate_tables(stack: dict) -> None:
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    aws_session_token="testing", region_name=stack["region"])
    ddb = session.client("dynamodb", endpoint_url=stack["aws_endpoint_url"])
    provisioner = Provisioner(stack["aws_endpoint_url"], stack["region"], Resolver({}, {}))
    provisioner._clients["dynamodb"] = ddb
    for properties in stack["table_properties"].values():
        ddb.delete_table(TableName=properties["TableName"])
        provisioner.create_table(properties)


def clear_sent_mail(stack: dict) -> None:
    """Forget the mail the emulator's SES accepted. moto keeps it in memory (the backend list
    and the instance registry `/moto-api/data.json` reads), so this works only in the process
    that runs the server, as the tests' emulator does."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.model_instances import model_data
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][stack["region"]]
    backend.sent_messages.clear()
    backend.sent_message_count = 0
    for name in ("Message", "RawMessage", "TemplateMessage", "BulkTemplateMessage"):
        model = model_data.get("ses", {}).get(name)
        if model is not None:
            model.instances_tracked = []


def sent_mail(endpoint_url: str) -> list[dict]:
    """The emails the emulator's SES accepted (`/moto-api/data.json`): simple messages, then raw
    ones, each in the order sent. moto keeps only the HTML part of a SendEmail with both."""
    import urllib.request

    with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    ses = data.get("ses", {})
    return list(ses.get("Message", [])) + list(ses.get("RawMessage", [])) + list(ses.get("TemplateMessage", []))
