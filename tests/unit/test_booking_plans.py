"""Booking transitions planned as data (domain.booking_plans): each plan's writes and notices.

Pure unit tier: no AWS, no moto, no wiring. A scenario is a stored booking built relative to a
fixed `NOW` (`booking(status=..., starts_in=hours(23), plan_kind=..., purchased=...)`), and a
test asserts the exact write objects and notices a plan returns, so each test reads like the
rule it proves (SPEC §2 "Live sessions", "Plans and credits").
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import credits as policy
from chalicelib.domain.booking_plans import (
    DropTimer, timers_held,
    Booking, Change, Charge, Claims, Credit, CreditChoice, NewBooking, NewLink, Notice, Numbers, ReturnCredit,
    CheckBooking, RoomNote, SettleTimer, SpendCredit, Timer, UpdateBooking, UseLink, confirmed_timers, credit_release,
    new_booking, plan_cancel, plan_complete, plan_confirm, plan_create, plan_decline, plan_expire, plan_join,
    plan_no_show, plan_outcome, plan_reminder, plan_reschedule, reschedule_credit, spend, with_timer_version,
)
from chalicelib.domain.errors import DomainError

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
N = Numbers()
SESSION = timedelta(minutes=45)

CLIENT_ID, PROVIDER_ID, ROOM_ID = "client-1", "provider-1", "room-1"
OLD_CLAIMS = ("claim#client-1#a", "claim#provider-1#a")
NEW_CLAIMS = ("claim#client-1#b", "claim#provider-1#b")
PRICE = 12000
LINK_ID = "link-1"
TIMER_ID = "timer-1"
JOIN_OPENS_MINUTES = 10
NO_SHOW_AFTER_MINUTES = 10
SKIP_WITHIN_HOURS = 1

SUBSCRIPTION, INSURANCE, EAP, REFERRAL = policy.SUBSCRIPTION, policy.INSURANCE, policy.EAP, policy.REFERRAL


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def minutes(m: float) -> timedelta:
    return timedelta(minutes=m)


def bucket_of(plan_kind: str) -> str:
    return "live#2026-02-15" if plan_kind == SUBSCRIPTION else policy.LIVE_ALL


def booking(status: str = "confirmed", starts_in: timedelta = hours(72), *, plan_kind: str = SUBSCRIPTION,
            purchased: bool = False, price: int = PRICE, version: int = 2, sequence: int = 1,
            booking_id: str = "booking-1", claims: tuple[str, ...] = OLD_CLAIMS, **more) -> Booking:
    """A stored booking starting `starts_in` after NOW (negative: already started)."""
    starts_at = NOW + starts_in
    credit = Credit(purchased=True) if purchased else Credit(bucket=bucket_of(plan_kind))
    return Booking(
        id=booking_id, client_id=CLIENT_ID, provider_id=PROVIDER_ID, room_id=ROOM_ID, modality="video",
        status=status, starts_at=starts_at, ends_at=starts_at + SESSION, version=version, series_id="series-1",
        created_at="2026-02-20T09:00:00Z", created_by="client",
        confirm_by=starts_at - hours(24) if status == "pending" else None, sequence=sequence, credit=credit,
        plan_kind=plan_kind, price_cents=price, claims=claims, **more)


def fresh(actor: str = "client", starts_in: timedelta = hours(72), *, plan_kind: str = SUBSCRIPTION,
          purchased: bool = False, price: int = PRICE, booking_id: str = "booking-new", claims=NEW_CLAIMS,
          **more) -> Booking:
    """A booking about to be created (by `new_booking`, as the service makes it)."""
    credit = Credit(purchased=True) if purchased else Credit(bucket=bucket_of(plan_kind))
    return new_booking(
        booking_id=booking_id, actor=actor, client_id=CLIENT_ID, provider_id=PROVIDER_ID, room_id=ROOM_ID,
        modality="video", starts_at=NOW + starts_in, now=NOW, n=N, credit=credit, plan_kind=plan_kind,
        price_cents=price, claims=claims, client_tz="Europe/London", provider_tz="America/New_York",
        iso_now="2026-03-02T09:00:00Z", **more)


def rescheduled(old: Booking, actor: str, starts_in: timedelta = hours(96), **more) -> Booking:
    """The new booking of a reschedule of `old` (same series, next sequence, pointing back)."""
    return fresh(actor, starts_in, plan_kind=old.plan_kind, purchased=old.credit.purchased,
                 price=old.price_cents, series_id=old.series_id, sequence=old.sequence + 1,
                 rescheduled_from=old.id, **more)


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


def writes_of(change: Change, kind: type) -> list:
    return [w for w in change.writes if isinstance(w, kind)]


def assert_writes(change: Change, *expected) -> None:
    """The change writes exactly `expected` (in any order, each once). Timers a change drops
    (`DropTimer`) are proven apart, in "timers a change drops" below."""
    left = [w for w in change.writes if not isinstance(w, DropTimer)]
    for item in expected:
        assert item in left, f"missing {item!r}\nin {change.writes!r}"
        left.remove(item)
    assert not left, f"unexpected writes {left!r}"


def ended(b: Booking, status: str, actor: str, at: datetime = NOW, **more) -> UpdateBooking:
    """The update that ends `b` under the optimistic lock (version and status read)."""
    return UpdateBooking(b.id, b.version, b.status, {"status": status, "ended_by": actor, "updated_at": at, **more})


def released(b: Booking) -> Claims:
    return Claims(b.id, b.ends_at, release=b.claims, old_booking_id=b.id)


def timers_when_confirmed(b: Booking, version: int) -> tuple[Timer, ...]:
    return (Timer(b.id, "outcome", b.ends_at + hours(24)),
            Timer(b.id, "reminder", b.starts_at - hours(24), version=version, which="long"),
            Timer(b.id, "reminder", b.starts_at - minutes(10), version=version, which="short"))


# --- shared pieces ---------------------------------------------------------------------------------

def test_a_returned_bucket_credit_goes_back_to_its_usage_counter():
    b = booking(plan_kind=INSURANCE)
    assert credit_release(b, policy.Outcome(policy.RETURN)) == (ReturnCredit(CLIENT_ID, "live#all"),)


def test_a_returned_purchased_credit_is_refunded_on_the_ledger():
    b = booking(purchased=True, price=9000)
    assert credit_release(b, policy.Outcome(policy.RETURN)) == (Charge(CLIENT_ID, b.id, "session_refund", -9000),)


def test_a_purchased_credit_bought_for_nothing_has_nothing_to_refund():
    assert credit_release(booking(purchased=True, price=0), policy.Outcome(policy.RETURN)) == ()


def test_a_forfeit_that_charges_the_price_writes_a_missed_session_line():
    b = booking(plan_kind=EAP, price=7000)
    assert credit_release(b, policy.Outcome(policy.FORFEIT, charge_price=True)) == (
        Charge(CLIENT_ID, b.id, "missed_session", 7000),)


@pytest.mark.parametrize("outcome", [policy.Outcome(policy.FORFEIT), policy.Outcome(policy.MOVE)],
                         ids=["forfeit_without_charge", "move"])
def test_a_forfeit_without_charge_or_a_move_writes_nothing_for_the_credit(outcome):
    assert credit_release(booking(plan_kind=INSURANCE), outcome) == ()


def test_a_confirmed_booking_gets_an_outcome_check_after_the_grace_and_both_reminders_at_its_version():
    b = booking("confirmed", hours(72))
    assert confirmed_timers(b, 7, NOW, N) == timers_when_confirmed(b, 7)


def test_a_reminder_whose_moment_passed_before_confirmation_is_not_set():
    b = booking("confirmed", hours(23))
    assert confirmed_timers(b, 1, NOW, N) == (
        Timer(b.id, "outcome", b.ends_at + hours(24)),
        Timer(b.id, "reminder", b.starts_at - minutes(10), version=1, which="short"))


def test_a_reminder_due_at_the_very_moment_of_confirmation_is_kept():
    b = booking("confirmed", hours(24))
    assert Timer(b.id, "reminder", NOW, version=1, which="long") in confirmed_timers(b, 1, NOW, N)


def test_the_timers_follow_the_numbers_in_the_settings():
    b = booking("confirmed", hours(72))
    n = Numbers(outcome_grace_hours=2, reminder_long_hours=48, reminder_short_minutes=15)
    assert confirmed_timers(b, 3, NOW, n) == (
        Timer(b.id, "outcome", b.ends_at + hours(2)),
        Timer(b.id, "reminder", b.starts_at - hours(48), version=3, which="long"),
        Timer(b.id, "reminder", b.starts_at - minutes(15), version=3, which="short"))


def test_a_new_booking_spends_a_credit_of_its_bucket_under_the_plan_limit():
    b = fresh(plan_kind=INSURANCE)
    assert spend(CLIENT_ID, b, 10) == (SpendCredit(CLIENT_ID, "live#all", 10),)


def test_a_purchased_new_booking_is_charged_its_price_instead():
    b = fresh(purchased=True, price=9000)
    assert spend(CLIENT_ID, b, 10) == (Charge(CLIENT_ID, b.id, "session_purchase", 9000),)


def test_a_client_booking_is_made_pending_with_a_deadline_24_hours_before_its_start():
    b = fresh("client", hours(72))
    assert (b.status, b.version, b.starts_at, b.ends_at) == ("pending", 1, NOW + hours(72), NOW + hours(72) + SESSION)
    assert b.confirm_by == NOW + hours(48)
    assert (b.series_id, b.created_by, b.claims) == ("booking-new", "client", NEW_CLAIMS)


def test_a_provider_booking_is_made_confirmed_without_a_deadline():
    b = fresh("provider", hours(3))
    assert (b.status, b.confirm_by, b.created_by) == ("confirmed", None, "provider")


# --- create ----------------------------------------------------------------------------------------

def test_a_client_booking_takes_its_time_and_credit_and_asks_the_provider_with_a_timer_and_a_link():
    b = fresh("client", hours(72))
    credit = (SpendCredit(CLIENT_ID, "live#2026-02-15", 4),)
    change = plan_create(b, credit, NOW, N, LINK_ID)
    assert (change.action, change.result) == ("created", b)
    assert_writes(change,
                  Claims(b.id, b.ends_at, add=NEW_CLAIMS),
                  SpendCredit(CLIENT_ID, "live#2026-02-15", 4),
                  NewBooking(b),
                  Timer(b.id, "confirm", NOW + hours(48)),
                  NewLink(LINK_ID, b.id, PROVIDER_ID, NOW + hours(48)))
    assert change.notices == (Notice(b, "requested", "booking_requested", ("provider",),
                                     extra={"link_id": LINK_ID, "confirm_by": NOW + hours(48)},
                                     moot_at=NOW + hours(48)),)
    assert change.claims_added == NEW_CLAIMS


def test_the_providers_link_expires_after_its_lifetime_when_the_deadline_is_further_away():
    b = fresh("client", timedelta(days=30))
    link, = writes_of(plan_create(b, (), NOW, N, LINK_ID), NewLink)
    assert link.expires_at == NOW + timedelta(days=7)


def test_a_provider_booking_sets_its_timers_and_invites_both_with_an_ics_request():
    b = fresh("provider", hours(72))
    change = plan_create(b, (SpendCredit(CLIENT_ID, "live#2026-02-15", 4),), NOW, N, LINK_ID)
    assert change.result.status == "confirmed"
    assert_writes(change, Claims(b.id, b.ends_at, add=NEW_CLAIMS), SpendCredit(CLIENT_ID, "live#2026-02-15", 4),
                  NewBooking(b), *timers_when_confirmed(b, 1))
    assert change.notices == (Notice(b, "confirmed", "booking_confirmed", ("client", "provider"), version=1,
                                     ics_method="REQUEST", sequence=0),)


def test_a_provider_booking_made_two_hours_ahead_gets_only_the_short_reminder():
    b = fresh("provider", hours(2))
    reminders = [t.which for t in writes_of(plan_create(b, (), NOW, N, LINK_ID), Timer) if t.purpose == "reminder"]
    assert reminders == ["short"]


def test_a_provider_booking_made_exactly_24_hours_ahead_keeps_its_24_hour_reminder():
    b = fresh("provider", hours(24))
    timers = writes_of(plan_create(b, (), NOW, N, LINK_ID), Timer)
    assert Timer(b.id, "reminder", NOW, version=1, which="long") in timers


def test_a_provider_booking_has_no_confirmation_link_nor_deadline_timer():
    change = plan_create(fresh("provider", hours(72)), (), NOW, N, LINK_ID)
    assert writes_of(change, NewLink) == []
    assert [t for t in writes_of(change, Timer) if t.purpose == "confirm"] == []


def test_a_purchased_booking_is_charged_as_a_session_purchase_in_the_same_change():
    b = fresh("client", hours(72), purchased=True, price=9000)
    change = plan_create(b, spend(CLIENT_ID, b, 4), NOW, N, LINK_ID)
    assert writes_of(change, Charge) == [Charge(CLIENT_ID, b.id, "session_purchase", 9000)]
    assert writes_of(change, SpendCredit) == []


# --- confirm ---------------------------------------------------------------------------------------

def test_a_confirmation_moves_version_and_sequence_on_under_the_pending_lock():
    b = booking("pending", hours(72), version=1, sequence=0)
    change = plan_confirm(b, NOW, N)
    done = replace(b, status="confirmed", version=2, sequence=1)
    assert (change.action, change.result) == ("confirmed", done)
    assert_writes(change,
                  UpdateBooking(b.id, 1, "pending", {"status": "confirmed", "sequence": 1, "updated_at": NOW}),
                  *timers_when_confirmed(done, 2))


def test_a_confirmation_invites_both_with_an_ics_request_at_the_new_sequence():
    b = booking("pending", hours(72), version=4, sequence=2)
    change = plan_confirm(b, NOW, N)
    assert change.notices == (Notice(change.result, "confirmed", "booking_confirmed", ("client", "provider"),
                                     version=5, ics_method="REQUEST", sequence=3),)


def test_a_confirmation_from_the_emailed_link_uses_the_link_in_the_same_change():
    link = UseLink("link-hash", "confirm")
    assert writes_of(plan_confirm(booking("pending"), NOW, N, link), UseLink) == [link]
    assert writes_of(plan_confirm(booking("pending"), NOW, N), UseLink) == []


def test_a_confirmation_past_the_deadline_is_refused_as_expired_before_any_sweep():
    b = booking("pending", hours(23))
    error = refused("invalid_state", plan_confirm, b, NOW, N)
    assert error.details["state"] == "expired" and "expired" in error.message


def test_a_confirmation_at_the_deadline_itself_is_refused():
    b = booking("pending", hours(24))
    assert refused("invalid_state", plan_confirm, b, NOW, N).details["state"] == "expired"


def test_a_confirmed_booking_cannot_be_confirmed_again():
    assert refused("invalid_state", plan_confirm, booking("confirmed"), NOW, N).details["state"] == "confirmed"


# --- decline ---------------------------------------------------------------------------------------

def test_a_decline_frees_the_time_returns_the_credit_and_tells_the_client():
    b = booking("pending", hours(72), version=1, sequence=0)
    change = plan_decline(b, NOW, N)
    done = replace(b, status="declined", version=2)
    assert (change.action, change.result) == ("declined", done)
    assert_writes(change, ended(b, "declined", "provider"), released(b), ReturnCredit(CLIENT_ID, "live#2026-02-15"))
    assert change.notices == (Notice(done, "declined", "booking_declined", ("client",), version=2),)


def test_a_declined_purchase_is_refunded():
    b = booking("pending", purchased=True, price=9000)
    change = plan_decline(b, NOW, N)
    assert writes_of(change, Charge) == [Charge(CLIENT_ID, b.id, "session_refund", -9000)]
    assert writes_of(change, ReturnCredit) == []


def test_a_decline_from_the_emailed_link_uses_the_link():
    link = UseLink("link-hash", "decline")
    assert writes_of(plan_decline(booking("pending"), NOW, N, link), UseLink) == [link]


def test_a_decline_past_the_deadline_is_refused_as_expired():
    assert refused("invalid_state", plan_decline, booking("pending", hours(20)), NOW, N).details["state"] == "expired"


# --- cancel ----------------------------------------------------------------------------------------

def test_a_client_cancelling_exactly_24_hours_ahead_is_not_late_and_gets_the_credit_back():
    b = booking("confirmed", hours(24), plan_kind=INSURANCE, version=3, sequence=1)
    change = plan_cancel(b, "client", NOW, N)
    assert (change.action, change.result) == ("cancelled", replace(b, status="cancelled", version=4, sequence=2))
    assert_writes(change, ended(b, "cancelled", "client", sequence=2), released(b), ReturnCredit(CLIENT_ID, "live#all"))


@pytest.mark.parametrize("plan_kind", [INSURANCE, EAP])
def test_a_late_client_cancellation_forfeits_the_credit_and_charges_the_payer_plan(plan_kind):
    b = booking("confirmed", hours(23), plan_kind=plan_kind, price=12000)
    change = plan_cancel(b, "client", NOW, N)
    assert change.result.status == "late_cancelled"
    assert_writes(change, ended(b, "late_cancelled", "client", sequence=b.sequence + 1), released(b),
                  Charge(CLIENT_ID, b.id, "missed_session", 12000))


def test_a_late_client_cancellation_forfeits_the_credit_and_charges_insurance():
    b = booking("confirmed", hours(1), plan_kind=INSURANCE)
    change = plan_cancel(b, "client", NOW, N)
    assert change.result.status == "late_cancelled"
    assert writes_of(change, Charge) == [Charge(CLIENT_ID, b.id, "missed_session", PRICE)]
    assert writes_of(change, ReturnCredit) == []


@pytest.mark.parametrize("plan_kind", [SUBSCRIPTION, REFERRAL])
def test_a_late_client_cancellation_on_a_plan_without_a_payer_forfeits_without_a_charge(plan_kind):
    b = booking("confirmed", hours(23), plan_kind=plan_kind)
    change = plan_cancel(b, "client", NOW, N)
    assert change.result.status == "late_cancelled"
    assert_writes(change, ended(b, "late_cancelled", "client", sequence=b.sequence + 1), released(b))


def test_a_late_client_cancellation_of_a_purchased_session_charges_nothing_more():
    b = booking("confirmed", hours(23), plan_kind=INSURANCE, purchased=True)
    change = plan_cancel(b, "client", NOW, N)
    assert change.result.status == "late_cancelled"
    assert writes_of(change, Charge) == [] and writes_of(change, ReturnCredit) == []


def test_a_provider_cancelling_late_still_returns_the_credit():
    b = booking("confirmed", hours(2), plan_kind=INSURANCE)
    change = plan_cancel(b, "provider", NOW, N)
    assert change.result.status == "cancelled"
    assert_writes(change, ended(b, "cancelled", "provider", sequence=b.sequence + 1), released(b),
                  ReturnCredit(CLIENT_ID, "live#all"))


def test_a_provider_cancelling_a_purchased_session_refunds_it():
    b = booking("confirmed", hours(2), purchased=True, price=9000)
    assert writes_of(plan_cancel(b, "provider", NOW, N), Charge) == [Charge(CLIENT_ID, b.id, "session_refund", -9000)]


def test_a_cancellation_by_haven_returns_the_credit_and_says_so():
    b = booking("confirmed", hours(2))
    change = plan_cancel(b, "system", NOW, N)
    assert change.result.status == "cancelled"
    assert writes_of(change, ReturnCredit) == [ReturnCredit(CLIENT_ID, "live#2026-02-15")]
    assert change.notices[0].extra == {"by": "by Haven"}


def test_cancelling_a_confirmed_booking_sends_both_an_ics_cancel_at_the_next_sequence():
    b = booking("confirmed", hours(72), version=3, sequence=1)
    change = plan_cancel(b, "provider", NOW, N)
    assert change.notices == (Notice(change.result, "cancelled", "booking_cancelled", ("client", "provider"),
                                     version=4, extra={"by": "by the provider"}, ics_method="CANCEL", sequence=2),)


def test_cancelling_a_pending_booking_tells_both_without_an_ics():
    b = booking("pending", hours(72), version=1, sequence=0)
    notice, = plan_cancel(b, "client", NOW, N).notices
    assert (notice.roles, notice.ics_method, notice.extra) == (("client", "provider"), None, {"by": "by the client"})


def test_the_cancellation_reason_is_stored_on_the_booking_and_never_reaches_the_notice():
    b = booking("confirmed", hours(72))
    change = plan_cancel(b, "client", NOW, N, reason="sealed:reason")
    update, = writes_of(change, UpdateBooking)
    assert update.set["cancel_reason"] == "sealed:reason"
    assert "sealed:reason" not in repr(change.notices)


def test_a_cancellation_without_a_reason_stores_none():
    update, = writes_of(plan_cancel(booking("confirmed"), "client", NOW, N), UpdateBooking)
    assert "cancel_reason" not in update.set


def test_a_session_that_has_started_cannot_be_cancelled():
    refused("cannot_cancel", plan_cancel, booking("confirmed", -minutes(1)), "provider", NOW, N)


# --- reschedule ------------------------------------------------------------------------------------

def test_a_client_rescheduling_a_day_ahead_hands_the_time_over_to_a_new_pending_booking():
    old = booking("confirmed", hours(24), version=3, sequence=1)
    new = rescheduled(old, "client", hours(96))
    change = plan_reschedule(old, new, "client", CreditChoice(old.credit), NOW, N, LINK_ID)
    assert (change.action, change.result, new.status) == ("rescheduled", new, "pending")
    assert_writes(change,
                  UpdateBooking(old.id, 3, "confirmed", {"status": "rescheduled", "rescheduled_to": new.id,
                                                         "ended_by": "client", "updated_at": NOW}),
                  Claims(new.id, new.ends_at, add=NEW_CLAIMS, release=OLD_CLAIMS, old_booking_id=old.id),
                  NewBooking(new),
                  Timer(new.id, "confirm", NOW + hours(72)),
                  NewLink(LINK_ID, new.id, PROVIDER_ID, NOW + hours(72)))


def test_a_client_reschedule_of_a_confirmed_booking_withdraws_the_invitation_and_asks_the_provider_again():
    old = booking("confirmed", hours(72), sequence=1)
    new = rescheduled(old, "client", hours(96))
    change = plan_reschedule(old, new, "client", CreditChoice(old.credit), NOW, N, LINK_ID)
    assert change.notices == (
        Notice(new, "requested", "booking_requested", ("provider",),
               extra={"link_id": LINK_ID, "confirm_by": new.confirm_by}, moot_at=new.confirm_by),
        Notice(new, "rescheduled", "booking_rescheduled", ("client", "provider"), key_booking_id=old.id,
               extra={"old_starts_at": old.starts_at, "next": "The provider will confirm the new time."},
               ics_method="CANCEL", sequence=2),
    )


def test_a_client_reschedule_of_a_pending_booking_sends_no_ics():
    old = booking("pending", hours(72), version=1, sequence=0)
    new = rescheduled(old, "client", hours(96))
    moved = plan_reschedule(old, new, "client", CreditChoice(old.credit), NOW, N, LINK_ID).notices[-1]
    assert (moved.event, moved.ics_method, moved.key_booking_id) == ("rescheduled", None, old.id)


def test_a_provider_reschedule_makes_the_new_booking_confirmed_with_one_rescheduled_invitation():
    old = booking("confirmed", hours(5), version=3, sequence=1)
    new = rescheduled(old, "provider", hours(72))
    change = plan_reschedule(old, new, "provider", CreditChoice(old.credit), NOW, N, LINK_ID)
    assert change.result.status == "confirmed"
    assert change.notices == (
        Notice(new, "rescheduled", "booking_rescheduled", ("client", "provider"), key_booking_id=old.id,
               extra={"old_starts_at": old.starts_at, "next": "It is confirmed."}, ics_method="REQUEST",
               sequence=2),)
    assert_writes(change,
                  UpdateBooking(old.id, 3, "confirmed", {"status": "rescheduled", "rescheduled_to": new.id,
                                                         "ended_by": "provider", "updated_at": NOW}),
                  Claims(new.id, new.ends_at, add=NEW_CLAIMS, release=OLD_CLAIMS, old_booking_id=old.id),
                  NewBooking(new), *timers_when_confirmed(new, 1))


def test_a_provider_reschedule_asks_for_no_confirmation():
    old = booking("confirmed", hours(72))
    change = plan_reschedule(old, rescheduled(old, "provider"), "provider", CreditChoice(old.credit), NOW, N,
                             LINK_ID)
    assert writes_of(change, NewLink) == [] and [n.event for n in change.notices] == ["rescheduled"]


def test_a_reschedule_across_periods_carries_the_credit_choice_writes():
    old = booking("confirmed", hours(72))
    new = replace(rescheduled(old, "client"), credit=Credit(bucket="live#2026-03-15"))
    choice = CreditChoice(new.credit, (ReturnCredit(CLIENT_ID, "live#2026-02-15"),
                                       SpendCredit(CLIENT_ID, "live#2026-03-15", 4)))
    change = plan_reschedule(old, new, "client", choice, NOW, N, LINK_ID)
    assert writes_of(change, ReturnCredit) == [ReturnCredit(CLIENT_ID, "live#2026-02-15")]
    assert writes_of(change, SpendCredit) == [SpendCredit(CLIENT_ID, "live#2026-03-15", 4)]
    assert writes_of(change, Charge) == []


def test_a_late_client_reschedule_forfeits_the_old_credit_and_charges_insurance():
    old = booking("confirmed", hours(23), plan_kind=INSURANCE, price=12000)
    new = rescheduled(old, "client", hours(72))
    own = (SpendCredit(CLIENT_ID, "live#all", 10),)
    change = plan_reschedule(old, new, "client", CreditChoice(new.credit, own), NOW, N, LINK_ID)
    assert writes_of(change, Charge) == [Charge(CLIENT_ID, old.id, "missed_session", 12000)]
    assert writes_of(change, SpendCredit) == list(own)
    assert writes_of(change, ReturnCredit) == []


def test_a_late_client_reschedule_on_a_subscription_forfeits_without_a_charge():
    old = booking("confirmed", hours(23))
    change = plan_reschedule(old, rescheduled(old, "client"), "client", CreditChoice(old.credit), NOW, N, LINK_ID)
    assert writes_of(change, Charge) == [] and writes_of(change, ReturnCredit) == []


def test_a_late_provider_reschedule_moves_the_credit_without_a_charge():
    old = booking("confirmed", hours(2), plan_kind=INSURANCE)
    change = plan_reschedule(old, rescheduled(old, "provider"), "provider", CreditChoice(old.credit), NOW, N,
                             LINK_ID)
    assert writes_of(change, Charge) == [] and writes_of(change, ReturnCredit) == []


def test_a_session_that_has_started_cannot_be_rescheduled():
    old = booking("confirmed", -minutes(5))
    refused("cannot_cancel", plan_reschedule, old, rescheduled(old, "provider"), "provider",
            CreditChoice(old.credit), NOW, N, LINK_ID)


def test_an_expired_request_cannot_be_rescheduled():
    old = booking("pending", hours(23))
    error = refused("invalid_state", plan_reschedule, old, rescheduled(old, "client"), "client",
                    CreditChoice(old.credit), NOW, N, LINK_ID)
    assert error.details["state"] == "expired"


def reschedule_outcome(actor: str, old: Booking) -> policy.Outcome:
    return policy.on_outcome(actor, "reschedule", old.starts_at, NOW, 24, old.plan_kind,
                             purchased=old.credit.purchased)


def test_a_timely_reschedule_within_the_same_bucket_keeps_the_credit():
    old = booking("confirmed", hours(72))
    assert reschedule_credit(old, reschedule_outcome("client", old), "live#2026-02-15") == "keep"


def test_a_timely_reschedule_into_another_period_spends_the_new_periods_credit():
    old = booking("confirmed", hours(72))
    assert reschedule_credit(old, reschedule_outcome("client", old), "live#2026-03-15") == "spend_new"


def test_a_purchased_credit_moves_as_it_is_across_periods():
    old = booking("confirmed", hours(72), purchased=True)
    assert reschedule_credit(old, reschedule_outcome("provider", old), "live#2026-03-15") == "keep"


def test_a_late_client_reschedule_needs_a_credit_of_its_own():
    old = booking("confirmed", hours(23))
    assert reschedule_credit(old, reschedule_outcome("client", old), "live#2026-02-15") == "own"


# --- join ------------------------------------------------------------------------------------------

def test_joining_records_the_first_join_without_moving_the_version():
    b = booking("confirmed", minutes(10), version=4)
    change = plan_join(b, "client", NOW, JOIN_OPENS_MINUTES)
    assert change.action == "joined"
    assert change.result == replace(b, client_joined_at=NOW)
    assert change.writes == (UpdateBooking(b.id, 4, "confirmed", keep_first={"client_joined_at": NOW}, bump=False),)
    assert change.notices == ()


def test_joining_again_keeps_the_first_join_time():
    first = NOW - minutes(3)
    b = booking("confirmed", minutes(5), provider_joined_at=first)
    change = plan_join(b, "provider", NOW, JOIN_OPENS_MINUTES)
    assert change.result.provider_joined_at == first
    assert change.writes[0].keep_first == {"provider_joined_at": NOW}


def test_joining_earlier_than_the_window_opens_is_outside_the_join_window():
    refused("outside_join_window", plan_join, booking("confirmed", minutes(10) + timedelta(seconds=1)), "client",
            NOW, JOIN_OPENS_MINUTES)


def test_joining_at_the_end_is_outside_the_join_window():
    refused("outside_join_window", plan_join, booking("confirmed", -SESSION), "client", NOW, JOIN_OPENS_MINUTES)


def test_a_pending_booking_cannot_be_joined():
    b = replace(booking("pending", minutes(5)), confirm_by=NOW + minutes(1))
    refused("invalid_state", plan_join, b, "client", NOW, JOIN_OPENS_MINUTES)


# --- complete --------------------------------------------------------------------------------------

def test_the_provider_completes_a_session_once_it_has_started():
    b = booking("confirmed", -minutes(30), version=3)
    change = plan_complete(b, NOW, N)
    assert (change.action, change.result) == ("completed", replace(b, status="completed", version=4))
    assert_writes(change, ended(b, "completed", "provider"))
    assert change.notices == ()


def test_a_session_cannot_be_completed_before_it_starts():
    error = refused("invalid_state", plan_complete, booking("confirmed", minutes(1)), NOW, N)
    assert error.details["state"] == "confirmed"


# --- no-show ---------------------------------------------------------------------------------------

def test_the_provider_cannot_mark_a_client_no_show_before_ten_minutes_after_the_start():
    b = booking("confirmed", -minutes(10) + timedelta(seconds=1))
    refused("invalid_state", plan_no_show, b, "provider", NOW, N, NO_SHOW_AFTER_MINUTES)


def test_a_client_no_show_from_ten_minutes_after_start_requires_the_client_not_joined():
    b = booking("confirmed", -minutes(10), version=3)
    change = plan_no_show(b, "provider", NOW, N, NO_SHOW_AFTER_MINUTES)
    assert (change.action, change.result) == ("client_no_show", replace(b, status="client_no_show", version=4))
    update, = writes_of(change, UpdateBooking)
    assert update == replace(ended(b, "client_no_show", "provider"), absent=("client_joined_at",))
    assert change.notices == ()


def test_a_client_no_show_forfeits_the_credit_and_charges_insurance():
    b = booking("confirmed", -minutes(20), plan_kind=INSURANCE, price=12000)
    change = plan_no_show(b, "provider", NOW, N, NO_SHOW_AFTER_MINUTES)
    assert writes_of(change, Charge) == [Charge(CLIENT_ID, b.id, "missed_session", 12000)]
    assert writes_of(change, ReturnCredit) == []


def test_a_client_no_show_of_a_purchased_session_charges_nothing_more():
    b = booking("confirmed", -minutes(20), plan_kind=INSURANCE, purchased=True)
    change = plan_no_show(b, "provider", NOW, N, NO_SHOW_AFTER_MINUTES)
    assert writes_of(change, Charge) == [] and writes_of(change, ReturnCredit) == []


def test_a_provider_no_show_on_a_purchased_session_refunds_it():
    b = booking("confirmed", -minutes(15), purchased=True, price=9000)
    change = plan_no_show(b, "client", NOW, N, NO_SHOW_AFTER_MINUTES)
    assert writes_of(change, Charge) == [Charge(CLIENT_ID, b.id, "session_refund", -9000)]


def test_a_client_no_show_on_a_subscription_just_forfeits():
    change = plan_no_show(booking("confirmed", -minutes(20)), "provider", NOW, N, NO_SHOW_AFTER_MINUTES)
    assert writes_of(change, Charge) == [] and writes_of(change, ReturnCredit) == []


def test_a_client_who_joined_cannot_be_marked_a_no_show():
    b = booking("confirmed", -minutes(20), client_joined_at=NOW - minutes(19))
    refused("invalid_state", plan_no_show, b, "provider", NOW, N, NO_SHOW_AFTER_MINUTES)


def test_a_client_reporting_a_provider_no_show_gets_the_credit_back_and_ops_are_told():
    b = booking("confirmed", -minutes(15), plan_kind=INSURANCE, client_joined_at=NOW - minutes(15))
    change = plan_no_show(b, "client", NOW, N, NO_SHOW_AFTER_MINUTES)
    done = replace(b, status="provider_no_show", version=b.version + 1)
    assert (change.action, change.result) == ("provider_no_show", done)
    assert_writes(change, replace(ended(b, "provider_no_show", "client"), absent=("provider_joined_at",)),
                  ReturnCredit(CLIENT_ID, "live#all"))
    assert change.notices == (Notice(done, "provider_no_show", "booking_provider_no_show_ops", ("ops",)),)


def test_a_provider_who_joined_cannot_be_reported_a_no_show():
    b = booking("confirmed", -minutes(15), provider_joined_at=NOW - minutes(14))
    refused("invalid_state", plan_no_show, b, "client", NOW, N, NO_SHOW_AFTER_MINUTES)


def test_a_no_show_cannot_be_reported_once_the_clock_has_settled_the_outcome():
    b = booking("confirmed", -(SESSION + hours(24)))
    assert refused("invalid_state", plan_no_show, b, "client", NOW, N,
                   NO_SHOW_AFTER_MINUTES).details["state"] == "unresolved"


# --- expiry (deadlines sweep) ----------------------------------------------------------------------

def test_a_request_before_its_deadline_does_not_expire():
    assert plan_expire(booking("pending", hours(24) + timedelta(seconds=1)), TIMER_ID, NOW, N) is None


def test_a_booking_no_longer_pending_does_not_expire():
    assert plan_expire(booking("confirmed", hours(23)), TIMER_ID, NOW, N) is None


def test_a_request_at_its_deadline_expires_frees_its_time_returns_its_credit_and_tells_the_client():
    b = booking("pending", hours(24), version=1)
    change = plan_expire(b, TIMER_ID, NOW, N)
    done = replace(b, status="expired", version=2)
    assert (change.action, change.result) == ("expired", done)
    assert_writes(change, ended(b, "expired", "system"), released(b), ReturnCredit(CLIENT_ID, "live#2026-02-15"),
                  SettleTimer(TIMER_ID, "expired"))
    assert change.notices == (Notice(done, "expired", "booking_expired", ("client",), version=2),
                              RoomNote(done, "expired", "expired", version=2))


def test_an_expiry_found_by_a_request_settles_no_timer():
    change = plan_expire(booking("pending", hours(20)), None, NOW, N)
    assert writes_of(change, SettleTimer) == []


def test_an_expired_purchase_is_refunded():
    b = booking("pending", hours(20), purchased=True, price=9000)
    assert writes_of(plan_expire(b, TIMER_ID, NOW, N), Charge) == [Charge(CLIENT_ID, b.id, "session_refund", -9000)]


# --- outcome (deadlines sweep) ---------------------------------------------------------------------

def test_no_outcome_is_decided_before_the_grace_after_the_end():
    b = booking("confirmed", -(SESSION + hours(24)) + timedelta(seconds=1))
    assert plan_outcome(b, TIMER_ID, NOW, N) is None


def test_a_booking_that_already_has_an_outcome_is_left_alone():
    assert plan_outcome(booking("completed", -hours(30)), TIMER_ID, NOW, N) is None


def test_a_session_both_joined_is_completed_when_the_grace_ends():
    b = booking("confirmed", -(SESSION + hours(24)), client_joined_at=NOW - hours(25),
                provider_joined_at=NOW - hours(25))
    change = plan_outcome(b, TIMER_ID, NOW, N)
    assert (change.action, change.result) == ("completed", replace(b, status="completed", version=b.version + 1))
    assert_writes(change, ended(b, "completed", "system"), SettleTimer(TIMER_ID, "completed"))
    assert change.notices == ()


def test_a_session_not_both_joined_is_unresolved_and_ops_are_told():
    b = booking("confirmed", -hours(30), provider_joined_at=NOW - hours(30))
    change = plan_outcome(b, TIMER_ID, NOW, N)
    done = replace(b, status="unresolved", version=b.version + 1)
    assert (change.action, change.result) == ("unresolved", done)
    assert_writes(change, ended(b, "unresolved", "system"), SettleTimer(TIMER_ID, "unresolved"))
    assert change.notices == (Notice(done, "unresolved", "booking_unresolved_ops", ("ops",)),)


def test_an_outcome_frees_no_credit():
    b = booking("confirmed", -hours(30), plan_kind=INSURANCE)
    change = plan_outcome(b, TIMER_ID, NOW, N)
    assert writes_of(change, ReturnCredit) == [] and writes_of(change, Charge) == []


# --- reminders (reminders sweep) -------------------------------------------------------------------

def remind(b: Booking, which: str) -> Change:
    """The reminder timer set for `b` at its current version, run at NOW."""
    return plan_reminder(b, TIMER_ID, which, b.version, NOW, N, SKIP_WITHIN_HOURS)


def test_a_24_hour_reminder_goes_to_both_by_email_and_in_the_room():
    b = booking("confirmed", hours(24), version=3)
    change = remind(b, "long")
    assert (change.action, change.result) == ("reminded", b)
    assert change.writes == (SettleTimer(TIMER_ID, "sent"), CheckBooking(b.id, 3, "confirmed"))
    assert change.notices == (Notice(b, "remind_long", "booking_reminder_long", ("client", "provider"), version=3,
                                     guarded=True, moot_at=b.starts_at - hours(SKIP_WITHIN_HOURS)),
                              RoomNote(b, "remind_long", "remind_long", version=3, join_link=True))


def test_a_10_minute_reminder_links_to_the_join_page():
    """Each recipient's own link is rendered when the email is sent (never planned or stored)."""
    b = booking("confirmed", minutes(10), version=3)
    change = remind(b, "short")
    assert change.writes == (SettleTimer(TIMER_ID, "sent"), CheckBooking(b.id, 3, "confirmed"))
    assert change.notices == (
        Notice(b, "remind_short", "booking_reminder_short", ("client", "provider"), version=3,
               extra={"join_link": True}, guarded=True, moot_at=b.ends_at),
        RoomNote(b, "remind_short", "remind_short", version=3, join_link=True))


def test_a_reminder_timer_carries_the_booking_so_its_sweep_reads_nothing_more():
    b = booking("confirmed", hours(48), version=3)
    reminders = [t for t in confirmed_timers(b, 3, NOW, N) if t.purpose == "reminder"]
    assert [t.booking for t in reminders] == [b, b]


def test_the_24_hour_reminder_email_carries_no_join_page():
    notice = remind(booking("confirmed", hours(24)), "long").notices[0]
    assert notice.extra == {}


@pytest.mark.parametrize("status", ["pending", "cancelled", "rescheduled", "late_cancelled"])
def test_a_reminder_goes_only_to_a_confirmed_booking(status):
    b = booking(status, hours(30))
    change = plan_reminder(b, TIMER_ID, "long", b.version, NOW, N, SKIP_WITHIN_HOURS)
    assert (change.action, change.writes, change.notices) == ("skipped", (SettleTimer(TIMER_ID, "skipped"),), ())


def test_a_reminder_set_for_an_earlier_version_is_skipped():
    b = booking("confirmed", hours(24), version=3)
    change = plan_reminder(b, TIMER_ID, "long", 2, NOW, N, SKIP_WITHIN_HOURS)
    assert (change.action, change.notices) == ("skipped", ())


def test_a_reminder_for_a_booking_that_is_gone_is_skipped():
    change = plan_reminder(None, TIMER_ID, "short", 1, NOW, N, SKIP_WITHIN_HOURS)
    assert change == Change("skipped", None, (SettleTimer(TIMER_ID, "skipped"),))


def test_a_24_hour_reminder_not_sent_by_one_hour_before_start_is_skipped():
    assert remind(booking("confirmed", hours(1)), "long").action == "skipped"
    assert remind(booking("confirmed", hours(1) + timedelta(seconds=1)), "long").action == "reminded"


def test_the_skip_window_of_the_24_hour_reminder_is_a_parameter():
    b = booking("confirmed", hours(3))
    assert plan_reminder(b, TIMER_ID, "long", b.version, NOW, N, 4).action == "skipped"
    assert plan_reminder(b, TIMER_ID, "long", b.version, NOW, N, 2).action == "reminded"


def test_a_10_minute_reminder_after_the_end_is_skipped():
    assert remind(booking("confirmed", -SESSION), "short").action == "skipped"
    assert remind(booking("confirmed", -SESSION + timedelta(seconds=1)), "short").action == "reminded"


def test_settling_a_due_item_is_conditioned_on_the_version_the_sweep_read():
    b = booking("pending", hours(20))
    change = with_timer_version(plan_expire(b, TIMER_ID, NOW, N), 5)
    assert writes_of(change, SettleTimer) == [SettleTimer(TIMER_ID, "expired", 5)]
    assert [w for w in change.writes if not isinstance(w, SettleTimer)] == \
        [w for w in plan_expire(b, TIMER_ID, NOW, N).writes if not isinstance(w, SettleTimer)]
    assert change.notices == plan_expire(b, TIMER_ID, NOW, N).notices


# --- timers a change drops (issue 9: a booking's due items leave the index with it) ---------------

def dropped(change: Change) -> set:
    return set(writes_of(change, DropTimer))


def held_when_confirmed(b: Booking) -> set:
    return {DropTimer(b.id, "reminder", b.version, "long"), DropTimer(b.id, "reminder", b.version, "short"),
            DropTimer(b.id, "outcome")}


def test_confirming_drops_the_confirmation_deadline():
    b = booking("pending", hours(72))
    assert dropped(plan_confirm(b, NOW, N)) == {DropTimer(b.id, "confirm")}


def test_declining_drops_the_confirmation_deadline():
    b = booking("pending", hours(72))
    assert dropped(plan_decline(b, NOW, N)) == {DropTimer(b.id, "confirm")}


def test_cancelling_a_confirmed_booking_drops_its_reminders_and_outcome_check():
    b = booking("confirmed", hours(72), version=3)
    assert dropped(plan_cancel(b, "client", NOW, N)) == held_when_confirmed(b)


def test_cancelling_a_pending_booking_drops_its_confirmation_deadline():
    b = booking("pending", hours(72))
    assert dropped(plan_cancel(b, "provider", NOW, N)) == {DropTimer(b.id, "confirm")}


def test_a_reschedule_drops_the_old_bookings_timers_and_sets_the_new_ones():
    old = booking("confirmed", hours(72), version=2)
    new = rescheduled(old, "provider")
    change = plan_reschedule(old, new, "provider", CreditChoice(old.credit), NOW, N, "link")
    assert dropped(change) == held_when_confirmed(old)
    assert {t.booking_id for t in writes_of(change, Timer)} == {new.id}


def test_completing_drops_what_is_left_of_the_reminders_and_the_outcome_check():
    b = booking("confirmed", -minutes(50), version=2)
    assert dropped(plan_complete(b, NOW, N)) == held_when_confirmed(b)


def test_the_outcome_sweep_settles_its_own_check_and_drops_only_the_reminders():
    b = booking("confirmed", -hours(30), version=2)
    change = plan_outcome(b, "t-outcome", NOW, N)
    assert dropped(change) == held_when_confirmed(b) - {DropTimer(b.id, "outcome")}


def test_a_booking_that_ended_holds_no_timers():
    assert timers_held(booking("cancelled")) == ()


def test_a_request_email_means_nothing_after_the_confirmation_deadline():
    b = fresh("client", hours(72))
    change = plan_create(b, (), NOW, N, LINK_ID)
    assert [n.moot_at for n in change.notices] == [b.confirm_by]


def test_reminders_are_guarded_by_the_booking_version_and_moot_when_their_moment_is_gone():
    b = booking("confirmed", hours(20), version=3)
    long_notice = remind(b, "long").notices[0]
    short_notice = remind(replace(b, starts_at=NOW + minutes(10), ends_at=NOW + minutes(55)), "short").notices[0]
    assert (long_notice.guarded, long_notice.moot_at) == (True, b.starts_at - hours(SKIP_WITHIN_HOURS))
    assert (short_notice.guarded, short_notice.moot_at) == (True, NOW + minutes(55))
