"""Session requests: preferred parts of the day, proposals, acceptance, the clock and nudges."""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.session_requests import (
    ACCEPTED, DECLINED, EXPIRED, FINAL, LAPSED, OPEN, PART_NAMES, PROPOSED, REQUESTED, STATUSES, WITHDRAWN,
    Preferred, RequestView, accept_by, can_accept, can_decline, can_propose, can_withdraw, check_preferred,
    check_proposals, client_nudge_at, closes_at, effective_status, held_intervals, is_open, parse_preferred,
    part_interval, preferred_intervals, provider_nudge_at, respond_by,
)

UTC = timezone.utc
NY = "America/New_York"


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def local(tz, *parts):
    return datetime(*parts, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


def times(*items):
    """Preferred times from ("YYYY-MM-DD", part) pairs."""
    return tuple(Preferred(date.fromisoformat(day), part) for day, part in items)


# A client in UTC asks on Monday 2 March 2026 at 08:00.
REQUESTED_AT = utc(2026, 3, 2, 8)
PREFERRED = times(("2026-03-05", "morning"), ("2026-03-06", "afternoon"), ("2026-03-07", "evening"))


# --- statuses ----------------------------------------------------------------------------------

def test_the_statuses_are_the_specs():
    assert STATUSES == ("requested", "proposed", "accepted", "declined", "expired", "lapsed", "withdrawn")
    assert OPEN == {REQUESTED, PROPOSED} and FINAL == set(STATUSES) - OPEN


# --- parts of the day --------------------------------------------------------------------------

@pytest.mark.parametrize("part, start, end", [
    ("morning", utc(2026, 3, 5, 8), utc(2026, 3, 5, 12)),
    ("afternoon", utc(2026, 3, 5, 12), utc(2026, 3, 5, 17)),
    ("evening", utc(2026, 3, 5, 17), utc(2026, 3, 5, 21)),
])
def test_parts_of_the_day(part, start, end):
    assert part_interval(date(2026, 3, 5), part, "UTC") == (start, end)
    assert PART_NAMES == ("morning", "afternoon", "evening")


def test_parts_are_in_the_clients_time_zone():
    assert part_interval(date(2026, 1, 15), "morning", NY) == (utc(2026, 1, 15, 13), utc(2026, 1, 15, 17))
    assert part_interval(date(2026, 1, 15), "evening", "Asia/Tokyo") == (utc(2026, 1, 15, 8), utc(2026, 1, 15, 12))


def test_parts_follow_the_new_york_spring_forward():
    # 8 March 2026: New York jumps from 02:00 EST to 03:00 EDT; 08:00 is 12:00Z, not 13:00Z.
    assert part_interval(date(2026, 3, 7), "morning", NY) == (utc(2026, 3, 7, 13), utc(2026, 3, 7, 17))
    assert part_interval(date(2026, 3, 8), "morning", NY) == (utc(2026, 3, 8, 12), utc(2026, 3, 8, 16))
    # The evening before the jump ends at 21:00 EST, which is 02:00Z the next day.
    assert part_interval(date(2026, 3, 7), "evening", NY) == (utc(2026, 3, 7, 22), utc(2026, 3, 8, 2))


def test_parts_follow_the_new_york_fall_back():
    assert part_interval(date(2026, 11, 1), "morning", NY) == (utc(2026, 11, 1, 13), utc(2026, 11, 1, 17))


def test_an_unknown_part_is_a_programming_error_here():
    with pytest.raises(ValueError):
        part_interval(date(2026, 3, 5), "night", "UTC")


# --- preferred times ---------------------------------------------------------------------------

def test_three_distinct_preferred_times_are_parsed_in_order():
    items = [{"date": "2026-03-06", "part": "evening"}, {"date": "2026-03-05", "part": "evening"},
             {"date": date(2026, 3, 5), "part": "morning"}]
    parsed = parse_preferred(items)
    assert parsed == times(("2026-03-06", "evening"), ("2026-03-05", "evening"), ("2026-03-05", "morning"))
    assert [item.as_dict() for item in parsed] == [{"date": "2026-03-06", "part": "evening"},
                                                   {"date": "2026-03-05", "part": "evening"},
                                                   {"date": "2026-03-05", "part": "morning"}]
    assert parse_preferred(parsed) == parsed


@pytest.mark.parametrize("count", [0, 1, 2, 4])
def test_exactly_three_preferred_times(count):
    items = [{"date": f"2026-03-{10 + n}", "part": "morning"} for n in range(count)]
    assert refused("validation_error", parse_preferred, items).details == {"field": "preferred"}


def test_the_same_date_and_part_twice_is_refused():
    items = [{"date": "2026-03-05", "part": "morning"}, {"date": "2026-03-06", "part": "morning"},
             {"date": "2026-03-05", "part": "morning"}]
    assert refused("validation_error", parse_preferred, items).details == {"field": "preferred", "index": 2}


@pytest.mark.parametrize("bad", [
    {"date": "2026-02-30", "part": "morning"}, {"date": "2026-3-5", "part": "morning"},
    {"date": "20260305", "part": "morning"}, {"date": "2026-03-05T08:00:00Z", "part": "morning"},
    {"date": datetime(2026, 3, 5, tzinfo=UTC), "part": "morning"}, {"date": None, "part": "morning"},
    {"date": "2026-03-05", "part": "night"}, {"date": "2026-03-05", "part": "Morning"}, {"date": "2026-03-05"},
    ["2026-03-05", "morning"], "2026-03-05 morning",
])
def test_a_malformed_preferred_time_is_refused_with_its_index(bad):
    items = [{"date": "2026-03-10", "part": "morning"}, bad, {"date": "2026-03-11", "part": "morning"}]
    assert refused("validation_error", parse_preferred, items).details == {"field": "preferred", "index": 1}


@pytest.mark.parametrize("items", [None, "morning", {"date": "2026-03-05", "part": "morning"}, 3])
def test_preferred_must_be_a_list(items):
    refused("validation_error", parse_preferred, items)


def test_the_number_of_preferred_times_is_a_setting():
    assert len(parse_preferred([{"date": "2026-03-05", "part": "morning"}], count=1)) == 1


# --- timing of a request -----------------------------------------------------------------------

def test_the_parts_intervals_come_back_in_order():
    assert check_preferred(PREFERRED, "UTC", REQUESTED_AT) == [
        (utc(2026, 3, 5, 8), utc(2026, 3, 5, 12)), (utc(2026, 3, 6, 12), utc(2026, 3, 6, 17)),
        (utc(2026, 3, 7, 17), utc(2026, 3, 7, 21))]
    assert preferred_intervals(PREFERRED, "UTC") == check_preferred(PREFERRED, "UTC", REQUESTED_AT)


def test_a_part_beginning_exactly_24_hours_after_the_request_is_admitted():
    preferred = times(("2026-03-03", "morning"), ("2026-03-03", "afternoon"), ("2026-03-04", "morning"))
    check_preferred(preferred, "UTC", REQUESTED_AT)                     # 3 March 08:00 is exactly 24 h on


def test_a_part_beginning_a_second_short_of_24_hours_is_too_soon():
    preferred = times(("2026-03-04", "morning"), ("2026-03-03", "morning"), ("2026-03-04", "evening"))
    error = refused("too_soon", check_preferred, preferred, "UTC", REQUESTED_AT + timedelta(seconds=1))
    assert error.details == {"earliest": "2026-03-03T08:00:01Z", "index": 1, "date": "2026-03-03", "part": "morning"}


def test_a_part_that_already_began_or_lies_in_the_past_is_too_soon():
    preferred = times(("2026-03-02", "morning"), ("2026-03-05", "morning"), ("2026-03-01", "evening"))
    assert refused("too_soon", check_preferred, preferred, "UTC", REQUESTED_AT).details["index"] == 0


def test_24_hours_are_real_hours_across_the_spring_forward():
    # Saturday 07:30 EST to Sunday 08:00 EDT is 24.5 h on the wall but 23.5 h of real time.
    preferred = times(("2026-03-08", "morning"), ("2026-03-08", "afternoon"), ("2026-03-09", "morning"))
    requested = local(NY, 2026, 3, 7, 7, 30)
    assert refused("too_soon", check_preferred, preferred, NY, requested).details["index"] == 0
    check_preferred(preferred, NY, local(NY, 2026, 3, 7, 7, 0) - timedelta(hours=1))  # 06:00 EST: 25 h


def test_a_part_beginning_exactly_60_days_after_the_request_is_admitted():
    # 2 March 08:00 + 60 days = 1 May 08:00: the morning of 1 May begins right then.
    preferred = times(("2026-05-01", "morning"), ("2026-03-05", "morning"), ("2026-04-30", "evening"))
    check_preferred(preferred, "UTC", REQUESTED_AT)


def test_a_part_beginning_after_60_days_is_too_far():
    preferred = times(("2026-03-05", "morning"), ("2026-05-01", "afternoon"), ("2026-04-30", "evening"))
    error = refused("too_far", check_preferred, preferred, "UTC", REQUESTED_AT)
    assert error.status == 400
    assert error.details == {"latest": "2026-05-01T08:00:00Z", "index": 1, "date": "2026-05-01", "part": "afternoon"}
    refused("too_far", check_preferred, times(("2026-05-01", "morning"), ("2026-03-05", "morning"),
                                             ("2026-03-06", "morning")), "UTC", REQUESTED_AT - timedelta(seconds=1))


def test_the_60_days_are_a_setting():
    preferred = times(("2026-03-05", "morning"), ("2026-03-12", "morning"), ("2026-03-13", "morning"))
    refused("too_far", check_preferred, preferred, "UTC", REQUESTED_AT, max_days=10)
    check_preferred(preferred, "UTC", REQUESTED_AT, max_days=11)


def test_a_part_beginning_at_the_booking_horizon_is_too_far():
    horizon = utc(2026, 4, 1, 12)
    preferred = times(("2026-04-01", "morning"), ("2026-03-05", "morning"), ("2026-03-06", "morning"))
    check_preferred(preferred, "UTC", REQUESTED_AT, horizon=horizon)     # 08:00 < horizon
    preferred = times(("2026-03-05", "morning"), ("2026-04-01", "afternoon"), ("2026-03-06", "morning"))
    error = refused("too_far", check_preferred, preferred, "UTC", REQUESTED_AT, horizon=horizon)
    assert error.details["latest"] == "2026-04-01T12:00:00Z" and error.details["index"] == 1


def test_a_part_beginning_at_or_after_program_end_is_after_program_end():
    ends = utc(2026, 3, 6, 12)
    preferred = times(("2026-03-05", "morning"), ("2026-03-06", "morning"), ("2026-03-05", "evening"))
    check_preferred(preferred, "UTC", REQUESTED_AT, program_ends_at=ends)
    preferred = times(("2026-03-05", "morning"), ("2026-03-06", "morning"), ("2026-03-06", "afternoon"))
    error = refused("after_program_end", check_preferred, preferred, "UTC", REQUESTED_AT, program_ends_at=ends)
    assert error.status == 400 and error.details["index"] == 2 and error.details["program_ends_at"] == "2026-03-06T12:00:00Z"


def test_the_rules_are_checked_in_spec_order():
    # One part too far and after program end, another too soon: too_soon is reported first.
    preferred = times(("2026-06-01", "morning"), ("2026-03-02", "evening"), ("2026-03-05", "morning"))
    refused("too_soon", check_preferred, preferred, "UTC", REQUESTED_AT, program_ends_at=utc(2026, 4, 1))
    preferred = times(("2026-03-05", "morning"), ("2026-06-01", "morning"), ("2026-04-02", "morning"))
    refused("too_far", check_preferred, preferred, "UTC", REQUESTED_AT, program_ends_at=utc(2026, 4, 1))


def test_respond_by_is_48_hours_after_the_request():
    assert respond_by(REQUESTED_AT) == utc(2026, 3, 4, 8)
    assert respond_by(REQUESTED_AT, hours=24) == utc(2026, 3, 3, 8)


# --- proposals ---------------------------------------------------------------------------------

PROPOSED_AT = utc(2026, 3, 3, 9)


def propose(*starts, provider_tz="UTC", now=PROPOSED_AT, preferred=PREFERRED, client_tz="UTC", **kwargs):
    return check_proposals(list(starts), preferred=preferred, client_tz=client_tz, provider_tz=provider_tz,
                           now=now, **kwargs)


def test_proposals_come_back_sorted_in_utc():
    got = propose(utc(2026, 3, 7, 17), local("Europe/Paris", 2026, 3, 5, 10), utc(2026, 3, 6, 16, 30))
    assert got == (utc(2026, 3, 5, 9), utc(2026, 3, 6, 16, 30), utc(2026, 3, 7, 17))


@pytest.mark.parametrize("count", [0, 4])
def test_one_to_three_proposals(count):
    starts = [utc(2026, 3, 5, 8) + timedelta(hours=n) for n in range(count)]
    assert refused("validation_error", propose, *starts).details == {"field": "starts_at"}


def test_proposals_that_overlap_each_other_are_refused():
    error = refused("validation_error", propose, utc(2026, 3, 5, 9), utc(2026, 3, 6, 13), utc(2026, 3, 5, 9, 30))
    assert error.details == {"field": "starts_at", "starts_at": ["2026-03-05T09:00:00Z", "2026-03-05T09:30:00Z"]}


def test_the_same_time_twice_overlaps():
    refused("validation_error", propose, utc(2026, 3, 5, 9), utc(2026, 3, 5, 9))


def test_back_to_back_proposals_do_not_overlap():
    propose(utc(2026, 3, 5, 9), utc(2026, 3, 5, 9, 30), session_minutes=30)
    refused("validation_error", propose, utc(2026, 3, 5, 9), utc(2026, 3, 5, 9, 30), session_minutes=31)


def test_a_proposal_off_the_providers_grid_is_not_on_slot():
    assert refused("not_on_slot", propose, utc(2026, 3, 5, 9), utc(2026, 3, 5, 10, 15)).details["index"] == 1
    refused("not_on_slot", propose, utc(2026, 3, 5, 9, 0, 30))


def test_the_grid_is_the_providers_local_clock():
    # Kathmandu is UTC+05:45: its :00 and :30 are :15 and :45 UTC.
    propose(utc(2026, 3, 5, 8, 15), provider_tz="Asia/Kathmandu")
    refused("not_on_slot", propose, utc(2026, 3, 5, 8, 0), provider_tz="Asia/Kathmandu")


@pytest.mark.parametrize("start, inside", [
    (utc(2026, 3, 5, 8), True),                # part start is inside
    (utc(2026, 3, 5, 11, 30), True),           # may run past the part's end
    (utc(2026, 3, 5, 12), False),              # part end is not
    (utc(2026, 3, 5, 7, 30), False),
    (utc(2026, 3, 6, 11, 30), False),          # 6 March is preferred in the afternoon only
    (utc(2026, 3, 6, 12), True),
    (utc(2026, 3, 7, 20, 30), True),
    (utc(2026, 3, 7, 21), False),
])
def test_a_proposal_must_start_inside_a_preferred_part(start, inside):
    if inside:
        propose(start)
    else:
        assert refused("not_preferred", propose, start).status == 400


def test_preferred_parts_are_the_clients_across_the_spring_forward():
    preferred = times(("2026-03-08", "morning"), ("2026-03-09", "morning"), ("2026-03-10", "morning"))
    propose(utc(2026, 3, 8, 12), client_tz=NY, preferred=preferred)        # 08:00 EDT
    refused("not_preferred", propose, utc(2026, 3, 8, 11, 30), client_tz=NY, preferred=preferred)  # 07:30 EDT
    refused("not_preferred", propose, utc(2026, 3, 8, 16), client_tz=NY, preferred=preferred)      # 12:00 EDT


def test_a_proposal_exactly_12_hours_ahead_is_admitted_and_a_second_less_is_too_soon():
    start = utc(2026, 3, 5, 8)
    propose(start, now=start - timedelta(hours=12))
    error = refused("too_soon", propose, utc(2026, 3, 6, 13), start, now=start - timedelta(hours=12, seconds=-1))
    assert error.details == {"index": 1, "starts_at": "2026-03-05T08:00:00Z", "earliest": "2026-03-05T08:00:01Z"}


def test_proposal_rules_are_checked_in_spec_order():
    late = utc(2026, 3, 5, 9)
    now = late                                                   # too soon, and …
    refused("validation_error", propose, late, late, now=now)
    refused("not_on_slot", propose, late, utc(2026, 3, 1, 9, 10), now=now)
    refused("not_preferred", propose, late, utc(2026, 3, 1, 9), now=now)
    refused("too_soon", propose, late, now=now, program_ends_at=late)


def test_a_proposal_at_or_after_program_end_is_refused():
    propose(utc(2026, 3, 5, 8, 30), program_ends_at=utc(2026, 3, 5, 9))
    error = refused("after_program_end", propose, utc(2026, 3, 5, 9), program_ends_at=utc(2026, 3, 5, 9))
    assert error.details["index"] == 0


@pytest.mark.parametrize("proposals, expected", [
    ((utc(2026, 3, 7, 17),), utc(2026, 3, 5, 9)),                          # 48 h after the proposal
    ((utc(2026, 3, 4, 10), utc(2026, 3, 7, 17)), utc(2026, 3, 5, 9)),
    ((utc(2026, 3, 4, 10),), utc(2026, 3, 4, 9)),                          # latest start − 1 h
    ((utc(2026, 3, 4, 10), utc(2026, 3, 3, 22)), utc(2026, 3, 4, 9)),      # the latest, not the first given
    ((utc(2026, 3, 5, 10),), utc(2026, 3, 5, 9)),                          # both equal
])
def test_accept_by_is_the_earlier_of_48_hours_and_one_hour_before_the_latest_start(proposals, expected):
    assert accept_by(PROPOSED_AT, proposals) == expected


def test_accept_by_numbers_are_settings():
    assert accept_by(PROPOSED_AT, [utc(2026, 3, 7, 17)], hours=24) == utc(2026, 3, 4, 9)
    assert accept_by(PROPOSED_AT, [utc(2026, 3, 4, 10)], before_start_hours=2) == utc(2026, 3, 4, 8)


# --- the clock and transitions -----------------------------------------------------------------

def requested(**fields):
    return RequestView(status=REQUESTED, requested_at=REQUESTED_AT, respond_by=respond_by(REQUESTED_AT), **fields)


PROPOSALS = (utc(2026, 3, 4, 10), utc(2026, 3, 7, 17))


def proposed(**fields):
    values = dict(status=PROPOSED, requested_at=REQUESTED_AT, respond_by=respond_by(REQUESTED_AT),
                  proposals=PROPOSALS, proposed_at=PROPOSED_AT, accept_by=accept_by(PROPOSED_AT, PROPOSALS))
    values.update(fields)
    return RequestView(**values)


def test_a_request_expires_at_respond_by_itself():
    view = requested()
    assert effective_status(view, view.respond_by - timedelta(microseconds=1)) == REQUESTED
    assert effective_status(view, view.respond_by) == EXPIRED
    assert not is_open(view, view.respond_by)


def test_a_proposal_lapses_at_accept_by_itself():
    view = proposed()
    assert effective_status(view, view.accept_by - timedelta(microseconds=1)) == PROPOSED
    assert effective_status(view, view.accept_by) == LAPSED


@pytest.mark.parametrize("status", [ACCEPTED, DECLINED, EXPIRED, LAPSED, WITHDRAWN])
def test_a_final_status_stays(status):
    view = replace(requested(), status=status)
    assert effective_status(view, utc(2030, 1, 1)) == status and closes_at(view) is None


def test_a_view_checks_its_status_and_proposals():
    with pytest.raises(ValueError):
        replace(requested(), status="open")
    with pytest.raises(ValueError):
        replace(requested(), status=PROPOSED)


def test_an_open_request_closes_at_respond_by_then_at_accept_by():
    assert closes_at(requested()) == utc(2026, 3, 4, 8)
    assert closes_at(proposed()) == utc(2026, 3, 5, 9)


def test_proposed_times_are_held_until_the_request_ends():
    view = proposed()
    assert held_intervals(view, PROPOSED_AT) == [(utc(2026, 3, 4, 10), utc(2026, 3, 4, 10, 45)),
                                                 (utc(2026, 3, 7, 17), utc(2026, 3, 7, 17, 45))]
    assert held_intervals(view, view.accept_by) == []
    assert held_intervals(requested(), REQUESTED_AT) == []
    assert held_intervals(view, PROPOSED_AT, session_minutes=30)[0] == (utc(2026, 3, 4, 10), utc(2026, 3, 4, 10, 30))


def refused_state(state, call, *args, **kwargs):
    error = refused("invalid_state", call, *args, **kwargs)
    assert error.details == {"state": state} and state in error.message
    assert error.status == 409


def test_the_provider_proposes_or_declines_before_respond_by():
    view = requested()
    now = view.respond_by - timedelta(seconds=1)
    assert can_propose(view, now) == PROPOSED
    assert can_decline(view, now) == DECLINED
    refused_state("expired", can_propose, view, view.respond_by)
    refused_state("expired", can_decline, view, view.respond_by)


def test_proposing_is_once_and_the_provider_cannot_decline_after_proposing():
    refused_state("proposed", can_propose, proposed(), PROPOSED_AT)
    refused_state("proposed", can_decline, proposed(), PROPOSED_AT)


def test_haven_ends_any_open_request_when_its_provider_goes():
    assert can_decline(requested(), REQUESTED_AT, actor="system") == DECLINED
    assert can_decline(proposed(), PROPOSED_AT, actor="system") == DECLINED
    refused_state("lapsed", can_decline, proposed(), proposed().accept_by, actor="system")
    with pytest.raises(ValueError):
        can_decline(requested(), REQUESTED_AT, actor="client")


def test_the_client_withdraws_an_open_request():
    assert can_withdraw(requested(), REQUESTED_AT) == WITHDRAWN
    assert can_withdraw(proposed(), PROPOSED_AT) == WITHDRAWN
    refused_state("expired", can_withdraw, requested(), requested().respond_by)
    refused_state("accepted", can_withdraw, replace(proposed(), status=ACCEPTED), PROPOSED_AT)


def test_the_client_accepts_one_proposed_time_before_accept_by():
    view = proposed()
    assert can_accept(view, utc(2026, 3, 7, 17), view.accept_by - timedelta(seconds=1)) == ACCEPTED
    refused_state("lapsed", can_accept, view, utc(2026, 3, 7, 17), view.accept_by)
    refused_state("requested", can_accept, requested(), utc(2026, 3, 7, 17), REQUESTED_AT)


def test_accepting_a_time_that_was_not_proposed_is_refused():
    error = refused("validation_error", can_accept, proposed(), utc(2026, 3, 7, 17, 30), PROPOSED_AT)
    assert error.details == {"field": "starts_at", "proposals": ["2026-03-04T10:00:00Z", "2026-03-07T17:00:00Z"]}


def test_a_proposal_may_be_accepted_exactly_one_hour_before_but_not_later():
    view = proposed(accept_by=utc(2026, 3, 5, 9))
    assert can_accept(view, utc(2026, 3, 4, 10), utc(2026, 3, 4, 9)) == ACCEPTED
    assert refused("too_soon", can_accept, view, utc(2026, 3, 4, 10), utc(2026, 3, 4, 9, 0, 1)).status == 400
    assert can_accept(view, utc(2026, 3, 7, 17), utc(2026, 3, 4, 9, 30)) == ACCEPTED


def test_acceptance_compares_instants_not_zones():
    assert can_accept(proposed(), local("Europe/Paris", 2026, 3, 7, 18), PROPOSED_AT) == ACCEPTED


# --- nudges ------------------------------------------------------------------------------------

def test_the_provider_is_nudged_24_hours_before_respond_by():
    assert provider_nudge_at(REQUESTED_AT, respond_by(REQUESTED_AT)) == utc(2026, 3, 3, 8)
    assert provider_nudge_at(REQUESTED_AT, respond_by(REQUESTED_AT), hours=48) is None


def test_the_client_is_nudged_12_hours_before_accept_by():
    assert client_nudge_at(PROPOSED_AT, utc(2026, 3, 5, 9)) == utc(2026, 3, 4, 21)


@pytest.mark.parametrize("window, nudged", [
    (timedelta(hours=11), False), (timedelta(hours=12), False), (timedelta(hours=12, seconds=1), True),
])
def test_a_client_nudge_not_after_the_proposal_is_skipped(window, nudged):
    moment = client_nudge_at(PROPOSED_AT, PROPOSED_AT + window)
    assert (moment is not None) is nudged
    if nudged:
        assert moment == PROPOSED_AT + timedelta(seconds=1)
