"""The cold-start baseline: about the smallest useful Chalice app on AWS. It imports boto3, makes
one DynamoDB client at import, and serves `GET /health` (no AWS call) and `GET /item` (one
GetItem), so Haven's `GET /health` and authenticated `GET /clients/me` each have a like-for-like
twin. `tests/bench/coldstart.py` imports it in a fresh process, as Lambda would."""
import os

import boto3
from chalice import Chalice

app = Chalice(app_name="baseline")
dynamodb = boto3.client("dynamodb")


@app.route("/health")
def health():
    return {"status": "ok"}


@app.route("/item")
def item():
    found = dynamodb.get_item(TableName=os.environ["BASELINE_TABLE"], Key={"id": {"S": os.environ["BASELINE_KEY"]}})
    return {"found": "Item" in found}
