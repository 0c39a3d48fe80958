"""Discharges from a referral program: the three deadlines, open requests, notice first, the clock."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.discharges import (
    ACTIVE, DISCHARGED, NO_FIRST_BOOKING, NO_FOLLOW_UP, PROGRAM_ENDED, REASONS, WAITING, Deadline, DischargeFacts,
    client_status, deadline, notice_due, require_not_discharged,
)
from chalicelib.domain.errors import DomainError

UTC = timezone.utc
DAY = timedelta(days=1)
FIRST = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
PROGRAM_END = datetime(2026, 7, 10, 9, 0, tzinfo=UTC)


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def facts(**fields):
    return DischargeFacts(first_access=FIRST, program_ends_at=PROGRAM_END, **fields)


def sent(found: Deadline, at: datetime, base: DischargeFacts) -> DischargeFacts:
    """The same facts once `found`'s notice went out at `at`."""
    return replace(base, notices_sent={**base.notices_sent, found.notice_key: at})


def test_the_reasons_are_the_specs():
    assert REASONS == ("no_first_booking", "no_follow_up", "program_ended")


# --- no_first_booking --------------------------------------------------------------------------

NEVER_BOOKED = facts()
NFB_AT = utc(2026, 2, 9, 9)                               # first access + 30 days


def test_never_booking_is_discharged_30_days_after_first_access():
    found = deadline(NEVER_BOOKED, FIRST)
    assert found == Deadline(NO_FIRST_BOOKING, NFB_AT, NFB_AT - 7 * DAY, "no_first_booking:2026-02-09T09:00:00Z", False)


def test_the_notice_is_due_7_days_before_the_deadline_and_not_earlier():
    found = deadline(NEVER_BOOKED, FIRST)
    assert not notice_due(found, NFB_AT - 7 * DAY - timedelta(seconds=1))
    assert notice_due(found, NFB_AT - 7 * DAY)
    assert not notice_due(None, NFB_AT)


def test_with_the_notice_sent_on_time_the_client_is_discharged_at_the_deadline_itself():
    notice_at = NFB_AT - 7 * DAY
    noticed = sent(deadline(NEVER_BOOKED, notice_at), notice_at, NEVER_BOOKED)
    found = deadline(noticed, notice_at)
    assert (found.at, found.noticed) == (NFB_AT, True) and not notice_due(found, NFB_AT)
    assert client_status(ACTIVE, NFB_AT - timedelta(microseconds=1), noticed) == (ACTIVE, None)
    assert client_status(ACTIVE, NFB_AT, noticed) == (DISCHARGED, {"reason": NO_FIRST_BOOKING, "at": NFB_AT})
    assert client_status(ACTIVE, NFB_AT + 90 * DAY, noticed) == (DISCHARGED, {"reason": NO_FIRST_BOOKING, "at": NFB_AT})


def test_a_late_notice_pushes_the_deadline_to_7_days_after_it():
    late = utc(2026, 2, 3, 2, 0)                              # the daily sweep after the notice moment
    noticed = sent(deadline(NEVER_BOOKED, late), late, NEVER_BOOKED)
    assert deadline(noticed, late).at == utc(2026, 2, 10, 2, 0)
    assert client_status(ACTIVE, NFB_AT, noticed) == (ACTIVE, None)


def test_nobody_is_discharged_without_notice():
    now = NFB_AT + 20 * DAY
    found = deadline(NEVER_BOOKED, now)
    assert found.at == now + 7 * DAY and not found.noticed
    assert found.notice_at == now and notice_due(found, now)
    assert client_status(ACTIVE, now, NEVER_BOOKED) == (ACTIVE, None)


def test_sending_the_notice_now_does_not_change_the_deadline_it_announces():
    for now in (FIRST, NFB_AT - 7 * DAY, NFB_AT - DAY, NFB_AT + 3 * DAY):
        found = deadline(NEVER_BOOKED, now)
        after = deadline(sent(found, now, NEVER_BOOKED), now)
        assert (after.reason, after.at, after.notice_key, after.noticed) == (found.reason, found.at, found.notice_key, True)


def test_a_notice_sent_at_exactly_7_days_before_admits_the_deadline_exactly_7_days_later():
    now = NFB_AT - 5 * DAY
    noticed = sent(deadline(NEVER_BOOKED, now), now, NEVER_BOOKED)
    assert deadline(noticed, now).at == now + 7 * DAY


def test_a_booking_cancels_no_first_booking():
    assert deadline(facts(ever_booked=True), NFB_AT).reason == PROGRAM_ENDED
    assert deadline(facts(ever_booked=True, upcoming_booking=True), NFB_AT).reason == PROGRAM_ENDED


# --- no_follow_up ------------------------------------------------------------------------------

LAST_END = utc(2026, 3, 1, 10, 45)
NFU_AT = utc(2026, 3, 29, 10, 45)                          # last completed end + 28 days
FOLLOWING = facts(ever_booked=True, last_completed_end=LAST_END, booked_until=utc(2026, 3, 1, 10))


def test_no_follow_up_is_28_days_after_the_end_of_the_last_completed_session():
    found = deadline(FOLLOWING, LAST_END)
    assert (found.reason, found.at, found.notice_at) == (NO_FOLLOW_UP, NFU_AT, NFU_AT - 7 * DAY)
    assert found.notice_key == "no_follow_up:2026-03-29T10:45:00Z:2026-03-01T10:00:00Z"


def test_a_future_pending_or_confirmed_booking_holds_no_follow_up_off():
    assert deadline(replace(FOLLOWING, upcoming_booking=True), NFU_AT).reason == PROGRAM_ENDED


def test_a_booking_made_after_the_notice_voids_it_so_cancelling_it_cannot_discharge_retroactively():
    notice_at = NFU_AT - 7 * DAY
    noticed = sent(deadline(FOLLOWING, notice_at), notice_at, FOLLOWING)
    assert deadline(noticed, notice_at).at == NFU_AT
    # Booked on 25 March, the booking cancelled on 2 April: past the old deadline.
    cancelled_at = utc(2026, 4, 2, 12)
    after = replace(noticed, booked_until=cancelled_at)
    found = deadline(after, cancelled_at)
    assert (found.reason, found.noticed, found.at) == (NO_FOLLOW_UP, False, cancelled_at + 7 * DAY)
    assert notice_due(found, cancelled_at)
    assert client_status(ACTIVE, cancelled_at, after) == (ACTIVE, None)


def test_a_new_completed_session_starts_a_new_no_follow_up_deadline():
    later = replace(FOLLOWING, last_completed_end=utc(2026, 3, 20, 10, 45), booked_until=utc(2026, 3, 20, 10))
    assert deadline(later, NFU_AT).at == utc(2026, 4, 17, 10, 45)


def test_without_booked_until_the_last_session_end_names_the_notice():
    found = deadline(replace(FOLLOWING, booked_until=None), LAST_END)
    assert found.notice_key == "no_follow_up:2026-03-29T10:45:00Z:2026-03-01T10:45:00Z"


def test_a_client_who_booked_but_never_completed_a_session_waits_for_program_end():
    assert deadline(facts(ever_booked=True, booked_until=utc(2026, 1, 20)), utc(2026, 3, 1)).reason == PROGRAM_ENDED


# --- program_ended -----------------------------------------------------------------------------

def test_program_end_is_a_deadline_nothing_cancels():
    busy = facts(ever_booked=True, upcoming_booking=True, last_completed_end=utc(2026, 7, 1))
    found = deadline(busy, PROGRAM_END - 7 * DAY)
    assert (found.reason, found.at, found.notice_key) == (PROGRAM_ENDED, PROGRAM_END, "program_ended:2026-07-10T09:00:00Z")
    noticed = sent(found, PROGRAM_END - 7 * DAY, busy)
    assert client_status(WAITING, PROGRAM_END, noticed) == (DISCHARGED, {"reason": PROGRAM_ENDED, "at": PROGRAM_END})


def test_the_earliest_deadline_wins():
    short = replace(NEVER_BOOKED, program_ends_at=utc(2026, 2, 1))
    assert deadline(short, FIRST).reason == PROGRAM_ENDED
    following = replace(FOLLOWING, last_completed_end=utc(2026, 6, 20))
    assert deadline(following, utc(2026, 6, 20)).reason == PROGRAM_ENDED   # 18 July is after 10 July
    following = replace(FOLLOWING, last_completed_end=utc(2026, 6, 10))
    assert deadline(following, utc(2026, 6, 10)).reason == NO_FOLLOW_UP    # 8 July is before


@pytest.mark.parametrize("tied", [
    replace(NEVER_BOOKED, program_ends_at=NFB_AT),                                     # with no_first_booking
    facts(ever_booked=True, last_completed_end=PROGRAM_END - 28 * DAY),                # with no_follow_up
])
def test_a_tie_goes_to_program_ended(tied):
    found = deadline(tied, FIRST)
    assert (found.reason, found.at) == (PROGRAM_ENDED, tied.program_ends_at)


# --- open requests -----------------------------------------------------------------------------

@pytest.mark.parametrize("requests, expected", [
    (((NFB_AT - 2 * DAY, NFB_AT + timedelta(hours=1)),), NFB_AT + timedelta(hours=1)),   # open at it
    (((NFB_AT, NFB_AT + DAY),), NFB_AT + DAY),                          # opened at the deadline itself
    (((NFB_AT - 2 * DAY, NFB_AT),), NFB_AT),                            # ended at it: not open
    (((NFB_AT + DAY, NFB_AT + 2 * DAY),), NFB_AT),                      # opened after it
    (((NFB_AT - DAY, NFB_AT + DAY), (NFB_AT + DAY, NFB_AT + 3 * DAY)), NFB_AT + 3 * DAY),  # one after another
    (((NFB_AT + DAY, NFB_AT + 3 * DAY), (NFB_AT - DAY, NFB_AT + DAY)), NFB_AT + 3 * DAY),  # in any order
])
def test_a_request_open_at_the_deadline_moves_it_to_when_the_request_ends(requests, expected):
    found = deadline(replace(NEVER_BOOKED, requests=requests), FIRST)
    assert found.at == expected and found.notice_at == expected - 7 * DAY


def test_a_moved_deadline_needs_no_second_notice():
    notice_at = NFB_AT - 7 * DAY
    noticed = sent(deadline(NEVER_BOOKED, notice_at), notice_at, NEVER_BOOKED)
    moved = replace(noticed, requests=((NFB_AT - DAY, NFB_AT + DAY),))
    found = deadline(moved, NFB_AT)
    assert (found.at, found.noticed) == (NFB_AT + DAY, True)
    assert client_status(ACTIVE, NFB_AT, moved) == (ACTIVE, None)
    assert client_status(ACTIVE, NFB_AT + DAY, moved)[1] == {"reason": NO_FIRST_BOOKING, "at": NFB_AT + DAY}


def test_a_request_open_when_a_late_notice_runs_out_moves_it_too():
    late = NFB_AT + 10 * DAY
    noticed = sent(deadline(NEVER_BOOKED, late), late, NEVER_BOOKED)
    moved = replace(noticed, requests=((late + 6 * DAY, late + 8 * DAY),))
    assert deadline(moved, late).at == late + 8 * DAY


# --- settings, status, refusal -------------------------------------------------------------------

def test_the_numbers_are_settings():
    found = deadline(NEVER_BOOKED, FIRST, first_booking_days=10, notice_days=2)
    assert (found.at, found.notice_at) == (FIRST + 10 * DAY, FIRST + 8 * DAY)
    assert deadline(FOLLOWING, LAST_END, follow_up_days=14).at == LAST_END + 14 * DAY


def test_the_deadline_reads_as_the_api_shows_it():
    assert deadline(NEVER_BOOKED, FIRST).as_dict() == {"reason": "no_first_booking", "at": "2026-02-09T09:00:00Z"}


def test_a_persisted_discharge_stands():
    stored = {"reason": NO_FOLLOW_UP, "at": "2026-03-29T10:45:00Z"}
    assert client_status(DISCHARGED, FIRST, NEVER_BOOKED, stored_discharge=stored) == (DISCHARGED, stored)


def test_a_client_without_a_program_keeps_the_stored_status():
    assert client_status(WAITING, utc(2030, 1, 1)) == (WAITING, None)
    assert client_status(ACTIVE, utc(2030, 1, 1)) == (ACTIVE, None)


def test_an_unknown_stored_status_is_a_programming_error():
    with pytest.raises(ValueError):
        client_status("gone", FIRST)


def test_client_status_passes_the_numbers_on():
    notice_at = FIRST + 3 * DAY
    noticed = replace(NEVER_BOOKED, notices_sent={f"no_first_booking:{(FIRST + 10 * DAY):%Y-%m-%dT%H:%M:%SZ}": notice_at})
    assert client_status(ACTIVE, FIRST + 10 * DAY, noticed, first_booking_days=10)[0] == DISCHARGED


def test_a_discharged_client_may_not_act():
    require_not_discharged(ACTIVE)
    require_not_discharged(WAITING)
    with pytest.raises(DomainError) as raised:
        require_not_discharged(DISCHARGED)
    assert raised.value.code == "discharged" and raised.value.status == 403


def test_facts_are_hashable_and_compare_by_value():
    assert facts(notices_sent={"k": FIRST}) == facts(notices_sent={"k": FIRST})
    assert hash(facts(notices_sent={"k": FIRST})) == hash(facts(notices_sent={"k": FIRST}))
