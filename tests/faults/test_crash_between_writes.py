"""Crash-between-writes (issue 9): every change that writes twice, or writes then sends, crashed
right after each of its AWS calls in turn, then retried as a client would (same body, same
Idempotency-Key where the route takes one). After the retry (and the sweeps that follow), nothing
may be half-done: the state is the one a single clean request makes, every email of the change
went out exactly once (twice only for the email whose send the crash followed, as SPEC allows),
and the timers the change set still fire."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.faults.crashes import START, WED_10_NY, Cast, after_lease, duplicate_allowed, exactly_once, mail, \
    matrix, never, sweep
from tests.functional.booking_world import z

KEY = {"Idempotency-Key": "crash-test-1"}


def _fail(points, failures):
    assert points, "the request made no AWS call"
    assert not failures, f"{len(failures)} of {len(points)} crash points leave it half-done:\n" + "\n".join(failures)


def _bookings(api, user):
    reply = api.get("/bookings", user)
    assert reply.status == 200, reply.json
    return reply.json["items"]


def _credits(api, client):
    return api.get("/clients/me", client).json["credits"]["live"]


@pytest.fixture
def cast(api, cognito, ops_user, clock):
    return Cast(api, cognito, ops_user, clock)


def _book(api, sc, starts=WED_10_NY, headers=None):
    return api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                             "starts_at": z(starts)}, headers=headers)


# --- bookings: one transaction, then the outbox's deliveries ---------------------------------------

def test_booking_create(aws_calls, cast, api, clock, stack):
    def act(sc):
        return _book(api, sc, headers=KEY)

    def check(sc, reply, point, crashed):
        problems = []  # what the retry answers is test_a_retry_past_the_commit_answers_the_first_result's
        mine = [b for b in _bookings(api, sc.client) if b["starts_at"] == z(WED_10_NY)]
        if [b["status"] for b in mine] != ["pending"]:
            problems.append(f"bookings at that time: {[b['status'] for b in mine]}")
        elif reply.status == 201 and reply.json["id"] != mine[0]["id"]:
            problems.append("the retry answered another booking than the one stored")
        if _credits(api, sc.client) != 3:
            problems.append(f"credits left {_credits(api, sc.client)} (expected 3)")
        again = _book(api, sc, headers={"Idempotency-Key": "another"})
        if again.status != 409:
            problems.append(f"the time is not held: booking it again answered {again.status}")
        sweep(clock, "deadlines", after_lease(clock))
        emails = mail(stack)
        exactly_once(problems, emails, sc.provider.email, "requested", WED_10_NY,
                     duplicate_allowed(point, crashed), "the provider")
        if mine:  # the confirmation deadline still holds: expired at confirm_by, client told once
            sweep(clock, "deadlines", WED_10_NY - timedelta(hours=24))
            status = api.get(f"/bookings/{mine[0]['id']}", sc.client).json["status"]
            if status != "expired":
                problems.append(f"after its confirmation deadline the booking is {status}")
            exactly_once(problems, mail(stack), sc.client.email, "expired", WED_10_NY, None, "the client")
        return problems

    _fail(*matrix(aws_calls, cast.fresh, act, check))


def _with_booking(cast, api, *, confirmed=False):
    def fresh():
        sc = cast.fresh()
        reply = _book(api, sc)
        assert reply.status == 201, reply.json
        sc.data["booking"] = reply.json["id"]
        if confirmed:
            reply = api.post(f"/bookings/{sc.data['booking']}/confirm", sc.provider)
            assert reply.status == 200, reply.json
        return sc
    return fresh


def _status(api, sc, booking_id):
    return api.get(f"/bookings/{booking_id}", sc.client).json["status"]


def test_booking_confirm(aws_calls, cast, api, clock, stack):
    def act(sc):
        return api.post(f"/bookings/{sc.data['booking']}/confirm", sc.provider, headers=KEY)

    def check(sc, reply, point, crashed):
        problems = []
        if _status(api, sc, sc.data["booking"]) != "confirmed":
            problems.append(f"the booking is {_status(api, sc, sc.data['booking'])}")
        sweep(clock, "deadlines", after_lease(clock))
        allowed = duplicate_allowed(point, crashed)
        emails = mail(stack)
        exactly_once(problems, emails, sc.client.email, "confirmed", WED_10_NY, allowed, "the client")
        exactly_once(problems, emails, sc.provider.email, "confirmed", WED_10_NY, allowed, "the provider")
        # its timers: no expiry at the confirmation deadline, both reminders, each once
        day_before = WED_10_NY - timedelta(hours=24)
        sweep(clock, "deadlines", day_before)
        sweep(clock, "reminders", day_before)
        sweep(clock, "reminders", WED_10_NY - timedelta(minutes=10))
        if _status(api, sc, sc.data["booking"]) != "confirmed":
            problems.append(f"at its confirmation deadline it became {_status(api, sc, sc.data['booking'])}")
        emails = mail(stack)
        for who, user in (("the client", sc.client), ("the provider", sc.provider)):
            exactly_once(problems, emails, user.email, "remind_long", WED_10_NY, None, who)
            exactly_once(problems, emails, user.email, "remind_short", WED_10_NY, None, who)
        return problems

    _fail(*matrix(aws_calls, _with_booking(cast, api), act, check))


def test_booking_cancel(aws_calls, cast, api, clock, stack):
    def act(sc):
        return api.post(f"/bookings/{sc.data['booking']}/cancel", sc.client, headers=KEY)

    def check(sc, reply, point, crashed):
        problems = []
        if _status(api, sc, sc.data["booking"]) != "cancelled":
            problems.append(f"the booking is {_status(api, sc, sc.data['booking'])}")
        if _credits(api, sc.client) != 4:
            problems.append(f"credits left {_credits(api, sc.client)} (expected 4: an early cancel returns it)")
        sweep(clock, "deadlines", after_lease(clock))
        allowed = duplicate_allowed(point, crashed)
        emails = mail(stack)
        exactly_once(problems, emails, sc.client.email, "cancelled", WED_10_NY, allowed, "the client")
        exactly_once(problems, emails, sc.provider.email, "cancelled", WED_10_NY, allowed, "the provider")
        sweep(clock, "reminders", WED_10_NY - timedelta(hours=24))
        sweep(clock, "reminders", WED_10_NY - timedelta(minutes=10))
        emails = mail(stack)
        for who, user in (("the client", sc.client), ("the provider", sc.provider)):
            never(problems, emails, user.email, "remind_long", who)
            never(problems, emails, user.email, "remind_short", who)
        clock.at = START + timedelta(hours=1)
        again = _book(api, sc, headers={"Idempotency-Key": "rebook"})
        if again.status != 201:
            problems.append(f"the cancelled time is not free: booking it again answered {again.status} {again.code}")
        return problems

    _fail(*matrix(aws_calls, _with_booking(cast, api, confirmed=True), act, check))


def test_booking_reschedule(aws_calls, cast, api, clock, stack):
    new_time = WED_10_NY + timedelta(days=1)

    def act(sc):
        return api.post(f"/bookings/{sc.data['booking']}/reschedule", sc.client, {"starts_at": z(new_time)},
                        headers=KEY)

    def check(sc, reply, point, crashed):
        problems = []
        items = _bookings(api, sc.client)
        old = [b for b in items if b["id"] == sc.data["booking"]]
        new = [b for b in items if b["starts_at"] == z(new_time)]
        if not old or old[0]["status"] != "rescheduled":
            problems.append(f"the old booking is {old[0]['status'] if old else 'gone'}")
        if [b["status"] for b in new] != ["pending"]:
            problems.append(f"bookings at the new time: {[b['status'] for b in new]}")
        elif old and old[0]["rescheduled_to"] != new[0]["id"]:
            problems.append("the old booking does not point to the new one")
        if _credits(api, sc.client) != 3:
            problems.append(f"credits left {_credits(api, sc.client)} (expected 3: the credit moves)")
        sweep(clock, "deadlines", after_lease(clock))
        allowed = duplicate_allowed(point, crashed)
        emails = mail(stack)
        exactly_once(problems, emails, sc.client.email, "rescheduled", new_time, allowed, "the client")
        exactly_once(problems, emails, sc.provider.email, "rescheduled", new_time, allowed, "the provider")
        exactly_once(problems, emails, sc.provider.email, "requested", new_time, allowed, "the provider")
        sweep(clock, "reminders", WED_10_NY - timedelta(hours=24))
        emails = mail(stack)
        for who, user in (("the client", sc.client), ("the provider", sc.provider)):
            never(problems, emails, user.email, "remind_long", who)
        clock.at = START + timedelta(hours=1)
        held = _book(api, sc, new_time, headers={"Idempotency-Key": "take-new"})
        if held.status != 409:
            problems.append(f"the new time is not held: booking it answered {held.status}")
        free = _book(api, sc, WED_10_NY, headers={"Idempotency-Key": "take-old"})
        if free.status != 201:
            problems.append(f"the old time is not free: booking it answered {free.status} {free.code}")
        return problems

    _fail(*matrix(aws_calls, _with_booking(cast, api, confirmed=True), act, check))


# --- the answer a retry gets when the first attempt committed and then died -----------------------

def _past_commit(cast, api, clock, aws_calls, fresh, act, expect):
    from tests.faults.faults import Crash, Point, lambda_timed_out

    act(fresh())  # warm the container's caches
    sc = fresh()
    with aws_calls.crash_after(Point("dynamodb.TransactWriteItems")), pytest.raises(Crash):
        act(sc)
    lambda_timed_out()
    reply = act(sc)
    assert reply.status == expect, f"the retry answered {reply.status} {reply.code}; the first attempt had " \
                                   f"done the change (SPEC §3: a retry with the same key returns the first result)"


@pytest.mark.parametrize("change", ["create", "confirm", "cancel", "reschedule"])
def test_a_retry_past_the_commit_answers_the_first_result(change, aws_calls, cast, api, clock):
    if change == "create":
        fresh, expect = cast.fresh, 201
        act = lambda sc: _book(api, sc, headers=KEY)  # noqa: E731
    else:
        fresh, expect = _with_booking(cast, api, confirmed=change != "confirm"), 201 if change == "reschedule" else 200
        act = {
            "confirm": lambda sc: api.post(f"/bookings/{sc.data['booking']}/confirm", sc.provider, headers=KEY),
            "cancel": lambda sc: api.post(f"/bookings/{sc.data['booking']}/cancel", sc.client, headers=KEY),
            "reschedule": lambda sc: api.post(f"/bookings/{sc.data['booking']}/reschedule", sc.client,
                                              {"starts_at": z(WED_10_NY + timedelta(days=1))}, headers=KEY),
        }[change]
    _past_commit(cast, api, clock, aws_calls, fresh, act, expect)


# --- posting a message: room counter, message, reply deadline, alert ------------------------------

TEXT = "Hello, is Thursday still fine? (crash test)"


def _messages(api, sc, user):
    reply = api.get(f"/rooms/{sc.room_id}/messages?limit=100", user)
    assert reply.status == 200, reply.json
    return reply.json["items"]


def _room(api, sc, user):
    reply = api.get(f"/rooms/{sc.room_id}", user)
    assert reply.status == 200, reply.json
    return reply.json


def _message_checks(api, sc, clock, stack, point, crashed, *, sender, kind, text=None, media_id=None,
                    opened_at=None):
    """One message from `sender` in the room; the other side's unread count counts exactly what is in
    the room; the reply promise is open (client wrote) or settled (provider wrote) and its overdue
    notice fires (or not) at the oracle's due time; the other side was alerted exactly once."""
    from tests.faults.oracle import reply_due, working

    problems = []
    other = sc.provider if sender is sc.client else sc.client
    items = _messages(api, sc, other)
    mine = [m for m in items if m["sender_id"] == sender.id and m["kind"] == kind
            and (text is None or m.get("text") == text) and (media_id is None or m.get("media_id") == media_id)]
    if len(mine) != 1:
        problems.append(f"{len(mine)} such messages in the room (expected exactly 1)")
    system = [m for m in items if m["kind"] == "system"]
    # the only system messages here are out-of-hours notices, addressed to the client (issue 10 item 7):
    # unread for the client, never for the provider
    visible = [m for m in items if m["sender_id"] == sender.id or (m["kind"] == "system" and other is sc.client)]
    unread = _room(api, sc, other)["unread_count"]
    if unread != len(visible):
        problems.append(f"the {('provider', 'client')[sender is not sc.client]} reads unread_count {unread} "
                        f"for {len(visible)} message(s) in the room")
    if sender is sc.client:
        opened = opened_at or START
        due = reply_due(opened, "America/New_York")
        out_of_hours = 0 if working(opened, "America/New_York") else 1
        if len(system) != out_of_hours:
            problems.append(f"{len(system)} out-of-hours notices (expected {out_of_hours})")
        shown = _room(api, sc, sc.client)["reply_due_at"]
        if shown != z(due):
            problems.append(f"reply_due_at is {shown} (expected {z(due)})")
    else:
        shown = _room(api, sc, sc.client)["reply_due_at"]
        if shown is not None:
            problems.append(f"the provider's message did not settle the reply promise (reply_due_at {shown})")
    sweep(clock, "deadlines", after_lease(clock))
    exactly_once(problems, mail(stack), other.email, "alert", None, duplicate_allowed(point, crashed),
                 f"the {'provider' if other is sc.provider else 'client'}")
    due = reply_due(opened_at or START, "America/New_York")
    sweep(clock, "deadlines", due + timedelta(minutes=5))
    emails = mail(stack)
    if sender is sc.client:
        exactly_once(problems, emails, sc.provider.email, "reply_overdue", None, None, "the provider")
    else:
        never(problems, emails, sc.provider.email, "reply_overdue", "the provider")
    return problems


def test_posting_the_first_client_message(aws_calls, cast, api, clock, stack):
    def act(sc):
        return api.post(f"/rooms/{sc.room_id}/messages", sc.client, {"kind": "text", "text": TEXT}, headers=KEY)

    def check(sc, reply, point, crashed):
        return _message_checks(api, sc, clock, stack, point, crashed, sender=sc.client, kind="text", text=TEXT)

    _fail(*matrix(aws_calls, cast.fresh, act, check))


def test_posting_the_provider_reply(aws_calls, cast, api, clock, stack):
    def fresh():
        sc = cast.fresh()
        reply = api.post(f"/rooms/{sc.room_id}/messages", sc.client, {"kind": "text", "text": "first"})
        assert reply.status == 201, reply.json
        clock.at = START + timedelta(minutes=30)
        return sc

    def act(sc):
        return api.post(f"/rooms/{sc.room_id}/messages", sc.provider, {"kind": "text", "text": TEXT}, headers=KEY)

    def check(sc, reply, point, crashed):
        return _message_checks(api, sc, clock, stack, point, crashed, sender=sc.provider, kind="text", text=TEXT)

    _fail(*matrix(aws_calls, fresh, act, check))


# --- a media message: the upload claimed, then the message ----------------------------------------

AUDIO = b"ID3" + bytes(range(256)) * 8


def _uploaded(cast, api):
    import requests

    def fresh():
        sc = cast.fresh()
        slot = api.post(f"/rooms/{sc.room_id}/media", sc.client, {"kind": "audio", "content_type": "audio/mpeg",
                                                                  "size_bytes": len(AUDIO)})
        assert slot.status == 201, slot.json
        upload = slot.json["upload"]
        sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("voice", AUDIO, "audio/mpeg")},
                             timeout=10)
        assert sent.status_code in (200, 201, 204), sent.text
        sc.data["media_id"] = slot.json["media_id"]
        return sc
    return fresh


def test_posting_a_voice_message(aws_calls, cast, api, clock, stack):
    import requests

    def act(sc):
        return api.post(f"/rooms/{sc.room_id}/messages", sc.client, {"kind": "audio", "media_id": sc.data["media_id"]},
                        headers=KEY)

    def check(sc, reply, point, crashed):
        problems = []
        if reply.status != 201:
            problems.append(f"the retry answered {reply.status} {reply.code}")
        listed = [m for m in _messages(api, sc, sc.provider) if m.get("media_id") == sc.data["media_id"]]
        if listed and listed[0].get("media_url"):
            got = requests.get(listed[0]["media_url"], timeout=10)
            if got.content != AUDIO:
                problems.append(f"the voice message does not play back ({got.status_code})")
        return problems + _message_checks(api, sc, clock, stack, point, crashed, sender=sc.client, kind="audio",
                                          media_id=sc.data["media_id"])

    _fail(*matrix(aws_calls, _uploaded(cast, api), act, check))


# --- creating a provider: Cognito user, then group, then profile ----------------------------------

def test_creating_a_provider(aws_calls, cast, api, clock, cognito, ops_user, stack):
    from tests.faults.crashes import provider_body
    from tests.support.cognito import unique_email

    def fresh():
        sc = cast.fresh(room=False, plan=False, availability=False)
        sc.data["email"] = unique_email("new-provider")
        return sc

    def act(sc):
        return api.post("/ops/providers", ops_user, provider_body(sc.data["email"]))

    def check(sc, reply, point, crashed):
        problems = []
        if reply.status not in (201, 409):
            problems.append(f"the retry answered {reply.status} {reply.code}")
        elif reply.status == 409 and reply.code != "already_exists":
            problems.append(f"the retry answered 409 {reply.code}")
        groups = cognito.idp.admin_list_groups_for_user(UserPoolId=stack["user_pool_id"], Username=sc.data["email"])
        if [g["GroupName"] for g in groups["Groups"]] != ["providers"]:
            problems.append(f"the Cognito user's groups are {[g['GroupName'] for g in groups['Groups']]}")
        user = cognito.activate(sc.data["email"], "provider")
        me = api.get("/providers/me", user)
        if me.status != 200:
            problems.append(f"the new provider's own GET /providers/me answers {me.status} {me.code}")
        return problems

    _fail(*matrix(aws_calls, fresh, act, check))


# --- setting a plan: the user, then each room -------------------------------------------------------

def test_setting_a_plan(aws_calls, cast, api, clock, ops_user, stack):
    body = {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01"}

    def act(sc):
        return api.put(f"/ops/clients/{sc.client.id}/plan", ops_user, body)

    def check(sc, reply, point, crashed):
        problems = []
        if reply.status != 200:
            problems.append(f"the retry answered {reply.status} {reply.code}")
        me = api.get("/clients/me", sc.client).json
        if (me["plan"] or {}).get("kind") != "subscription" or me["credits"]["live"] != 4:
            problems.append(f"the client reads plan {me['plan']} and credits {me['credits']}")
        # SPEC: subscription plans always carry the reply promise
        posted = api.post(f"/rooms/{sc.room_id}/messages", sc.client, {"kind": "text", "text": "hi"})
        if posted.status != 201 or _room(api, sc, sc.client)["reply_due_at"] is None:
            problems.append("a client message opens no reply promise")
        return problems

    _fail(*matrix(aws_calls, lambda: cast.fresh(plan=False), act, check))


# --- a change of provider: the room handed over, then the old provider's bookings cancelled ---------

def test_changing_the_provider(aws_calls, api, cognito, ops_user, clock, stack):
    cast = Cast(api, cognito, ops_user, clock, providers=2)
    confirmed_at = WED_10_NY + timedelta(hours=2)

    def fresh():
        sc = cast.fresh()
        pending = _book(api, sc)
        assert pending.status == 201, pending.json
        confirmed = api.post("/bookings", sc.provider, {"client_id": sc.client.id, "modality": "video",
                                                        "starts_at": z(confirmed_at)})
        assert confirmed.status == 201, confirmed.json
        sc.data["bookings"] = {pending.json["id"]: WED_10_NY, confirmed.json["id"]: confirmed_at}
        clock.at = START + timedelta(minutes=10)
        return sc

    def act(sc):
        return api.put("/ops/assignments", ops_user, {"client_id": sc.client.id, "provider_id": sc.other_provider.id})

    def check(sc, reply, point, crashed):
        problems = []
        if reply.status != 200:
            problems.append(f"the retry answered {reply.status} {reply.code}")
        rooms = api.get("/clients/me", sc.client).json["rooms"]
        if [r["provider_id"] for r in rooms] != [sc.other_provider.id]:
            problems.append("the room is not the new provider's")
        if api.get(f"/rooms/{sc.room_id}", sc.provider).status != 404:
            problems.append("the old provider still sees the room")
        statuses = {b["id"]: b["status"] for b in _bookings(api, sc.client)}
        for booking_id in sc.data["bookings"]:
            if statuses.get(booking_id) != "cancelled":
                problems.append(f"a booking with the old provider is {statuses.get(booking_id)}")
        if _credits(api, sc.client) != 4:
            problems.append(f"credits left {_credits(api, sc.client)} (expected 4: Haven's cancel returns them)")
        sweep(clock, "deadlines", after_lease(clock))
        allowed = duplicate_allowed(point, crashed)
        emails = mail(stack)
        for starts in sc.data["bookings"].values():
            exactly_once(problems, emails, sc.client.email, "cancelled", starts, allowed, "the client")
            exactly_once(problems, emails, sc.provider.email, "cancelled", starts, allowed, "the old provider")
        sweep(clock, "reminders", confirmed_at - timedelta(hours=24))
        emails = mail(stack)
        never(problems, emails, sc.provider.email, "remind_long", "the old provider")
        never(problems, emails, sc.client.email, "remind_long", "the client")
        return problems

    _fail(*matrix(aws_calls, fresh, act, check))


def test_a_retried_change_of_provider_by_the_client_answers_the_first_result(aws_calls, api, cognito, ops_user,
                                                                              clock):
    """A client's `POST /clients/me/provider-change` that committed the handover and died: the
    retry with the same key answers the provider it moved to (not a second change to a third
    provider) and finishes the handover."""
    from tests.faults.faults import Crash, Point, lambda_timed_out

    cast = Cast(api, cognito, ops_user, clock, providers=3)

    def act(sc):
        return api.post("/clients/me/provider-change", sc.client, {"provider_kind": "therapist"}, headers=KEY)

    assert act(cast.fresh()).status == 200  # warm the container's caches
    sc = cast.fresh()
    pending = _book(api, sc)
    assert pending.status == 201, pending.json
    with aws_calls.crash_after(Point("dynamodb.TransactWriteItems")), pytest.raises(Crash):
        act(sc)
    moved_to = [r["provider_id"] for r in api.get("/clients/me", sc.client).json["rooms"]]
    assert moved_to != [sc.provider.id]
    lambda_timed_out()
    reply = act(sc)
    assert reply.status == 200, reply.json
    assert (reply.json["status"], [reply.json["provider_id"]]) == ("matched", moved_to)
    assert [r["provider_id"] for r in api.get("/clients/me", sc.client).json["rooms"]] == moved_to
    assert _status(api, sc, pending.json["id"]) == "cancelled"  # the handover was finished by the retry
