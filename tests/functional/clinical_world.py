"""Scenario helpers for the clinical-record tests: confirmed and completed sessions of one pair,
questionnaire answers with a chosen total, and raw reads of the tables (test-only Scans).

The clock starts Mon 2026-11-23 09:00Z; the first session is Wed 2026-11-25 15:00–15:45Z."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.functional.booking_world import WED_10_NY, Scene, book, scene, z  # noqa: F401 (re-exported)

ENDS = WED_10_NY + timedelta(minutes=45)


def answers(total: int, items: int, item9: int | None = None) -> list[int]:
    """`items` answers 0–3 adding up to `total` (item 9 of PHQ-9 set apart when given)."""
    out = [0] * items
    fixed = {8: item9} if item9 is not None else {}
    for index, value in fixed.items():
        out[index] = value
    left = total - sum(fixed.values())
    for index in range(items):
        if index in fixed:
            continue
        take = min(3, left)
        out[index], left = take, left - take
    assert left == 0 and sum(out) == total, (total, items, item9)
    return out


def body(phq9: int = 4, gad7: int = 3, item9: int = 0) -> dict:
    return {"phq9": answers(phq9, 9, item9), "gad7": answers(gad7, 7)}


def confirmed(api, sc: Scene, starts_at: datetime = WED_10_NY, by: str = "client") -> dict:
    """A confirmed booking of the pair (the provider confirms a client's request)."""
    booking = book(api, sc, starts_at, by=by)
    if booking["status"] == "pending":
        reply = api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
        assert reply.status == 200, reply.json
        booking = reply.json
    return booking


def completed(api, clock, sc: Scene, starts_at: datetime = WED_10_NY, *, questionnaire: dict | None = None) -> dict:
    """A session that took place: confirmed, optionally answered, then marked completed at its end.
    Leaves the clock at the session's end."""
    booking = confirmed(api, sc, starts_at)
    if questionnaire is not None:
        reply = api.put(f"/bookings/{booking['id']}/questionnaire", sc.client, questionnaire)
        assert reply.status == 201, reply.json
    clock.at = starts_at + timedelta(minutes=45)
    reply = api.post(f"/bookings/{booking['id']}/complete", sc.provider)
    assert reply.status == 200, reply.json
    return reply.json


def set_referral_plan(client, sessions: int = 6) -> None:
    """The client's plan becomes a referral program (as redeeming a referral code does; the codes
    are built elsewhere, so the tests write the plan where the code would)."""
    from chalicelib.store import rooms as room_store
    from chalicelib.store.models import UserModel

    user = UserModel.get(client.id)
    user.update(actions=[UserModel.plan.set({"kind": "referral", "live_credits": sessions, "messaging_credits": 0,
                                             "session_price_cents": 0, "period_anchor": None})])
    room_store.set_plan_kind(client.id, "referral")


def table_items(model) -> list:
    """Every item of a table, raw (test-only Scan)."""
    return list(model.scan())


def raw_tables() -> dict[str, list[dict]]:
    """Every item of every table as DynamoDB returned it (binary attributes as bytes)."""
    import boto3

    from chalicelib.store.models import ALL_MODELS
    from tests.support.aws import ensure_stack

    stack = ensure_stack()
    client = boto3.client("dynamodb", endpoint_url=stack["aws_endpoint_url"], region_name=stack["region"],
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    out = {}
    for model in ALL_MODELS:
        items, start = [], None
        while True:
            page = client.scan(TableName=model.Meta.table_name, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        out[model.Meta.table_name] = items
    return out


def flat_text(item) -> str:
    """An item's every value as text (binary decoded as latin-1, so a plaintext would show)."""
    parts = []

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                parts.append(str(k))
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, (bytes, bytearray)):
            parts.append(bytes(value).decode("latin-1"))
        else:
            parts.append(str(value))
    walk(item)
    return " ".join(parts)


def mail_for(address: str) -> list[dict]:
    """Mail the emulator's SES accepted for `address` (plain and raw messages alike)."""
    from tests.support.aws import sent_mail

    return [m for m in sent_mail() if address in flat_text(m.get("destinations"))]


# --- the authorization table's clinical rows -------------------------------------------------------

def _as(user, role):
    from chalicelib.identity import Caller

    return Caller(user.id, user.email, role)


def table_session(ctx, *, questionnaire: dict | None = None, completed_: bool = False, record: bool = False,
                  visible: bool = False) -> str:
    """A fresh session of the table's pair, in the state a row needs; the clock is left where the
    row's call should happen (sessions are booked from the start of the test's clock)."""
    from chalicelib import wiring
    from chalicelib.services.clinical import questionnaires, records
    from tests.functional.booking_world import fresh_booking
    from tests.functional.conftest import START

    clock = wiring.clock()
    clock.at = START
    booking_id = fresh_booking(ctx, "provider")  # confirmed at once
    client, provider = _as(ctx["client"], "client"), _as(ctx["provider"], "provider")
    if questionnaire is not None:
        questionnaires.submit(client, booking_id, questionnaire["phq9"], questionnaire["gad7"], clock())
    if completed_:
        from chalicelib.services import bookings
        from chalicelib.store import bookings as booking_store

        ends = booking_store.find(booking_id).ends_at
        clock.at = ends
        bookings.complete(provider, booking_id, clock())
        if record:
            records.write_record(provider, booking_id, "A factual record.", None, clock())
        if visible:
            clock.at = ends + timedelta(hours=72)
    return booking_id


def session_body(body=None, **state):
    """A row's body callable: a fresh session in `state` for each caller, then the row's body."""
    def make(ctx, who):
        table_session(ctx, **state)
        return body
    return make
