"""`make run` is used for hours: the emulator's memory stays flat under DynamoDB transactions
(issue 9 item 9), and its transactions stay all-or-nothing."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import os, boto3
    from moto.server import ThreadedMotoServer
    from infra.provision import make_dynamodb_atomic

    make_dynamodb_atomic()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    ddb = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    for i in range(3000):
        ddb.put_item(TableName="t", Item={"id": {"S": f"item{i}"}, "n": {"N": "0"}, "pad": {"S": "x" * 200}})

    def rss_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def tx(i):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": {"id": {"S": f"item{i % 3000}"}}, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "t", "Item": {"id": {"S": f"new{i}"}, "pad": {"S": "y" * 200}},
                     "ConditionExpression": "attribute_not_exists(id)"}}])

    for i in range(300):
        tx(i)
    warm = rss_mib()
    for i in range(300, 2300):
        tx(i)
    print(round(rss_mib() - warm, 1))
    server.stop()
''')


def test_two_thousand_transactions_keep_the_emulator_s_memory_flat():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    growth = float(out.stdout.strip().splitlines()[-1])
    # 2,000 new 200-byte items are ~1 MB of data; moto's own snapshotting kept ~3.5 MB per transaction
    assert growth < 60, f"resident size grew {growth} MiB over 2,000 transactions"


def _emulator(table: str):
    import boto3
    from moto.server import ThreadedMotoServer

    from infra.provision import make_dynamodb_atomic

    make_dynamodb_atomic()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    ddb = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    return server, ddb


def test_a_refused_transaction_writes_nothing_and_names_the_refused_condition():
    import pytest
    from botocore.exceptions import ClientError

    server, ddb = _emulator("refused")
    try:
        ddb.put_item(TableName="refused", Item={"id": {"S": "taken"}})
        with pytest.raises(ClientError) as refused:
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "refused", "Item": {"id": {"S": "fresh"}}}},
                {"Put": {"TableName": "refused", "Item": {"id": {"S": "taken"}},
                         "ConditionExpression": "attribute_not_exists(id)"}}])
        assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
        reasons = [r["Code"] for r in refused.value.response["CancellationReasons"]]
        assert reasons == ["None", "ConditionalCheckFailed"]
        assert "Item" not in ddb.get_item(TableName="refused", Key={"id": {"S": "fresh"}})
    finally:
        server.stop()


def test_a_transaction_whose_write_fails_midway_puts_back_what_it_changed():
    import pytest
    from botocore.exceptions import ClientError

    server, ddb = _emulator("midway")
    try:
        ddb.put_item(TableName="midway", Item={"id": {"S": "a"}, "n": {"N": "1"}})
        ddb.put_item(TableName="midway", Item={"id": {"S": "b"}, "s": {"S": "text"}})
        with pytest.raises(ClientError) as failed:
            ddb.transact_write_items(TransactItems=[
                {"Update": {"TableName": "midway", "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET n = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}}}},
                {"Update": {"TableName": "midway", "Key": {"id": {"S": "b"}}, "UpdateExpression": "ADD s :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}}])  # ADD to a string: refused
        assert failed.value.response["Error"]["Code"] != "ResourceNotFoundException"
        assert ddb.get_item(TableName="midway", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    finally:
        server.stop()
