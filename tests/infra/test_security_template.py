"""Issues 8.5, 8.11-8.13 and 10.12 as template facts: logs that keep link tokens out, audit trails,
a key policy that grants each use to the one principal that needs it, WAF, reserved concurrency,
verified email changes, and the dashboard, alarms and saved queries on-call needs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = json.loads((ROOT / "infra" / "resources.json").read_text())
RESOURCES = TEMPLATE["Resources"]
KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}
USE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt", "kms:*")


def of_type(resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in RESOURCES.items() if r.get("Type") == resource_type}


def functions() -> dict[str, str]:
    """{logical id: deployed name} of every function (the partial entries merged into Chalice's)."""
    return {k: r["Properties"]["FunctionName"]["Fn::Sub"] for k, r in RESOURCES.items()
            if "Type" not in r and "FunctionName" in r.get("Properties", {})}


def sweeps() -> list[str]:
    from infra.resources import load_chalice_app, sweep_schedules

    return [name for name, _ in sweep_schedules(load_chalice_app()).values()]


def actions(statement: dict) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


# --- 8.11 logs --------------------------------------------------------------------------------

def test_the_api_stage_writes_an_access_log_with_route_templates_only():
    api = RESOURCES["RestAPI"]["Properties"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.resourcePath" in setting["Format"]
    assert not re.search(r"\$context\.path\b", setting["Format"]), "the raw path carries link tokens"
    assert "$context.identity" not in setting["Format"], "no IP address or user agent (ids only)"
    json.loads(setting["Format"])  # one JSON object per request
    group = RESOURCES["ApiAccessLogGroup"]["Properties"]
    assert group["KmsKeyId"] == KEY_ARN and group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert all(s.get("LoggingLevel", "OFF") == "OFF" and not s.get("DataTraceEnabled") for s in api["MethodSettings"])


def test_every_function_logs_into_its_own_encrypted_log_group_with_retention():
    found = functions()
    assert {"APIHandler", "Reminders", "Deadlines", "Discharges"} <= set(found)
    for function_id, name in found.items():
        assert name.startswith("haven-${Stage}-"), function_id
        entry = RESOURCES[function_id]
        group_id = entry["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = RESOURCES[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{name}"}, function_id
        assert group["Properties"]["KmsKeyId"] == KEY_ARN, function_id
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function_id
    statements = RESOURCES["LambdaPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    logs = next(s for s in statements if s["Sid"] == "Logs")
    assert "logs:CreateLogGroup" not in actions(logs), "a group Lambda makes has no key and no retention"


def test_cloudtrail_records_data_events_of_every_table_and_the_media_objects():
    trail = of_type("AWS::CloudTrail::Trail")
    assert len(trail) == 1
    (trail_id, resource), = trail.items()
    p = resource["Properties"]
    assert p["KMSKeyId"] == KEY_ARN and p["EnableLogFileValidation"] is True and p["IsLogging"] is True
    selectors = {s["Name"]: {f["Field"]: f for f in s["FieldSelectors"]} for s in p["AdvancedEventSelectors"]}
    by_type = {fields["resources.type"]["Equals"][0]: fields for fields in selectors.values()}
    tables = sorted(of_type("AWS::DynamoDB::Table"))
    assert sorted(a["Fn::GetAtt"][0] for a in by_type["AWS::DynamoDB::Table"]["resources.ARN"]["Equals"]) == tables
    media = by_type["AWS::S3::Object"]["resources.ARN"]["StartsWith"]
    assert media == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::haven-${Stage}-media-${AWS::AccountId}/"}]
    assert all(fields["eventCategory"]["Equals"] == ["Data"] for fields in selectors.values())
    bucket = RESOURCES[p["S3BucketName"]["Ref"]]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}
    assert p["S3BucketName"]["Ref"] != "MediaBucket"


def test_the_media_bucket_has_server_access_logs_in_a_private_encrypted_bucket():
    logging = RESOURCES["MediaBucket"]["Properties"]["LoggingConfiguration"]
    target = RESOURCES[logging["DestinationBucketName"]["Ref"]]["Properties"]
    assert logging["DestinationBucketName"]["Ref"] not in ("MediaBucket",)
    assert all(target["PublicAccessBlockConfiguration"].values())
    # Server access logs can only be delivered to SSE-S3 buckets.
    assert target["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == \
        {"SSEAlgorithm": "AES256"}
    policy = next(r["Properties"]["PolicyDocument"] for r in of_type("AWS::S3::BucketPolicy").values()
                  if r["Properties"]["Bucket"] == logging["DestinationBucketName"])
    delivery = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert "aws:SourceAccount" in delivery["Condition"]["StringEquals"]


# --- 8.12 the key policy ----------------------------------------------------------------------

def key_statements(logical_id: str = "Key") -> list[dict]:
    return RESOURCES[logical_id]["Properties"]["KeyPolicy"]["Statement"]


def uses_the_key(statement: dict) -> bool:
    return any(a.startswith(USE_ACTIONS) for a in actions(statement))


def test_the_account_administers_the_key_but_cannot_use_it_unconditionally():
    for statement in key_statements():
        principal = json.dumps(statement["Principal"])
        if ":root" in principal and uses_the_key(statement):
            condition = json.dumps(statement.get("Condition", {}))
            assert "kms:ViaService" in condition or "kms:EncryptionContext" in condition, statement["Sid"]
        assert "kms:*" not in actions(statement), statement["Sid"]
    admin = next(s for s in key_statements() if s["Sid"] == "AccountAdministersTheKeyButDoesNotUseIt")
    assert "kms:PutKeyPolicy" in admin["Action"] or "kms:Put*" in admin["Action"]
    assert not uses_the_key(admin)


def test_every_use_of_the_key_is_bound_to_a_service_or_an_encryption_context():
    """Only the break-glass role may decrypt without a service or an encryption context."""
    for statement in key_statements():
        if statement["Effect"] != "Allow" or not uses_the_key(statement):
            continue
        if statement["Principal"] == {"AWS": {"Fn::GetAtt": ["BreakGlassRole", "Arn"]}}:
            continue
        condition = json.dumps(statement.get("Condition", {}))
        assert "kms:ViaService" in condition or "kms:EncryptionContext" in condition \
            or "aws:SourceArn" in condition, statement["Sid"]


def test_the_functions_use_the_key_directly_only_with_the_key_contexts_the_code_uses():
    from chalicelib.adapters.crypto import MessageCipher, NoteCipher, UserCipher

    # every envelope cipher the code has: rooms' keys, users' own keys, session requests' keys
    contexts = [cipher(None, "key", None)._context("id-1") for cipher in (MessageCipher, UserCipher, NoteCipher)]
    direct = [s for s in key_statements() if s["Principal"] == {"AWS": {"Fn::GetAtt": ["LambdaRole", "Arn"]}}
              and uses_the_key(s) and "kms:ViaService" not in json.dumps(s.get("Condition", {}))]
    assert len(direct) == len(contexts)
    for statement, context in zip(direct, contexts):
        assert sorted(actions(statement)) == ["kms:Decrypt", "kms:GenerateDataKey"]
        condition = statement["Condition"]
        assert condition["StringEquals"] == {"kms:EncryptionContext:purpose": context["purpose"]}
        assert sorted(condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]) == sorted(context)
    # ...and the IAM policy grants no KMS at all: the key policy is the one place.
    statements = RESOURCES["LambdaPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert not [a for s in statements for a in actions(s) if a.startswith("kms:")]


def test_services_use_the_key_through_their_own_statements():
    by_sid = {s["Sid"]: s for s in key_statements()}
    via = {sid: s["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"] for sid, s in by_sid.items()
           if "kms:ViaService" in json.dumps(s.get("Condition", {}))}
    assert {"s3.${AWS::Region}.amazonaws.com", "dynamodb.${AWS::Region}.amazonaws.com",
            "secretsmanager.${AWS::Region}.amazonaws.com"} <= set(via.values())
    logs = by_sid["CloudWatchLogsEncryptsHavenLogGroups"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]
    assert by_sid["CloudTrailEncryptsDataEvents"]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}


def test_the_break_glass_role_needs_mfa_and_is_documented():
    role = RESOURCES["BreakGlassRole"]["Properties"]
    assert role["RoleName"] == {"Fn::Sub": "HavenBreakGlass-${Stage}"}
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    assert "Policies" not in role  # its policy is a resource of its own (the key policy names the role)
    assert any(s["Principal"] == {"AWS": {"Fn::GetAtt": ["BreakGlassRole", "Arn"]}} for s in key_statements())
    readme = (ROOT / "README.md").read_text()
    assert "HavenBreakGlass" in readme and "## Security" in readme


# --- 8.13 alarm topic key, WAF, reserved concurrency --------------------------------------------

def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use():
    topic = RESOURCES["AlarmTopic"]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert RESOURCES[key_id]["Type"] == "AWS::KMS::Key"
    grants = [s for s in key_statements(key_id) if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert grants and {"kms:Decrypt"} <= set(actions(grants[0]))
    assert any(a.startswith("kms:GenerateDataKey") for a in actions(grants[0]))


def test_a_waf_web_acl_with_a_per_ip_rate_rule_guards_the_api_stage():
    (acl_id, acl), = of_type("AWS::WAFv2::WebACL").items()
    assert acl["Properties"]["Scope"] == "REGIONAL"
    rate = [r for r in acl["Properties"]["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate and rate[0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert "Block" in rate[0]["Action"]
    (association,) = of_type("AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert "/restapis/${RestAPI}/stages/${RestAPI.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_each_sweep_has_reserved_concurrency():
    from chalice.utils import to_cfn_resource_name

    for name in sweeps():
        entry = RESOURCES[to_cfn_resource_name(name)]["Properties"]
        assert entry["ReservedConcurrentExecutions"] == {"Ref": "SweepReservedConcurrency"}, name


# --- 8.5 email changes need verification --------------------------------------------------------

def test_the_user_pool_keeps_the_old_email_until_the_new_one_is_verified():
    pool = RESOURCES["UserPool"]["Properties"]
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}


# --- 10.12 dashboard, alarms, saved queries, runbook ---------------------------------------------

def emitted_metric_names() -> set[str]:
    """Metric names the code emits: literals in `add_metric(name=...)` and each sweep's result keys."""
    names: set[str] = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for argument in re.findall(r"add_metric\(name=(.*?), unit=", path.read_text(), re.DOTALL):
            names |= set(re.findall(r"\"(\w+)\"", argument))
    for name in sweeps():
        source = (ROOT / "chalicelib" / "sweeps" / f"{name}.py").read_text()
        names |= {f"{name}_{key}" for key in re.findall(r"\"(\w+)\":", source)}
    return names


def dashboard() -> dict:
    return json.loads(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])


def test_the_dashboard_shows_what_on_call_watches():
    titles = [w["properties"]["title"] for w in dashboard()["widgets"]]
    for wanted in ("Requests by route", "5xx by route", "p99", "Bookings created and refused",
                   "Emails sent and failed", "Reply promises breached", "Oldest due item of each sweep"):
        assert any(wanted in t for t in titles), wanted
    body = json.dumps(dashboard())
    assert "Resource" in body and "5XXError" in body and '"p99"' in body
    for name in sweeps():
        assert f'"sweep", "{name}"' in body, name


def haven_metrics_used() -> set[str]:
    used = set()
    for widget in dashboard()["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            if metric and metric[0] == "Haven":
                used.add(metric[1])
            elif metric and isinstance(metric[0], dict) and "Haven" in metric[0].get("expression", ""):
                used |= set(re.findall(r'MetricName=\\?"(\w+)', metric[0]["expression"]))
    for alarm in of_type("AWS::CloudWatch::Alarm").values():
        if alarm["Properties"].get("Namespace") == "Haven":
            used.add(alarm["Properties"]["MetricName"])
    return used


def test_every_haven_metric_used_is_emitted_or_listed_as_pending():
    from infra.resources import EMITTED_METRICS, PENDING_METRICS

    emitted = emitted_metric_names()
    assert set(EMITTED_METRICS) <= emitted, sorted(set(EMITTED_METRICS) - emitted)
    assert not set(PENDING_METRICS) & emitted, "now emitted: move it to EMITTED_METRICS"
    used = haven_metrics_used()
    assert used <= emitted | set(PENDING_METRICS), sorted(used - emitted - set(PENDING_METRICS))


def test_alarms_cover_what_needs_a_person_and_all_go_to_the_alarm_topic():
    alarms = of_type("AWS::CloudWatch::Alarm")
    by_metric = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]): a["Properties"]
                 for a in alarms.values()}
    assert ("AWS/ApiGateway", "5XXError") in by_metric
    assert by_metric[("Haven", "NoticeFailed")]["EvaluationPeriods"] > 1  # piling up, not one failure
    assert ("Haven", "deadlines_replies_overdue") in by_metric
    behind = {a["Properties"]["Dimensions"][-1]["Value"]: a["Properties"] for a in alarms.values()
              if a["Properties"]["MetricName"] == "OldestDueAgeSeconds"}
    assert sorted(behind) == sorted(sweeps())
    assert behind["deadlines"]["Threshold"] == 15 * 60 and behind["reminders"]["Threshold"] == 15 * 60
    assert behind["discharges"]["Threshold"] == 24 * 3600 + 15 * 60  # a daily sweep
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id


def test_saved_queries_for_on_call():
    queries = {q["Properties"]["Name"]["Fn::Sub"].split("/", 1)[1]: q["Properties"]
               for q in of_type("AWS::Logs::QueryDefinition").values()}
    assert sorted(queries) == sorted(["One request by correlation id", "Errors by route",
                                      "One booking's history by id", "Sweep runs"])
    assert "correlation_id" in queries["One request by correlation id"]["QueryString"]
    assert "booking_id" in queries["One booking's history by id"]["QueryString"]
    assert "by route" in queries["Errors by route"]["QueryString"]
    for name, query in queries.items():
        for group in query["LogGroupNames"]:
            assert RESOURCES[group["Ref"]]["Type"] == "AWS::Logs::LogGroup", name


@pytest.mark.parametrize("alarm_kind", ["ApiServerErrorsAlarm", "EmailFailuresAlarm", "ReplyPromisesBreachedAlarm",
                                        "SweepBehindAlarm", "FunctionErrorsAlarm"])
def test_the_runbook_says_what_each_alarm_means_and_what_to_do(alarm_kind):
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    assert f"## {alarm_kind}" in runbook
    for alarm in of_type("AWS::CloudWatch::Alarm").values():
        assert re.search(r"runbook: (\w+)", alarm["Properties"]["AlarmDescription"]).group(1) in runbook
