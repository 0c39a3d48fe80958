"""SPEC §2 Safety for what a client writes between sessions: no journal text, mood note,
goal or homework words, or talkcast script reaches a log, an email, the outbox, a queue
message or a table in the clear; ops read none of it."""
import json
from datetime import datetime, timezone

import boto3

from tests.functional.conftest import mail_to
from tests.functional.test_exports import drain_exports

SECRETS = {
    "journal": "my uncle hurt me when I was nine",
    "mood": "cried in the car park again",
    "goal": "stop checking his messages",
    "homework": "write the letter to my uncle",
    "script": "Remember the letter is for you alone; you never have to send it.",
    "title": "The unsent letter",
}


def test_a_busy_scenario_leaks_no_between_sessions_words(api, world, stack, capfd, caplog, run_sweep, clock):
    caplog.set_level("DEBUG")
    client, provider, room_id = world.pair()
    api.post("/clients/me/journal", client, {"text": SECRETS["journal"], "shared": True})
    api.post("/clients/me/moods", client, {"score": 2, "emotions": ["sad"], "note": SECRETS["mood"]})
    api.call("PATCH", "/clients/me/settings", client, {"share_moods": True})
    api.post(f"/rooms/{room_id}/goals", client, {"title": SECRETS["goal"]})
    api.post(f"/rooms/{room_id}/homework", provider, {"title": "Letter", "instructions": SECRETS["homework"],
                                                      "due": "2026-11-26"})
    api.post(f"/rooms/{room_id}/talkcasts", provider, {"title": SECRETS["title"], "script": SECRETS["script"]})
    api.get(f"/rooms/{room_id}/journal", provider)
    api.get(f"/rooms/{room_id}/moods", provider)
    api.get(f"/rooms/{room_id}/homework", client)
    run_sweep("reminders", datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc))  # the homework reminder
    export = api.post("/clients/me/exports", client).json
    sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    queued = sqs.receive_message(QueueUrl=stack["queues"]["exports"]["url"], VisibilityTimeout=0)["Messages"]
    drain_exports(stack)
    assert api.get(f"/clients/me/exports/{export['id']}", client).json["status"] == "ready"

    out, err = capfd.readouterr()
    logs = out + err + "\n".join(repr(vars(record)) for record in caplog.records)
    assert room_id in logs and export["id"] in logs  # ids are logged
    mail = json.dumps(mail_to(client.email) + mail_to(provider.email))
    assert "Homework due tomorrow" in mail and "data export is ready" in mail
    ddb = boto3.client("dynamodb", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    tables = "".join(repr(ddb.scan(TableName=t)["Items"]) for t in stack["tables"].values())
    for what, secret in SECRETS.items():
        for place, text in (("logs", logs), ("email", mail), ("tables", tables),
                            ("queue", json.dumps([m["Body"] for m in queued]))):
            assert secret not in text, f"the {what} leaked into the {place}"
    # and the client still reads it all back
    assert api.get("/clients/me/journal", client).json["items"][0]["text"] == SECRETS["journal"]


def test_ops_reach_none_of_it(api, world):
    client, provider, room_id = world.pair()
    ops = world.ops
    for method, path in (("GET", "/clients/me/journal"), ("GET", f"/rooms/{room_id}/journal"),
                         ("GET", "/clients/me/moods"), ("GET", f"/rooms/{room_id}/moods"),
                         ("GET", f"/rooms/{room_id}/goals"), ("GET", f"/rooms/{room_id}/homework"),
                         ("POST", "/clients/me/exports"), ("GET", "/clients/me/exports/ex_x")):
        reply = api.call(method, path, ops)
        assert reply.status == 403 and reply.code == "forbidden", (path, reply.json)
