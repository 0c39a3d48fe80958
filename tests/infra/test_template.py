"""infra/resources.json is generated, current, lints clean once merged, and matches the models."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEMPLATE = ROOT / "infra" / "resources.json"


def committed() -> dict:
    return json.loads(TEMPLATE.read_text())


def offline_env(**extra: str) -> dict[str, str]:
    """No AWS account: dummy credentials, a region, no emulator endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_"))}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_EC2_METADATA_DISABLED="true", **extra)
    return env


def test_the_committed_template_is_what_the_generator_writes():
    generated = subprocess.run([sys.executable, "-m", "infra.resources", "--stdout"], cwd=ROOT,
                               env=offline_env(), capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout == TEMPLATE.read_text(), "infra/resources.json is stale: run `make resources`"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    import fcntl

    out = tmp_path_factory.mktemp("package")
    # `chalice package` caches the deployment zip in .chalice/deployments/: two xdist workers
    # packaging at once would read each other's half-written zip. One at a time.
    cache = ROOT / ".chalice" / "deployments"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            [str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", "infra/resources.json", str(out)],
            cwd=ROOT, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out / "sam.json"


def test_the_packaged_template_passes_cfn_lint(packaged):
    result = subprocess.run([str(BIN / "cfn-lint"), "--", str(packaged)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_runs_with_the_template_role_and_environment(packaged):
    template = json.loads(packaged.read_text())
    functions = {name: r for name, r in template["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"}
    assert {"APIHandler", "Reminders", "Deadlines", "Discharges"} <= set(functions)
    for name, function in functions.items():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": ["LambdaRole", "Arn"]}, name
        assert f"{name}ErrorsAlarm" in template["Resources"], name
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {"HAVEN_STAGE", "HAVEN_BUCKET", "HAVEN_KMS_KEY_ID", "HAVEN_USER_POOL_ID", "HAVEN_USER_POOL_CLIENT_ID",
            "HAVEN_SIGNING_KEY_PARAMETER", "HAVEN_MAIL_SENDER", "HAVEN_OPS_EMAIL", "HAVEN_PUBLIC_BASE_URL",
            "HAVEN_CORS_ORIGINS"} <= set(variables)


def test_the_packaged_functions_can_never_move_their_clock(packaged):
    """`make clock` is local only: no deployed function is given a clock file (chalicelib/clock.py
    also ignores one outside the local stage and in Lambda)."""
    assert "HAVEN_CLOCK_FILE" not in packaged.read_text()


# checkov on the packaged template: every failed check fails the test unless skipped here, for
# the resources named, with the reason. A skip that no longer matches a failure fails too.
FUNCTIONS = {"APIHandler", "Reminders", "Deadlines", "Discharges", "Revocations", "Exports", "MeetingEvents"}
CHECKOV_SKIPS: dict[str, tuple[set[str], str]] = {
    "CKV_AWS_116": (FUNCTIONS, "Dead-letter queue: the API is invoked synchronously (nothing to dead-letter); "
                               "the sweeps are idempotent and re-read what is due at the next run, and a failed "
                               "run raises the function's Errors alarm. The exports function is fed by SQS: its "
                               "dead-letter queue is the queue's redrive target (alarmed), which is where AWS "
                               "puts it for an event source mapping."),
    "CKV_AWS_117": (FUNCTIONS, "VPC: Haven has no private network resources; the functions call only AWS APIs "
                               "over TLS with IAM. A VPC would add NAT or endpoints and narrow nothing."),
    "CKV_AWS_173": (FUNCTIONS, "Environment encryption with a customer key: the variables are resource names "
                               "and ARNs, no secrets (the signing key is read from Secrets Manager at run time); "
                               "Lambda encrypts them at rest with its own key."),
    "CKV_AWS_115": ({"APIHandler", "Revocations", "MeetingEvents"},
                    "Reserved concurrency for the API: its load is bounded by stage throttling and the WAF per-IP "
                    "rate rule; reserving would take capacity from the account. The sweeps have reserved "
                    "concurrency. Revocations runs once per Cognito account event (rare, idempotent upserts); "
                    "MeetingEvents once per Chime attendee joined/left or meeting ended (two people a session, "
                    "idempotent conditional writes): reserving would only drop Chime's events under load."),
    "CKV_AWS_73": ({"RestAPI"}, "X-Ray tracing on the API: traces record raw request paths, which carry link "
                                "tokens. Correlation ids and the access log (route templates) serve instead."),
    "CKV_AWS_120": ({"RestAPI"}, "API caching: every response is personal (`Cache-Control: no-store`); a stage "
                                 "cache could serve one person's data to another."),
    "CKV_AWS_18": ({"AccessLogsBucket"}, "Access logging of the access-log bucket itself: it is where the other "
                                         "buckets' access logs go; logging it into itself would loop."),
}
TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def test_the_packaged_template_passes_checkov(packaged):
    checkov = TOOLS_BIN / "checkov"
    if not checkov.exists():
        pytest.fail("checkov is not installed: run `make deps` (it lives in .venv-tools: its pins conflict with boto3's)")
    result = subprocess.run(
        [str(checkov), "-f", str(packaged), "--framework", "cloudformation", "-o", "json", "--quiet", "--compact",
         "--skip-download"],
        env=offline_env(BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false"),
        capture_output=True, text=True, timeout=600)
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    failed = {(c["check_id"], c["resource"].split(".", 1)[1]): c["check_name"]
              for c in report.get("results", {}).get("failed_checks", [])}
    skipped = {(check, resource) for check, (resources, _) in CHECKOV_SKIPS.items() for resource in resources}
    unexpected = {f"{check} {resource}: {name}" for (check, resource), name in failed.items()
                  if (check, resource) not in skipped}
    assert not unexpected, sorted(unexpected)
    stale = sorted(f"{check} {resource}" for check, resource in skipped - set(failed))
    assert not stale, f"skips that no longer match a failure (remove them): {stale}"


def test_the_packaged_stage_logs_access_and_functions_log_to_their_groups(packaged):
    resources = json.loads(packaged.read_text())["Resources"]
    api = resources["RestAPI"]
    assert api["Properties"]["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert api["DependsOn"] == ["ApiGatewayAccount"]
    for name in FUNCTIONS:
        function = resources[name]
        assert function["Type"] == "AWS::Serverless::Function", name
        assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": f"{name}LogGroup"}}, name
        assert function["DependsOn"] == ["LambdaPolicy"], name


def test_the_api_stage_is_throttled(packaged):
    api = json.loads(packaged.read_text())["Resources"]["RestAPI"]
    assert api["Type"] == "AWS::Serverless::Api"
    settings = api["Properties"]["MethodSettings"]
    assert any(s["ResourcePath"] == "/*" and s["HttpMethod"] == "*" and "ThrottlingRateLimit" in s
               and "ThrottlingBurstLimit" in s for s in settings)


def test_every_setting_that_names_a_resource_is_set_by_the_template():
    """Each HAVEN_* variable settings.py reads either comes from the template or has a default
    that is right on AWS (derived from the others)."""
    source = (ROOT / "chalicelib" / "settings.py").read_text()
    read = set(re.findall(r"\"(HAVEN_[A-Z_]+)\"", source))
    derived_or_tuning = {"HAVEN_JWKS_URL", "HAVEN_ISSUER", "HAVEN_REPLY_WORKING_DAY_HOURS",
                         # meetings: Chime on AWS, in the stack's region, unless told otherwise; the
                         # profile is only for a local stack pointed at a real Chime account
                         "HAVEN_MEETINGS", "HAVEN_MEETINGS_REGION", "HAVEN_MEETINGS_MEDIA_REGION",
                         "HAVEN_MEETINGS_AWS_PROFILE",
                         # the due index's shards: a tuning number with a default that suits AWS (8);
                         # it may only be raised (docs/scale.md), so a deploy that wants more sets it
                         "HAVEN_DUE_SHARDS"}
    variables = set(committed()["Globals"]["Function"]["Environment"]["Variables"])
    assert read - derived_or_tuning <= variables, sorted(read - derived_or_tuning - variables)


# --- tables ---------------------------------------------------------------------------------

def model_tables() -> dict[str, dict]:
    """What the PynamoDB models define, read from their attributes (not through infra.resources)."""
    from pynamodb.attributes import TTLAttribute
    from pynamodb.indexes import GlobalSecondaryIndex

    from chalicelib.settings import TABLE_NAMES
    from chalicelib.store.models import ALL_MODELS

    tables = {}
    for model in ALL_MODELS:
        short = next(n for n in sorted(TABLE_NAMES, key=len, reverse=True)
                     if model.Meta.table_name.endswith(f"-{n}"))
        attributes = model.get_attributes().values()
        types = {a.attr_name: a.attr_type for a in attributes}
        keys = {("HASH" if a.is_hash_key else "RANGE"): a.attr_name
                for a in attributes if a.is_hash_key or a.is_range_key}
        indexes = {}
        for index in model._indexes.values():
            index_attributes = index.Meta.attributes.values()
            index_keys = {("HASH" if a.is_hash_key else "RANGE"): a.attr_name
                          for a in index_attributes if a.is_hash_key or a.is_range_key}
            indexes[index.Meta.index_name] = {
                "keys": index_keys,
                "types": {a.attr_name: a.attr_type for a in index_attributes if a.is_hash_key or a.is_range_key},
                "projection": index.Meta.projection.projection_type,
                "global": isinstance(index, GlobalSecondaryIndex),
            }
        ttl = [a.attr_name for a in attributes if isinstance(a, TTLAttribute)]
        tables[short] = {"keys": keys, "types": types, "indexes": indexes, "ttl": ttl[0] if ttl else None}
    return tables


def template_tables() -> dict[str, dict]:
    tables = {}
    for logical_id, resource in committed()["Resources"].items():
        if resource.get("Type") != "AWS::DynamoDB::Table":
            continue
        p = resource["Properties"]
        name = p["TableName"]["Fn::Sub"]
        assert name.startswith("haven-${Stage}-"), (logical_id, name)
        types = {d["AttributeName"]: d["AttributeType"] for d in p["AttributeDefinitions"]}
        indexes = {}
        for index in p.get("GlobalSecondaryIndexes", []) + p.get("LocalSecondaryIndexes", []):
            keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
            indexes[index["IndexName"]] = {"keys": keys, "types": {n: types[n] for n in keys.values()},
                                           "projection": index["Projection"]["ProjectionType"],
                                           "global": index in p.get("GlobalSecondaryIndexes", [])}
        tables[name.removeprefix("haven-${Stage}-")] = {
            "keys": {k["KeyType"]: k["AttributeName"] for k in p["KeySchema"]},
            "types": types, "indexes": indexes,
            "ttl": p.get("TimeToLiveSpecification", {}).get("AttributeName"),
            "properties": p, "logical_id": logical_id,
        }
    return tables


def test_the_template_declares_exactly_the_tables_the_models_define():
    assert sorted(template_tables()) == sorted(model_tables())


def test_each_table_has_the_keys_indexes_and_ttl_of_its_model():
    declared = template_tables()
    for name, model in model_tables().items():
        table = declared[name]
        assert table["keys"] == model["keys"], name
        for key in model["keys"].values():
            assert table["types"][key] == model["types"][key], (name, key)
        assert table["indexes"].keys() == model["indexes"].keys(), name
        for index_name, index in model["indexes"].items():
            got = table["indexes"][index_name]
            assert (got["keys"], got["types"], got["projection"], got["global"]) == \
                (index["keys"], index["types"], index["projection"], index["global"]), (name, index_name)
        assert table["ttl"] == model["ttl"], name
        # Every attribute definition is a key of the table or of an index (CloudFormation insists).
        used = set(table["keys"].values()) | {k for i in table["indexes"].values() for k in i["keys"].values()}
        assert set(table["types"]) == used, name


def test_every_table_has_point_in_time_recovery_encryption_and_on_demand_billing():
    for name, table in template_tables().items():
        p = table["properties"]
        assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert p["SSESpecification"]["SSEEnabled"] is True, name
        assert p["BillingMode"] == "PAY_PER_REQUEST", name


def test_the_lambda_role_reaches_every_table_and_its_indexes_and_nothing_scans():
    template = committed()
    policy = template["Resources"]["LambdaPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "LambdaRole"}]
    statements = policy["PolicyDocument"]["Statement"]
    tables_statement = next(s for s in statements if s["Sid"] == "Tables")
    for table in template_tables().values():
        logical_id = table["logical_id"]
        assert {"Fn::GetAtt": [logical_id, "Arn"]} in tables_statement["Resource"]
        assert {"Fn::Sub": f"${{{logical_id}.Arn}}/index/*"} in tables_statement["Resource"]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert "dynamodb:Scan" not in actions
    assert not any(a.endswith(":*") or a == "*" for a in actions)


def test_the_deployment_package_ships_bytecode_without_the_runtime_s_libraries_under_10_mb(packaged, tmp_path):
    """Issue 16: what a cold start unpacks. `make package` runs the same step after `chalice package`."""
    import zipfile

    archive = packaged.parent / "deployment.zip"
    result = subprocess.run([sys.executable, "-m", "infra.package", str(archive)], cwd=ROOT, env=offline_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert archive.stat().st_size <= 10_000_000, result.stdout  # 10 MB
    names = zipfile.ZipFile(archive).namelist()
    assert not [n for n in names if n.startswith("aws_lambda_powertools/utilities/parser/") or n.endswith("/RECORD")]
    assert "aws_lambda_powertools/utilities/idempotency/__init__.pyc" in names
    assert not [n for n in names if n.startswith(("boto3/", "botocore/", "s3transfer/"))]
    assert "chalicelib/wiring.py" in names and "chalicelib/__pycache__/wiring.cpython-311.pyc" in names
    assert "pynamodb/models.pyc" in names and "pynamodb/models.py" not in names
    assert "chalicelib/assets/join.js" in names  # the join page's script, built by make (web/join)
    assert not [n for n in names if n.startswith("jwt/")]  # tokens are checked with cryptography alone
    zipfile.ZipFile(archive).extractall(tmp_path)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import app, holidays, aws_encryption_sdk; from cryptography.hazmat.primitives.asymmetric import rsa; "
             "assert app.__file__.startswith(sys.argv[1]); print(len(holidays.country_holidays('US', years=2026)))")
    imported = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], cwd=tmp_path, env=offline_env(),
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert int(imported.stdout.strip()) >= 10


def test_the_gateway_answers_unknown_paths_and_content_types_in_the_error_envelope(packaged):
    resources = json.loads(packaged.read_text())["Resources"]
    responses = {r["Properties"]["ResponseType"]: r["Properties"] for r in resources.values()
                 if r.get("Type") == "AWS::ApiGateway::GatewayResponse"}
    for kind, status, code in (("MISSING_AUTHENTICATION_TOKEN", "404", "not_found"),
                               ("UNSUPPORTED_MEDIA_TYPE", "415", "unsupported_media_type")):
        assert responses[kind]["StatusCode"] == status
        assert json.loads(responses[kind]["ResponseTemplates"]["application/json"])["error"]["code"] == code
        assert responses[kind]["RestApiId"] == {"Ref": "RestAPI"}


# --- queues and speech (issue 15) -----------------------------------------------------------

def _role_statements(template: dict) -> list[dict]:
    return template["Resources"]["LambdaPolicy"]["Properties"]["PolicyDocument"]["Statement"]


def test_the_exports_function_is_wired_to_its_queue_which_dead_letters(packaged):
    template = json.loads(packaged.read_text())
    function = template["Resources"]["Exports"]
    events = function["Properties"]["Events"]
    assert [e["Type"] for e in events.values()] == ["SQS"]
    assert [e["Properties"]["Queue"] for e in events.values()] == [{"Fn::GetAtt": ["ExportsQueue", "Arn"]}]
    assert function["Properties"]["Timeout"] == 900
    queue = template["Resources"]["ExportsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ExportsDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= function["Properties"]["Timeout"]
    assert template["Resources"]["ExportsDeadLetterQueueAlarm"]["Type"] == "AWS::CloudWatch::Alarm"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["HAVEN_EXPORTS_QUEUE_URL"] == {"Ref": "ExportsQueue"}


def test_the_role_may_synthesize_speech_and_nothing_else_of_polly():
    polly = [a for s in _role_statements(committed()) for a in
             ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if a.startswith("polly:")]
    assert polly == ["polly:SynthesizeSpeech"]


def test_the_role_reaches_the_exports_queue_and_may_delete_every_version_of_an_export():
    statements = {s["Sid"]: s for s in _role_statements(committed())}
    assert statements["Queues"]["Resource"] == [{"Fn::GetAtt": ["ExportsQueue", "Arn"]}]
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= set(statements["Queues"]["Action"])
    assert {"s3:DeleteObjectVersion", "s3:AbortMultipartUpload"} <= set(statements["MediaObjects"]["Action"])
    assert "s3:ListBucketVersions" in statements["MediaBucket"]["Action"]


def test_the_functions_may_use_the_key_for_users_own_data_keys_only_with_their_context():
    statements = {s["Sid"]: s for s in committed()["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"]}
    user_keys = statements["FunctionsUserKeys"]
    assert user_keys["Principal"] == {"AWS": {"Fn::GetAtt": ["LambdaRole", "Arn"]}}
    assert sorted(user_keys["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert user_keys["Condition"]["StringEquals"] == {"kms:EncryptionContext:purpose": "user-key"}
    assert user_keys["Condition"]["ForAllValues:StringEquals"] == {"kms:EncryptionContextKeys": ["purpose", "user_id"]}
    from chalicelib.adapters.crypto import UserCipher

    assert UserCipher(None, "key", None)._context("u") == {"purpose": "user-key", "user_id": "u"}
