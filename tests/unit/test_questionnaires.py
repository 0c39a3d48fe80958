"""PHQ-9 and GAD-7: answers, scores and bands, item 9 risk, the submission window, and measures
over time (NHS Talking Therapies reliable change, caseness and recovery)."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.questionnaires import (
    CASENESS, GAD7, PHQ9, RELIABLE_CHANGE, Assessment, Measures, assess, at_caseness,
    check_can_submit, check_questionnaire_before_join, measures, severity, validate_answers,
)

UTC = timezone.utc
START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=45)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


def answers(total: int, items: int) -> list[int]:
    """`items` answers 0..3 adding up to `total` (item 9 of a PHQ-9 stays 0 unless it must not)."""
    out = []
    for _ in range(items):
        out.append(min(3, total))
        total -= out[-1]
    assert total == 0
    return out


def scores(phq9: int, gad7: int) -> Assessment:
    return Assessment(phq9, severity(PHQ9, phq9), gad7, severity(GAD7, gad7), False)


# --- answers -----------------------------------------------------------------------------------

def test_nine_and_seven_answers_from_0_to_3_are_valid():
    assert validate_answers(PHQ9, [0, 1, 2, 3, 0, 1, 2, 3, 0]) == (0, 1, 2, 3, 0, 1, 2, 3, 0)
    assert validate_answers(GAD7, (3,) * 7) == (3,) * 7


@pytest.mark.parametrize("scale, given", [
    (PHQ9, [0] * 8), (PHQ9, [0] * 10), (GAD7, [0] * 6), (GAD7, [0] * 9), (PHQ9, []),
])
def test_the_wrong_number_of_answers_is_a_validation_error(scale, given):
    error = refused("validation_error", validate_answers, scale, given)
    assert error.status == 400 and error.details["field"] == scale


@pytest.mark.parametrize("bad, why", [
    (4, "above 3"), (-1, "below 0"), (True, "a bool is not an answer"), (False, "a bool is not an answer"),
    (1.0, "a float"), ("2", "a string"), (None, "missing"),
])
def test_every_answer_is_an_int_from_0_to_3(bad, why):
    given = [0] * 9
    given[4] = bad
    error = refused("validation_error", validate_answers, PHQ9, given)
    assert error.details == {"field": PHQ9, "item": 5}, why


@pytest.mark.parametrize("given", [None, "000000000", {"a": 1}, 0])
def test_answers_must_be_a_list(given):
    refused("validation_error", validate_answers, GAD7, given)


def test_assess_validates_both_scales():
    refused("validation_error", assess, [0] * 9, [0] * 6)
    error = refused("validation_error", assess, [0] * 9 + [0], [0] * 7)
    assert error.details["field"] == PHQ9


# --- scores and bands --------------------------------------------------------------------------

@pytest.mark.parametrize("score, band", [
    (0, "minimal"), (4, "minimal"),
    (5, "mild"), (9, "mild"),
    (10, "moderate"), (14, "moderate"),
    (15, "moderately_severe"), (19, "moderately_severe"),
    (20, "severe"), (27, "severe"),
])
def test_phq9_bands_at_every_boundary(score, band):
    assert severity(PHQ9, score) == band
    assert assess(answers(score, 9), [0] * 7).phq9_severity == band


@pytest.mark.parametrize("score, band", [
    (0, "minimal"), (4, "minimal"),
    (5, "mild"), (9, "mild"),
    (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe"),
])
def test_gad7_bands_at_every_boundary(score, band):
    assert severity(GAD7, score) == band
    assert assess([0] * 9, answers(score, 7)).gad7_severity == band


@pytest.mark.parametrize("scale, score", [(PHQ9, 28), (PHQ9, -1), (GAD7, 22), (GAD7, True)])
def test_a_score_outside_the_scale_is_a_programming_error(scale, score):
    with pytest.raises(ValueError):
        severity(scale, score)


def test_scores_are_the_sum_of_the_answers():
    result = assess([1, 2, 3, 0, 1, 2, 3, 0, 0], [2, 2, 2, 1, 1, 0, 3])
    assert (result.phq9_score, result.gad7_score) == (12, 11)
    assert result.as_dict() == {"phq9": {"score": 12, "severity": "moderate"},
                                "gad7": {"score": 11, "severity": "moderate"}, "risk": False}


@pytest.mark.parametrize("item9, risk", [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item_9_above_0_is_risk(item9, risk):
    assert assess([0] * 8 + [item9], [0] * 7).risk is risk


def test_only_item_9_sets_risk():
    assert assess([3] * 8 + [0], [3] * 7).risk is False


# --- the submission window ---------------------------------------------------------------------

def test_a_confirmed_booking_takes_answers_until_its_end():
    check_can_submit("confirmed", END, START - timedelta(days=3))
    check_can_submit("confirmed", END, START)
    check_can_submit("confirmed", END, END - timedelta(seconds=1))


def test_at_its_end_the_window_is_closed():
    error = refused("invalid_state", check_can_submit, "confirmed", END, END)
    assert error.status == 409 and error.details["ends_at"] == "2026-03-10T15:45:00Z"


@pytest.mark.parametrize("status", ["pending", "declined", "cancelled", "late_cancelled", "expired", "completed",
                                    "client_no_show", "provider_no_show", "unresolved", "rescheduled"])
def test_a_booking_that_is_not_confirmed_takes_no_answers(status):
    error = refused("invalid_state", check_can_submit, status, END, START - timedelta(hours=1))
    assert error.details["state"] == status and status in error.message


def test_a_repeat_is_already_submitted_whatever_the_time():
    refused("already_submitted", check_can_submit, "confirmed", END, START, submitted=True)
    error = refused("already_submitted", check_can_submit, "completed", END, END + timedelta(days=1), submitted=True)
    assert error.status == 409


def test_referral_clients_answer_before_joining():
    error = refused("questionnaire_required", check_questionnaire_before_join, "referral", False)
    assert error.status == 409
    check_questionnaire_before_join("referral", True)


@pytest.mark.parametrize("plan", ["subscription", "insurance", "eap", None])
def test_other_clients_may_join_without_answering(plan):
    check_questionnaire_before_join(plan, False)


# --- measures over time ------------------------------------------------------------------------

def test_the_thresholds_are_the_published_ones():
    assert RELIABLE_CHANGE == {PHQ9: 6, GAD7: 4}
    assert CASENESS == {PHQ9: 10, GAD7: 8}


@pytest.mark.parametrize("series", [[], [scores(20, 15)]])
def test_fewer_than_two_submissions_give_no_flags(series):
    assert measures(series) == Measures(None, None, None)
    assert measures(series).as_dict() == {"reliable_improvement": None, "reliable_deterioration": None,
                                          "recovery": None}


@pytest.mark.parametrize("first, latest, improved", [
    ((16, 5), (10, 5), True),    # PHQ-9 down exactly 6
    ((16, 5), (11, 5), False),   # PHQ-9 down 5
    ((5, 12), (5, 8), True),     # GAD-7 down exactly 4
    ((5, 12), (5, 9), False),    # GAD-7 down 3
    ((16, 12), (10, 16), False),  # PHQ-9 down 6 but GAD-7 up 4: neither up by that much fails
    ((16, 12), (10, 15), True),   # GAD-7 up only 3
    ((10, 12), (16, 8), False),   # GAD-7 down 4 but PHQ-9 up 6
    ((10, 12), (15, 8), True),    # PHQ-9 up only 5
])
def test_reliable_improvement(first, latest, improved):
    assert measures([scores(*first), scores(*latest)]).reliable_improvement is improved


@pytest.mark.parametrize("first, latest, worse", [
    ((5, 5), (11, 5), True),     # PHQ-9 up exactly 6
    ((5, 5), (10, 5), False),    # PHQ-9 up 5
    ((5, 5), (5, 9), True),      # GAD-7 up exactly 4
    ((5, 5), (5, 8), False),     # GAD-7 up 3
    ((5, 12), (11, 8), False),   # PHQ-9 up 6 but GAD-7 down 4: neither down by that much fails
    ((5, 12), (11, 9), True),    # GAD-7 down only 3
    ((16, 5), (10, 9), False),   # GAD-7 up 4 but PHQ-9 down 6
    ((16, 5), (11, 9), True),    # PHQ-9 down only 5
])
def test_reliable_deterioration(first, latest, worse):
    assert measures([scores(*first), scores(*latest)]).reliable_deterioration is worse


def test_no_change_is_neither_improvement_nor_deterioration():
    result = measures([scores(12, 9), scores(12, 9)])
    assert (result.reliable_improvement, result.reliable_deterioration) == (False, False)


@pytest.mark.parametrize("first, latest, recovered", [
    ((10, 0), (9, 7), True),     # PHQ-9 caseness at exactly 10; latest below both
    ((0, 8), (9, 7), True),      # GAD-7 caseness at exactly 8
    ((9, 7), (0, 0), False),     # the first below caseness cannot recover
    ((15, 12), (10, 5), False),  # latest PHQ-9 still at caseness
    ((15, 12), (5, 8), False),   # latest GAD-7 still at caseness
    ((15, 12), (9, 7), True),
])
def test_recovery_is_first_at_caseness_and_latest_below_both(first, latest, recovered):
    assert measures([scores(*first), scores(*latest)]).recovery is recovered


def test_caseness_is_either_measure_at_its_threshold():
    assert at_caseness(10, 0) and at_caseness(0, 8)
    assert not at_caseness(9, 7)


def test_the_latest_is_compared_with_the_first_not_the_one_before():
    series = [scores(20, 15), scores(25, 20), scores(12, 15)]
    result = measures(series)
    assert result.reliable_improvement is True   # 20 → 12, not 25 → 12 (which would also be)
    series = [scores(10, 10), scores(4, 4), scores(10, 10)]
    assert measures(series) == Measures(False, False, False)
