"""Provisioning infra/resources.json into a fresh emulator creates every resource it declares."""
from __future__ import annotations

import json

import boto3
import pytest

from infra import provision

TEMPLATE = provision.load_template()


def declared(resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in TEMPLATE["Resources"].items() if r.get("Type") == resource_type}


@pytest.fixture(scope="module")
def fresh():
    server, endpoint_url = provision.start_emulator(0)
    try:
        stack = provision.provision(endpoint_url, stage="fresh")
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name=stack["region"])
        yield stack, (lambda service: session.client(service, endpoint_url=endpoint_url))
    finally:
        provision.stop_emulator(server)


def test_every_declared_table_exists_with_pitr_and_ttl(fresh):
    stack, client = fresh
    ddb = client("dynamodb")
    expected = {r["Properties"]["TableName"]["Fn::Sub"].replace("${Stage}", "fresh"): r["Properties"]
                for r in declared("AWS::DynamoDB::Table").values()}
    # Emulators in one process share moto's state: other stages' tables may be listed too.
    listed = [n for n in ddb.list_tables(Limit=100)["TableNames"] if n.startswith("haven-fresh-")]
    assert sorted(listed) == sorted(expected)
    assert sorted(stack["tables"].values()) == sorted(expected)
    for name, properties in expected.items():
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == properties["KeySchema"], name
        assert sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])) == \
            sorted(i["IndexName"] for i in properties.get("GlobalSecondaryIndexes", [])), name
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", name
        if "TimeToLiveSpecification" in properties:
            ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            assert ttl["TimeToLiveStatus"] == "ENABLED", name
            assert ttl["AttributeName"] == properties["TimeToLiveSpecification"]["AttributeName"], name


def test_the_keys_rotate_and_have_their_aliases(fresh):
    stack, client = fresh
    kms = client("kms")
    assert sorted(declared("AWS::KMS::Key")) == ["AlarmKey", "Key"]
    assert kms.get_key_rotation_status(KeyId=stack["kms_key_id"])["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/haven-fresh"] == stack["kms_key_id"].rsplit("/", 1)[1]
    alarm_key = stack["resources"]["AlarmKey"]["id"]
    assert aliases["alias/haven-fresh-alarms"] == alarm_key
    assert kms.get_key_rotation_status(KeyId=alarm_key)["KeyRotationEnabled"] is True


def test_the_key_policy_goes_in_as_declared(fresh):
    stack, client = fresh
    policy = json.loads(client("kms").get_key_policy(KeyId=stack["kms_key_id"], PolicyName="default")["Policy"])
    sids = {s["Sid"] for s in policy["Statement"]}
    assert {"AccountAdministersTheKeyButDoesNotUseIt", "FunctionsRoomKeys", "BreakGlassDecrypts"} <= sids
    break_glass = next(s for s in policy["Statement"] if s["Sid"] == "BreakGlassDecrypts")
    assert break_glass["Principal"]["AWS"] == "arn:aws:iam::123456789012:role/HavenBreakGlass-fresh"


def test_the_bucket_is_versioned_private_encrypted_and_guarded(fresh):
    stack, client = fresh
    s3 = client("s3")
    bucket = stack["bucket"]
    assert "MediaBucket" in declared("AWS::S3::Bucket")
    assert bucket == "haven-fresh-media-123456789012"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == stack["kms_key_id"]
    # moto enforces Principal-* denies but ignores their conditions, so the emulator gets the policy
    # without the conditional denies (else every call would be refused); the template keeps them.
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert not [s for s in policy["Statement"] if s["Effect"] == "Deny" and "Condition" in s]
    template_policy = declared("AWS::S3::BucketPolicy")["MediaBucketPolicy"]["Properties"]["PolicyDocument"]
    conditions = [s["Condition"] for s in template_policy["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}} in conditions
    s3.put_object(Bucket=bucket, Key="pending/probe", Body=b"x", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=stack["kms_key_id"])
    assert s3.head_object(Bucket=bucket, Key="pending/probe")["ServerSideEncryption"] == "aws:kms"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["expire-unclaimed-uploads"]["Expiration"]["Days"] == 1
    assert rules["expire-unclaimed-uploads"]["Filter"]["Prefix"] == "pending/"
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors[0]["AllowedOrigins"] == stack["cors_origins"]


def test_the_user_pool_has_its_groups_client_and_optional_totp(fresh):
    stack, client = fresh
    idp = client("cognito-idp")
    assert len(declared("AWS::Cognito::UserPool")) == 1
    pool = idp.describe_user_pool(UserPoolId=stack["user_pool_id"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    mfa = idp.get_user_pool_mfa_config(UserPoolId=stack["user_pool_id"])
    assert mfa["MfaConfiguration"] == "OPTIONAL"
    assert mfa["SoftwareTokenMfaConfiguration"]["Enabled"] is True
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=stack["user_pool_id"])["Groups"]}
    assert groups == {"providers", "ops"}
    app_client = idp.describe_user_pool_client(UserPoolId=stack["user_pool_id"],
                                               ClientId=stack["user_pool_client_id"])["UserPoolClient"]
    assert sorted(app_client["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    assert "ClientSecret" not in app_client


def test_the_signing_key_is_a_secure_string_parameter(fresh):
    stack, client = fresh
    assert stack["signing_key_parameter"] == "/aws/reference/secretsmanager/haven-fresh-signing-key"
    parameter = client("ssm").get_parameter(Name=stack["signing_key_parameter"], WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert len(parameter["Value"]) == 64


def test_the_mail_sender_is_verified(fresh):
    stack, client = fresh
    identities = client("ses").list_identities(IdentityType="EmailAddress")["Identities"]
    assert stack["mail_sender"] in identities


def test_the_app_environment_points_at_what_was_created(fresh):
    stack, _ = fresh
    env = provision.env_for(stack)
    assert env["AWS_ENDPOINT_URL"] == stack["aws_endpoint_url"]
    assert env["HAVEN_STAGE"] == "fresh"
    assert env["HAVEN_BUCKET"] == stack["bucket"]
    assert env["HAVEN_KMS_KEY_ID"] == stack["kms_key_id"]
    assert env["HAVEN_USER_POOL_ID"] == stack["user_pool_id"]
    assert env["HAVEN_USER_POOL_CLIENT_ID"] == stack["user_pool_client_id"]
    assert env["HAVEN_SIGNING_KEY_PARAMETER"] == stack["signing_key_parameter"]
    assert env["HAVEN_JWKS_URL"].startswith(stack["aws_endpoint_url"])
    assert all(isinstance(v, str) for v in env.values())


def test_reset_data_recreates_tables_when_the_emulator_is_elsewhere(fresh):
    stack, client = fresh
    ddb = client("dynamodb")
    users = stack["tables"]["users"]
    ddb.put_item(TableName=users, Item={"id": {"S": "u2"}})
    provision._recreate_tables(stack)
    assert ddb.scan(TableName=users)["Count"] == 0
    backups = ddb.describe_continuous_backups(TableName=users)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_reset_data_empties_tables_and_mail(fresh):
    stack, client = fresh
    ddb, ses = client("dynamodb"), client("ses")
    users = stack["tables"]["users"]
    ddb.put_item(TableName=users, Item={"id": {"S": "u1"}, "directory": {"S": "provider"}})
    messages = stack["tables"]["messages"]
    ddb.put_item(TableName=messages, Item={"room_id": {"S": "r1"}, "seq": {"N": "1"}})
    ses.send_email(Source=stack["mail_sender"], Destination={"ToAddresses": ["someone@example.com"]},
                   Message={"Subject": {"Data": "hello"}, "Body": {"Text": {"Data": "body"}}})
    assert provision.sent_mail(stack["aws_endpoint_url"])
    provision.reset_data(stack)
    assert ddb.scan(TableName=users)["Count"] == 0
    assert ddb.query(TableName=users, IndexName="directory", KeyConditionExpression="directory = :d",
                     ExpressionAttributeValues={":d": {"S": "provider"}})["Count"] == 0
    assert ddb.scan(TableName=messages)["Count"] == 0
    ddb.put_item(TableName=users, Item={"id": {"S": "u1"}})  # still usable afterwards
    assert provision.sent_mail(stack["aws_endpoint_url"]) == []
    backups = ddb.describe_continuous_backups(TableName=users)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_log_buckets_are_private_and_encrypted(fresh):
    stack, client = fresh
    s3 = client("s3")
    for logical_id in ("AccessLogsBucket", "TrailBucket"):
        bucket = stack["resources"][logical_id]["id"]
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()), logical_id
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms"), logical_id
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", logical_id


def test_each_queue_function_has_its_queue_and_a_dead_letter_queue(fresh):
    stack, client = fresh
    sqs = client("sqs")
    assert set(stack["queues"]) == {"exports", "exports-dlq"}
    attributes = sqs.get_queue_attributes(QueueUrl=stack["queues"]["exports"]["url"],
                                          AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack["queues"]["exports-dlq"]["arn"]
    assert int(redrive["maxReceiveCount"]) == 3
    assert int(attributes["VisibilityTimeout"]) >= 900  # at least the exports function's timeout
    env = provision.env_for(stack)
    assert env["HAVEN_EXPORTS_QUEUE_URL"] == stack["queues"]["exports"]["url"]


def test_the_local_drainer_hands_queued_messages_to_their_function_and_keeps_failures(fresh):
    """What `make run` does for queue-triggered functions (neither chalice local nor moto does it)."""
    from chalice.app import SQSEventConfig

    from infra.queues import QueueDrainer, drain

    stack, client = fresh
    sqs = client("sqs")
    seen, fail = [], {"now": False}

    def exports(event, context):
        if fail["now"]:
            raise RuntimeError("the function failed")
        seen.extend(record["body"] for record in event["Records"])

    class FakeApp:
        event_sources = [SQSEventConfig("exports", "app.exports", None, "arn:x", 1, 0, None)]
        handler_map = {"exports": exports}

    url = stack["queues"]["exports"]["url"]
    for body in ('{"n": 1}', '{"n": 2}'):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    drainer = QueueDrainer(FakeApp(), stack, sqs=sqs, interval=0.05)
    assert [f.name for f in drainer.functions] == ["exports"]
    drainer.start()
    try:
        import time

        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        drainer.stop(timeout=5)
    assert sorted(seen) == ['{"n": 1}', '{"n": 2}']
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    fail["now"] = True
    sqs.send_message(QueueUrl=url, MessageBody='{"n": 3}')
    assert drain(FakeApp(), "exports", stack["queues"]["exports"], sqs, stack["region"], retry_seconds=0) == \
        {"handled": 0, "failed": 1}
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ['{"n": 3}']  # still there
