"""Session ratings: the score, who may rate and when, the anonymising fold, the public average."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.ratings import (
    Totals, average, check_can_rate, display, fold, fold_batches, rating_window, should_fold, validate_score,
)

UTC = timezone.utc
END = datetime(2026, 3, 10, 15, 45, tzinfo=UTC)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_a_score_is_a_whole_number_from_1_to_5(score):
    assert validate_score(score) == score


@pytest.mark.parametrize("score", [0, 6, -1, True, 4.0, 4.5, "5", None])
def test_anything_else_is_a_validation_error(score):
    error = refused("validation_error", validate_score, score)
    assert error.status == 400 and error.details == {"field": "score"}


# --- when --------------------------------------------------------------------------------------

def test_the_window_is_30_days_from_the_end():
    assert rating_window(END) == (END, END + timedelta(days=30))


def test_a_completed_session_may_be_rated_from_its_end():
    check_can_rate("completed", END, END)


def test_a_completed_session_may_be_rated_until_just_before_30_days_have_passed():
    check_can_rate("completed", END, END + timedelta(days=30) - timedelta(seconds=1))


def test_thirty_days_after_the_end_it_is_too_late():
    error = refused("invalid_state", check_can_rate, "completed", END, END + timedelta(days=30))
    assert error.status == 409 and error.details["closed_at"] == "2026-04-09T15:45:00Z"


def test_a_session_completed_before_its_end_cannot_be_rated_before_its_end():
    error = refused("invalid_state", check_can_rate, "completed", END, END - timedelta(minutes=5))
    assert error.details["opens_at"] == "2026-03-10T15:45:00Z"


@pytest.mark.parametrize("status", ["pending", "confirmed", "declined", "cancelled", "late_cancelled",
                                    "client_no_show", "provider_no_show", "expired", "unresolved", "rescheduled"])
def test_only_a_completed_session_can_be_rated(status):
    error = refused("invalid_state", check_can_rate, status, END, END + timedelta(days=1))
    assert error.details["state"] == status and status in error.message


def test_rating_again_is_already_rated_even_after_the_window():
    refused("already_rated", check_can_rate, "completed", END, END + timedelta(days=1), rated=True)
    error = refused("already_rated", check_can_rate, "completed", END, END + timedelta(days=90), rated=True)
    assert error.status == 409


def test_the_window_length_is_a_setting():
    check_can_rate("completed", END, END + timedelta(days=40), days=45)


# --- folding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("waiting, folds", [(0, False), (1, False), (2, False), (3, True), (7, True)])
def test_scores_are_folded_only_once_three_wait(waiting, folds):
    assert should_fold(waiting) is folds


def test_folding_adds_every_waiting_score_to_the_totals():
    assert fold(Totals(12, 3), [5, 4, 3]) == Totals(24, 6)
    assert fold(Totals(), [1, 1, 1, 1]) == Totals(4, 4)


def test_folding_fewer_than_three_is_refused():
    with pytest.raises(ValueError):
        fold(Totals(10, 2), [5, 5])


# --- the public average ------------------------------------------------------------------------

@pytest.mark.parametrize("count, shown", [(0, False), (4, False), (5, True), (6, True)])
def test_the_rating_shows_from_five_folded_ratings(count, shown):
    result = display(Totals(4 * count, count))
    assert (result is not None) is shown


@pytest.mark.parametrize("total, count, mean", [
    (21, 5, 4.2),     # exact
    (85, 20, 4.3),    # 4.25 rounds half up (banker's rounding would give 4.2)
    (87, 20, 4.4),    # 4.35 rounds half up, exactly (a float would give 4.3)
    (29, 7, 4.1),     # 4.142857…
    (23, 6, 3.8),     # 3.8333…
    (25, 5, 5.0),
    (5, 5, 1.0),
])
def test_the_average_has_one_decimal_rounded_half_up(total, count, mean):
    assert average(total, count) == mean
    assert display(Totals(total, count)) == {"average": mean, "count": count}


# --- folding in batches ----------------------------------------------------------------------------

@pytest.mark.parametrize("count,expected", [
    (0, []), (2, []), (3, [3]), (99, [99]), (100, [97, 3]), (101, [98, 3]), (102, [99, 3]), (198, [99, 99]),
    (200, [99, 98, 3]),
])
def test_folds_never_take_fewer_than_three_scores(count, expected):
    batches = fold_batches(count, 99, 3)
    assert batches == expected
    assert sum(batches) == (count if count >= 3 else 0) and all(3 <= b <= 99 for b in batches)


def test_a_fold_too_small_for_the_threshold_is_a_programming_error():
    with pytest.raises(ValueError):
        fold_batches(10, 2, 3)
