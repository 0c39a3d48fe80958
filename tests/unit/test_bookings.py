"""The booking state machine: timing rules, transitions, the clock deciding time-based states."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.bookings import (
    BookingView, FINAL, HOLDS_TIME, STATUSES, can_cancel, can_complete, can_confirm, can_decline,
    can_no_show, can_reschedule, check_client_booking_time, check_join, check_modality,
    check_provider_booking_time, confirm_by, effective_status, initial_status, join_window,
    outcome_after_grace, outcome_due_at, session_began_at,
)
from chalicelib.domain.errors import DomainError

UTC = timezone.utc
START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=45)
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def at(**delta):
    """An instant relative to the session start."""
    return START + timedelta(**delta)


def booking(status="confirmed", **fields):
    return BookingView(status=status, starts_at=START, ends_at=END, confirm_by=confirm_by(START), **fields)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


# --- how far ahead ------------------------------------------------------------------------------

def test_a_client_booking_exactly_48_hours_ahead_is_admitted():
    check_client_booking_time(NOW + timedelta(hours=48), NOW)


def test_a_client_booking_a_second_short_of_48_hours_is_too_soon():
    error = refused("too_soon", check_client_booking_time, NOW + timedelta(hours=48) - timedelta(seconds=1), NOW)
    assert error.status == 400 and error.details["earliest"] == "2026-03-07T09:00:00Z"


def test_a_client_booking_in_the_past_is_in_the_past():
    refused("in_the_past", check_client_booking_time, NOW - timedelta(minutes=1), NOW)


def test_a_client_booking_right_now_is_too_soon_not_in_the_past():
    refused("too_soon", check_client_booking_time, NOW, NOW)


def test_the_client_minimum_notice_is_a_setting():
    check_client_booking_time(NOW + timedelta(hours=24), NOW, min_hours=24)


def test_a_provider_may_book_one_hour_ahead():
    check_provider_booking_time(NOW + timedelta(hours=1), NOW)
    refused("too_soon", check_provider_booking_time, NOW + timedelta(minutes=59), NOW)
    refused("in_the_past", check_provider_booking_time, NOW - timedelta(hours=1), NOW)


def test_a_client_booking_waits_for_the_provider_and_a_provider_booking_is_confirmed_at_once():
    assert initial_status("client") == "pending"
    assert initial_status("provider") == "confirmed"


def test_confirm_by_is_24_hours_before_start():
    assert confirm_by(START) == datetime(2026, 3, 9, 15, tzinfo=UTC)
    assert confirm_by(START, hours=12) == datetime(2026, 3, 10, 3, tzinfo=UTC)


@pytest.mark.parametrize("modality, kind", [
    ("video", "therapist"), ("audio", "therapist"), ("chat", "therapist"), ("video", "psychiatrist"),
])
def test_allowed_modalities(modality, kind):
    check_modality(modality, kind)


@pytest.mark.parametrize("modality, kind", [
    ("audio", "psychiatrist"), ("chat", "psychiatrist"), ("hologram", "therapist"),
])
def test_psychiatry_is_video_only_and_unknown_modalities_are_refused(modality, kind):
    refused("modality_not_allowed", check_modality, modality, kind)


# --- the clock decides --------------------------------------------------------------------------

def test_a_pending_booking_before_its_deadline_is_pending():
    assert effective_status(booking("pending"), at(hours=-24, seconds=-1)) == "pending"


def test_a_pending_booking_at_its_deadline_is_expired_even_before_any_sweep():
    assert effective_status(booking("pending"), at(hours=-24)) == "expired"


def test_confirming_after_the_deadline_is_refused_naming_the_expired_state():
    error = refused("invalid_state", can_confirm, booking("pending"), at(hours=-23))
    assert error.status == 409
    assert error.details["state"] == "expired" and "expired" in error.message


def test_declining_after_the_deadline_is_refused():
    refused("invalid_state", can_decline, booking("pending"), at(hours=-23))


def test_a_pending_booking_without_a_stored_deadline_expires_at_its_start():
    view = BookingView("pending", START, END)
    assert effective_status(view, at(seconds=-1)) == "pending"
    assert effective_status(view, START) == "expired"


def test_a_confirmed_booking_without_outcome_24_hours_after_the_end_is_settled_by_the_clock():
    assert effective_status(booking(), END + timedelta(hours=24) - timedelta(seconds=1)) == "confirmed"
    assert effective_status(booking(), END + timedelta(hours=24)) == "unresolved"
    both = booking(client_joined_at=at(minutes=-2), provider_joined_at=at(minutes=1))
    assert effective_status(both, END + timedelta(hours=24)) == "completed"


def test_stored_final_states_stay_as_they_are():
    for status in FINAL:
        assert effective_status(booking(status), END + timedelta(days=30)) == status


# --- confirm / decline -------------------------------------------------------------------------

def test_a_provider_confirms_a_pending_booking():
    assert can_confirm(booking("pending"), NOW) == "confirmed"


def test_a_provider_declines_a_pending_booking():
    assert can_decline(booking("pending"), NOW) == "declined"


@pytest.mark.parametrize("status", sorted(set(STATUSES) - {"pending"}))
def test_only_a_pending_booking_can_be_confirmed_or_declined(status):
    error = refused("invalid_state", can_confirm, booking(status), NOW)
    assert error.details["state"] == status and status in error.message
    refused("invalid_state", can_decline, booking(status), NOW)


# --- cancel ------------------------------------------------------------------------------------

def test_a_client_cancelling_more_than_24_hours_ahead_cancels():
    assert can_cancel(booking(), at(hours=-30), "client") == "cancelled"


def test_a_client_cancelling_exactly_24_hours_ahead_is_not_late():
    assert can_cancel(booking(), at(hours=-24), "client") == "cancelled"


def test_a_client_cancelling_less_than_24_hours_ahead_is_a_late_cancellation():
    assert can_cancel(booking(), at(hours=-23, minutes=-59), "client") == "late_cancelled"


def test_a_provider_cancelling_late_is_never_a_late_cancellation():
    assert can_cancel(booking(), at(hours=-1), "provider") == "cancelled"
    assert can_cancel(booking(), at(hours=-1), "system") == "cancelled"


def test_a_client_may_withdraw_a_pending_request():
    assert can_cancel(booking("pending"), at(hours=-30), "client") == "cancelled"


def test_a_session_that_has_started_cannot_be_cancelled():
    error = refused("cannot_cancel", can_cancel, booking(), START, "client")
    assert error.status == 409
    refused("cannot_cancel", can_cancel, booking(), at(minutes=5), "provider")


@pytest.mark.parametrize("status", sorted(FINAL))
def test_a_finished_booking_cannot_be_cancelled(status):
    error = refused("invalid_state", can_cancel, booking(status), NOW, "client")
    assert error.details["state"] == status


def test_an_expired_pending_booking_cannot_be_cancelled():
    refused("invalid_state", can_cancel, booking("pending"), at(hours=-20), "client")


# --- reschedule ---------------------------------------------------------------------------------

def test_rescheduling_marks_the_old_booking_rescheduled():
    assert can_reschedule(booking(), at(hours=-30), "client") == "rescheduled"
    assert can_reschedule(booking("pending"), at(hours=-30), "provider") == "rescheduled"


def test_a_client_may_reschedule_late_and_the_credit_policy_decides_the_cost():
    assert can_reschedule(booking(), at(hours=-2), "client") == "rescheduled"


def test_a_started_session_cannot_be_rescheduled():
    refused("cannot_cancel", can_reschedule, booking(), at(minutes=1), "provider")


def test_a_rescheduled_booking_cannot_be_rescheduled_again():
    error = refused("invalid_state", can_reschedule, booking("rescheduled"), NOW, "client")
    assert "rescheduled" in error.message


# --- join ---------------------------------------------------------------------------------------

def test_join_window_opens_10_minutes_before_start_and_closes_at_the_end():
    assert join_window(booking()) == (at(minutes=-10), END)
    check_join(booking(), at(minutes=-10))
    check_join(booking(), END - timedelta(seconds=1))


def test_joining_11_minutes_early_is_outside_the_join_window():
    error = refused("outside_join_window", check_join, booking(), at(minutes=-11))
    assert error.status == 409 and error.details == {"opens_at": "2026-03-10T14:50:00Z", "closes_at": "2026-03-10T15:45:00Z"}


def test_joining_at_the_end_is_outside_the_join_window():
    refused("outside_join_window", check_join, booking(), END)


def test_a_pending_booking_cannot_be_joined():
    refused("invalid_state", check_join, booking("pending"), at(hours=-25))


def test_a_cancelled_booking_cannot_be_joined():
    refused("invalid_state", check_join, booking("cancelled"), at(minutes=-5))


def test_the_session_begins_when_both_have_joined():
    assert session_began_at(booking(client_joined_at=at(minutes=-5))) is None
    view = booking(client_joined_at=at(minutes=-5), provider_joined_at=at(minutes=2))
    assert session_began_at(view) == at(minutes=2)


# --- complete ----------------------------------------------------------------------------------

def test_a_provider_completes_a_session_after_its_start():
    assert can_complete(booking(), START) == "completed"
    assert can_complete(booking(), END + timedelta(hours=3)) == "completed"


def test_a_session_cannot_be_completed_before_it_starts():
    error = refused("invalid_state", can_complete, booking(), at(seconds=-1))
    assert error.details["state"] == "confirmed"


def test_a_pending_booking_cannot_be_completed():
    refused("invalid_state", can_complete, booking("pending"), at(hours=-30))


def test_completion_after_the_grace_period_is_refused_naming_the_settled_state():
    error = refused("invalid_state", can_complete, booking(), END + timedelta(hours=25))
    assert error.details["state"] == "unresolved"


# --- no-shows ----------------------------------------------------------------------------------

def test_a_provider_marks_a_client_no_show_from_10_minutes_after_start():
    assert can_no_show(booking(), at(minutes=10), "provider") == "client_no_show"


def test_a_client_no_show_cannot_be_marked_at_9_minutes():
    error = refused("invalid_state", can_no_show, booking(), at(minutes=9, seconds=59), "provider")
    assert error.details["opens_at"] == "2026-03-10T15:10:00Z"


def test_a_client_reports_a_provider_no_show_from_10_minutes_after_start():
    assert can_no_show(booking(), at(minutes=10), "client") == "provider_no_show"
    refused("invalid_state", can_no_show, booking(), at(minutes=5), "client")


def test_a_client_who_joined_cannot_be_marked_a_no_show():
    refused("invalid_state", can_no_show, booking(client_joined_at=at(minutes=-3)), at(minutes=15), "provider")


def test_a_provider_who_joined_cannot_be_reported_a_no_show():
    refused("invalid_state", can_no_show, booking(provider_joined_at=at(minutes=1)), at(minutes=15), "client")


def test_a_no_show_can_be_reported_after_the_end_until_the_outcome_is_settled():
    assert can_no_show(booking(), END + timedelta(hours=23), "provider") == "client_no_show"
    refused("invalid_state", can_no_show, booking(), END + timedelta(hours=24), "provider")


def test_a_no_show_needs_a_confirmed_booking():
    refused("invalid_state", can_no_show, booking("completed"), at(minutes=20), "provider")


# --- outcome after the grace period --------------------------------------------------------------

def test_outcome_is_not_due_until_24_hours_after_the_end():
    assert outcome_due_at(booking()) == END + timedelta(hours=24)
    assert outcome_after_grace(booking(), END + timedelta(hours=23, minutes=59)) is None


def test_a_session_both_joined_is_completed_by_the_sweep():
    view = booking(client_joined_at=at(minutes=-1), provider_joined_at=at())
    assert outcome_after_grace(view, END + timedelta(hours=24)) == "completed"


def test_a_session_with_one_side_missing_is_unresolved():
    assert outcome_after_grace(booking(client_joined_at=at()), END + timedelta(hours=24)) == "unresolved"
    assert outcome_after_grace(booking(), END + timedelta(days=3)) == "unresolved"


def test_a_booking_with_an_outcome_needs_none_from_the_sweep():
    assert outcome_after_grace(booking("completed"), END + timedelta(days=3)) is None
    assert outcome_after_grace(booking("client_no_show"), END + timedelta(days=3)) is None


def test_the_grace_period_is_a_setting():
    assert outcome_after_grace(booking(), END + timedelta(hours=2), grace_hours=2) == "unresolved"


# --- the view ----------------------------------------------------------------------------------

def test_statuses_that_hold_time_are_pending_and_confirmed():
    assert HOLDS_TIME == {"pending", "confirmed"}
    assert len(STATUSES) == 11 and HOLDS_TIME | FINAL == set(STATUSES)


def test_a_booking_view_refuses_unknown_states_and_backwards_times():
    with pytest.raises(ValueError):
        booking("lost")
    with pytest.raises(ValueError):
        BookingView("pending", END, START)


def test_a_booking_view_is_immutable():
    view = booking()
    with pytest.raises(Exception):
        view.status = "completed"
    assert replace(view, status="completed").status == "completed"
