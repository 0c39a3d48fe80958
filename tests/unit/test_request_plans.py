"""The session-request planners (domain.request_plans): what each transition writes, as data."""
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain import booking_plans as plans
from chalicelib.domain import request_plans as rp
from chalicelib.domain import session_requests as sr
from chalicelib.domain.errors import DomainError

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
WED_10_NY = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
THU_14_NY = datetime(2026, 11, 26, 19, 0, tzinfo=timezone.utc)
LOCK = "client-1#open_request"
N = rp.Numbers()


def request(**more) -> rp.Request:
    base = dict(id="sr_1", client_id="client-1", provider_id="provider-1", modality="video", status=sr.REQUESTED,
                requested_at=NOW, respond_by=NOW + timedelta(hours=48),
                preferred=(sr.Preferred(date(2026, 11, 25), "morning"), sr.Preferred(date(2026, 11, 26), "afternoon"),
                           sr.Preferred(date(2026, 11, 27), "evening")),
                client_tz="America/New_York", provider_tz="America/New_York", claims=(LOCK,))
    return rp.Request(**{**base, **more})


def held(*starts):
    return tuple((f"provider-1#{s:%H%M}", f"client-1#{s:%H%M}") for s in starts)


def proposed(now=NOW):
    starts = (WED_10_NY, THU_14_NY)
    return rp.plan_propose(request(), starts, held(*starts), now, N).result


def of(change, kind):
    return [w for w in change.writes if isinstance(w, kind)]


def test_a_new_request_takes_the_clients_lock_sets_its_deadline_and_the_providers_nudge():
    change = rp.plan_create(request(), NOW + timedelta(days=4), N)
    [claims] = of(change, plans.Claims)
    assert claims.add == (LOCK,) and claims.booking_id == "sr_1"
    assert [(t.purpose, t.due_at) for t in of(change, rp.RequestTimer)] == [
        (rp.RESPOND, NOW + timedelta(hours=48)), (rp.NUDGE_PROVIDER, NOW + timedelta(hours=24))]
    assert [(n.template, n.roles) for n in change.notices] == [("session_request_received", ("provider",))]


def test_proposing_holds_every_proposed_time_in_the_same_change_as_the_new_state():
    starts = (WED_10_NY, THU_14_NY)
    change = rp.plan_propose(request(), starts, held(*starts), NOW, N)
    [update] = of(change, rp.UpdateRequest)
    [claims] = of(change, plans.Claims)
    assert (update.version, update.status, update.set["status"]) == (1, sr.REQUESTED, sr.PROPOSED)
    assert claims.add == tuple(c for pair in held(*starts) for c in pair) and claims.release == ()
    assert change.result.claims == (LOCK, *claims.add) and change.result.version == 2
    assert change.result.accept_by == NOW + timedelta(hours=48)
    assert {t.purpose for t in of(change, rp.RequestTimer)} == {rp.ACCEPT, rp.NUDGE_CLIENT}


def test_ending_a_request_releases_everything_it_holds_under_its_own_name():
    req = proposed()
    for change in (rp.plan_withdraw(req, NOW), rp.plan_provider_gone(req, NOW),
                   rp.plan_by_clock(req, req.accept_by)):
        [claims] = of(change, plans.Claims)
        assert claims.release == req.claims and claims.add == () and claims.old_booking_id == "sr_1"
        [update] = of(change, rp.UpdateRequest)
        assert update.status == sr.PROPOSED and update.set["claims"] == ()


def test_the_clock_decides_expiry_and_lapse_and_their_end_is_the_deadline():
    assert rp.plan_by_clock(request(), NOW + timedelta(hours=47)) is None
    expired = rp.plan_by_clock(request(), NOW + timedelta(days=5), "t1", 3)
    assert expired.action == sr.EXPIRED and expired.result.ended_at == NOW + timedelta(hours=48)
    assert of(expired, plans.SettleTimer) == [plans.SettleTimer("t1", sr.EXPIRED, 3)]
    lapsed = rp.plan_by_clock(proposed(), NOW + timedelta(hours=48))
    assert lapsed.action == sr.LAPSED and lapsed.notices[0].template == "session_request_lapsed"


def test_accepting_hands_the_held_time_to_the_booking_and_releases_the_rest_in_one_change():
    req = proposed()
    ends = THU_14_NY + timedelta(minutes=45)
    booking = plans.Booking(id="bk_1", client_id="client-1", provider_id="provider-1", room_id="room", modality="video",
                            status="confirmed", starts_at=THU_14_NY, ends_at=ends, version=1, series_id="bk_1",
                            created_at="now", created_by="client", claims=held(THU_14_NY)[0])
    spend = (plans.SpendCredit("client-1", "live#all", 4),)
    change = rp.plan_accept(req, booking, spend, NOW, N, plans.Numbers())
    [claims] = of(change, plans.Claims)
    assert claims.booking_id == "bk_1" and claims.old_booking_id == "sr_1"
    assert set(claims.add) <= set(claims.release) == set(req.claims)  # handed over, never freed in between
    assert of(change, plans.SpendCredit) == list(spend) and of(change, plans.NewBooking)[0].booking is booking
    assert of(change, rp.UpdateRequest)[0].set["booking_id"] == "bk_1"
    assert [(n.template, n.ics_method) for n in change.notices] == [("booking_confirmed", "REQUEST")]


def test_acceptance_is_refused_by_the_rules_before_anything_is_planned():
    req = proposed(now=WED_10_NY - timedelta(hours=14))  # accept_by: Thu 18:00Z
    booking = plans.Booking(id="bk_1", client_id="c", provider_id="p", room_id="r", modality="video",
                            status="confirmed", starts_at=WED_10_NY, ends_at=WED_10_NY + timedelta(minutes=45),
                            version=1, series_id="bk_1", created_at="now", created_by="client")
    with pytest.raises(DomainError) as refused:
        rp.plan_accept(req, booking, (), WED_10_NY - timedelta(minutes=30), N, plans.Numbers())
    assert refused.value.code == "too_soon"  # less than 1 h before it starts


def test_a_nudge_goes_out_once_and_only_while_the_request_waits_for_that_answer():
    req = request()
    sent = rp.plan_nudge(req, "t", rp.NUDGE_PROVIDER, 1, NOW + timedelta(hours=24), 1)
    assert sent.action == "nudged" and of(sent, plans.SettleTimer) == [plans.SettleTimer("t", "sent", 1)]
    answered = rp.plan_nudge(proposed(), "t", rp.NUDGE_PROVIDER, 1, NOW + timedelta(hours=24), 1)
    assert answered.action == "skipped" and answered.notices == ()
    assert rp.plan_nudge(None, "t", rp.NUDGE_CLIENT, 2, NOW, 1).action == "skipped"


def test_the_provider_declines_only_an_unanswered_request():
    assert rp.plan_decline(request(), NOW, b"sealed").result.status == sr.DECLINED
    with pytest.raises(DomainError) as refused:
        rp.plan_decline(proposed(), NOW)
    assert refused.value.code == "invalid_state"
