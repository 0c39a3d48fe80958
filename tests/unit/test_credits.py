"""The credit policy: buckets, limits, credits left, and the return/forfeit table (SPEC §2)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.credits import (
    Outcome, Plan, credit_bucket, credits_left, has_credit, is_late, live_limit, messaging_bucket,
    messaging_limit, on_outcome, reply_promise_applies,
)
from chalicelib.domain.errors import DomainError, TooFar

UTC = timezone.utc


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


SUBSCRIPTION = Plan("subscription", live_credits=4, session_price_cents=9000, period_anchor=date(2026, 1, 15))
INSURANCE = Plan("insurance", live_credits=10, messaging_credits=3, session_price_cents=12000)
EAP = Plan("eap", live_credits=6, messaging_credits=2, session_price_cents=10000)
REFERRAL = Plan("referral", live_credits=8)
NOW = utc(2026, 2, 20, 12)  # inside the period 2026-02-15 … 2026-03-15


# --- buckets -----------------------------------------------------------------------------------

def test_a_subscription_booking_draws_from_the_period_in_which_the_session_starts():
    assert credit_bucket(SUBSCRIPTION, "UTC", utc(2026, 3, 14, 23, 30), NOW) == "live#2026-02-15"
    assert credit_bucket(SUBSCRIPTION, "UTC", utc(2026, 3, 15, 0, 0), NOW) == "live#2026-03-15"


def test_the_clients_time_zone_decides_the_period_of_a_session():
    # 03:00Z on the 15th is still the 14th in New York.
    assert credit_bucket(SUBSCRIPTION, "America/New_York", utc(2026, 3, 15, 3), NOW) == "live#2026-02-15"


def test_a_subscription_booking_may_reach_to_the_end_of_the_next_period():
    assert credit_bucket(SUBSCRIPTION, "UTC", utc(2026, 4, 14, 23, 30), NOW) == "live#2026-03-15"


def test_a_subscription_booking_after_the_next_period_is_too_far():
    with pytest.raises(TooFar) as raised:
        credit_bucket(SUBSCRIPTION, "UTC", utc(2026, 4, 15, 0, 0), NOW)
    assert raised.value.code == "too_far" and raised.value.status == 400
    assert raised.value.details["latest"] == "2026-04-15T00:00:00Z"


def test_the_booking_horizon_moves_with_now_not_with_the_session():
    # On the first instant of the next period, "next" is already the one after.
    assert credit_bucket(SUBSCRIPTION, "UTC", utc(2026, 5, 14, 12), utc(2026, 3, 15)) == "live#2026-04-15"


def test_a_subscription_session_before_the_first_period_has_no_credit():
    plan = Plan("subscription", live_credits=4, period_anchor=date(2026, 6, 1))
    with pytest.raises(DomainError) as raised:
        credit_bucket(plan, "UTC", utc(2026, 5, 30), utc(2026, 5, 1))
    assert raised.value.code == "no_credit"


def test_before_the_anchor_bookings_reach_to_the_end_of_the_first_period():
    plan = Plan("subscription", live_credits=4, period_anchor=date(2026, 6, 1))
    assert credit_bucket(plan, "UTC", utc(2026, 6, 30, 12), utc(2026, 5, 20)) == "live#2026-06-01"
    with pytest.raises(TooFar):
        credit_bucket(plan, "UTC", utc(2026, 7, 1, 12), utc(2026, 5, 20))


@pytest.mark.parametrize("plan", [INSURANCE, EAP, REFERRAL], ids=lambda p: p.kind)
def test_counted_plans_draw_from_one_bucket_however_far_ahead(plan):
    assert credit_bucket(plan, "UTC", utc(2027, 12, 1), NOW) == "live#all"


@pytest.mark.parametrize("plan, bucket", [
    (SUBSCRIPTION, None), (INSURANCE, "messaging#all"), (EAP, "messaging#all"), (REFERRAL, "messaging#all"),
], ids=lambda v: getattr(v, "kind", v))
def test_messaging_bucket(plan, bucket):
    assert messaging_bucket(plan) == bucket


# --- limits and credits left -------------------------------------------------------------------

@pytest.mark.parametrize("plan, live, messaging", [
    (SUBSCRIPTION, 4, None),   # per period; messaging unlimited
    (INSURANCE, 10, 3),
    (EAP, 6, 2),
    (REFERRAL, 8, 0),
], ids=lambda v: getattr(v, "kind", v))
def test_limits_per_plan_kind(plan, live, messaging):
    assert live_limit(plan) == live
    assert messaging_limit(plan) == messaging


def test_credits_left_on_a_subscription_count_the_current_period_only():
    usage = {"live#2026-01-15": 4, "live#2026-02-15": 1, "live#2026-03-15": 2}
    assert credits_left(SUBSCRIPTION, usage, "UTC", NOW) == {"live": 3, "messaging": None}


def test_period_credits_do_not_carry_over():
    assert credits_left(SUBSCRIPTION, {"live#2026-02-15": 0}, "UTC", utc(2026, 3, 15)) == {"live": 4, "messaging": None}


def test_credits_left_on_counted_plans_count_everything():
    usage = {"live#all": 7, "messaging#all": 1}
    assert credits_left(INSURANCE, usage, "UTC", NOW) == {"live": 3, "messaging": 2}


def test_credits_left_never_go_below_zero():
    assert credits_left(EAP, {"live#all": 9, "messaging#all": 5}, "UTC", NOW) == {"live": 0, "messaging": 0}


def test_credits_left_before_the_anchor_show_the_first_period():
    plan = Plan("subscription", live_credits=4, period_anchor=date(2026, 6, 1))
    assert credits_left(plan, {"live#2026-06-01": 1}, "UTC", utc(2026, 5, 20)) == {"live": 3, "messaging": None}


def test_has_credit_until_the_bucket_is_used_up():
    assert has_credit(INSURANCE, {"live#all": 9}, "live#all")
    assert not has_credit(INSURANCE, {"live#all": 10}, "live#all")
    assert has_credit(INSURANCE, {"messaging#all": 2}, "messaging#all")
    assert not has_credit(INSURANCE, {"messaging#all": 3}, "messaging#all")


def test_plans_come_from_their_stored_shape():
    plan = Plan.from_dict({"kind": "subscription", "live_credits": 4, "messaging_credits": 0,
                           "session_price_cents": 9000, "period_anchor": "2026-01-15"})
    assert plan == SUBSCRIPTION
    assert credit_bucket({"kind": "eap", "live_credits": 1}, "UTC", NOW, NOW) == "live#all"


@pytest.mark.parametrize("fields", [
    {"kind": "gift"},
    {"kind": "insurance", "live_credits": -1},
    {"kind": "insurance", "live_credits": True},
    {"kind": "subscription", "live_credits": 4},  # no anchor
])
def test_bad_plans_are_refused(fields):
    with pytest.raises(ValueError):
        Plan(**fields)


# --- reply promise -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, psychiatry, active, applies", [
    ("subscription", False, False, True),
    ("subscription", True, False, False),
    ("insurance", False, True, True),
    ("insurance", False, False, False),
    ("eap", False, True, True),
    ("eap", True, True, False),
    ("referral", False, True, False),
    (None, False, False, False),
])
def test_reply_promise_applies(kind, psychiatry, active, applies):
    assert reply_promise_applies(kind, psychiatry, active) is applies


# --- return / forfeit / move -----------------------------------------------------------------------

START = utc(2026, 3, 10, 15)
EARLY = START - timedelta(hours=30)
EXACTLY_24H = START - timedelta(hours=24)
LATE = START - timedelta(hours=23, minutes=59)
AFTER_START = START + timedelta(minutes=15)

RETURN = Outcome("return")
MOVE = Outcome("move")
FORFEIT_LATE = Outcome("forfeit", charge_price=False, late=True)
FORFEIT_LATE_CHARGED = Outcome("forfeit", charge_price=True, late=True)
NO_SHOW = Outcome("forfeit", charge_price=False, late=False)
NO_SHOW_CHARGED = Outcome("forfeit", charge_price=True, late=False)

OUTCOMES = [
    # actor,     action,             now,          plan kind,      outcome
    ("provider", "cancel",           EARLY,        "subscription", RETURN),
    ("provider", "cancel",           LATE,         "insurance",    RETURN),   # provider cancel always returns
    ("provider", "decline",          EARLY,        "eap",          RETURN),
    ("system",   "expire",           EXACTLY_24H,  "insurance",    RETURN),
    ("system",   "cancel",           LATE,         "eap",          RETURN),   # e.g. change of provider
    ("client",   "no_show_provider", AFTER_START,  "insurance",    RETURN),
    ("system",   "no_show_provider", AFTER_START,  "subscription", RETURN),
    ("provider", "reschedule",       LATE,         "subscription", MOVE),
    ("provider", "reschedule",       LATE,         "insurance",    MOVE),
    ("client",   "cancel",           EARLY,        "subscription", RETURN),
    ("client",   "cancel",           EXACTLY_24H,  "insurance",    RETURN),   # exactly 24 h is not late
    ("client",   "cancel",           LATE,         "subscription", FORFEIT_LATE),
    ("client",   "cancel",           LATE,         "referral",     FORFEIT_LATE),
    ("client",   "cancel",           LATE,         "insurance",    FORFEIT_LATE_CHARGED),
    ("client",   "cancel",           LATE,         "eap",          FORFEIT_LATE_CHARGED),
    ("client",   "reschedule",       EARLY,        "eap",          MOVE),
    ("client",   "reschedule",       EXACTLY_24H,  "subscription", MOVE),
    ("client",   "reschedule",       LATE,         "subscription", FORFEIT_LATE),
    ("client",   "reschedule",       LATE,         "insurance",    FORFEIT_LATE_CHARGED),
    ("provider", "no_show_client",   AFTER_START,  "subscription", NO_SHOW),
    ("provider", "no_show_client",   AFTER_START,  "referral",     NO_SHOW),
    ("provider", "no_show_client",   AFTER_START,  "insurance",    NO_SHOW_CHARGED),
    ("provider", "no_show_client",   AFTER_START,  "eap",          NO_SHOW_CHARGED),
]


@pytest.mark.parametrize("actor, action, now, kind, outcome", OUTCOMES,
                         ids=[f"{a}-{b}-{k}-{i}" for i, (a, b, _, k, _) in enumerate(OUTCOMES)])
def test_credit_outcome_table(actor, action, now, kind, outcome):
    assert on_outcome(actor, action, START, now, 24, kind) == outcome


def test_a_late_cancellation_forfeits_the_credit():
    assert on_outcome("client", "cancel", START, LATE, plan_kind="subscription").credit == "forfeit"


def test_a_purchased_credit_forfeited_is_not_charged_again():
    outcome = on_outcome("client", "cancel", START, LATE, plan_kind="insurance", purchased=True)
    assert outcome == Outcome("forfeit", charge_price=False, late=True)


def test_the_late_threshold_is_a_setting():
    assert on_outcome("client", "cancel", START, START - timedelta(hours=30), 48, "eap") == FORFEIT_LATE_CHARGED


def test_the_plan_kind_must_be_given():
    with pytest.raises(ValueError):
        on_outcome("client", "cancel", START, LATE)


def test_is_late_below_the_threshold_only():
    assert not is_late(START, EXACTLY_24H)
    assert is_late(START, EXACTLY_24H + timedelta(microseconds=1))


@pytest.mark.parametrize("actor, action", [
    ("client", "decline"), ("client", "expire"), ("client", "no_show_client"),
    ("provider", "expire"), ("provider", "no_show_provider"),
    ("system", "decline"), ("system", "reschedule"), ("system", "no_show_client"),
    ("ops", "cancel"), ("client", "delete"),
])
def test_impossible_outcomes_are_programming_errors(actor, action):
    with pytest.raises(ValueError):
        on_outcome(actor, action, START, EARLY, 24, "subscription")
