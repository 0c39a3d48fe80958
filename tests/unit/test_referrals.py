"""Referral codes, redemption in SPEC order, and the six-month program window."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.referrals import (
    ALPHABET, CODE_BITS, EXPIRED, ISSUED, REDEEMED, STATUSES, ReferralView, add_months, check_before_program_end,
    check_modality, check_reissue, check_terms, code_for, code_hash, effective_status, format_code, is_well_formed,
    normalize, program_ends_at, program_running, redeem_by, redeem_check,
)

UTC = timezone.utc
KEY = b"test-signing-key"
ISSUED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EMAIL = "Ada@Example.com"


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


def referral(status=ISSUED, email="ada@example.com", issued_at=ISSUED_AT):
    return ReferralView(email=email, status=status, redeem_by=redeem_by(issued_at))


# --- the code ----------------------------------------------------------------------------------

def test_a_code_is_four_groups_of_four_crockford_characters():
    code = code_for("rid-1", KEY)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code), code


def test_a_code_carries_at_least_60_bits():
    assert CODE_BITS >= 60 and len(ALPHABET) == 32 and len(set(ALPHABET)) == 32


def test_the_alphabet_has_no_ambiguous_letters():
    assert not set("ILOU") & set(ALPHABET)


def test_the_same_id_and_key_always_give_the_same_code_so_a_retried_email_carries_it():
    assert code_for("rid-1", KEY) == code_for("rid-1", KEY) == code_for(b"rid-1", KEY.decode())


@pytest.mark.parametrize("other_id, other_key", [("rid-2", KEY), ("rid-1", b"another-key")])
def test_another_id_or_another_key_gives_another_code(other_id, other_key):
    assert code_for(other_id, other_key) != code_for("rid-1", KEY)


def test_codes_spread_over_the_whole_alphabet():
    chars = set("".join(normalize(code_for(f"rid-{n}", KEY)) for n in range(200)))
    assert chars == set(ALPHABET)


@pytest.mark.parametrize("code_id, key", [("", KEY), ("rid", b""), ("rid", "")])
def test_a_code_needs_an_id_and_a_key(code_id, key):
    with pytest.raises(ValueError):
        code_for(code_id, key)


def test_format_groups_by_four():
    assert format_code("K7QM2D9XHP4TWC8R") == "K7QM-2D9X-HP4T-WC8R"


@pytest.mark.parametrize("typed", [
    "K7QM-2D9X-HP4T-WC8R", "k7qm-2d9x-hp4t-wc8r", "K7QM 2D9X HP4T WC8R", "k7qm2d9xhp4twc8r",
    "  K7QM - 2D9X\t-HP4T-WC8R \n", "K7QM\u20132D9X\u2014HP4T\u2011WC8R",
])
def test_normalize_ignores_case_spaces_and_hyphens(typed):
    assert normalize(typed) == "K7QM2D9XHP4TWC8R"


def test_normalize_reads_o_as_zero_and_i_l_as_one():
    assert normalize("oOiIlL") == "001111"


@pytest.mark.parametrize("value", [None, 12, b"K7QM"])
def test_normalize_of_a_non_string_is_empty(value):
    assert normalize(value) == ""


@pytest.mark.parametrize("code, well_formed", [
    ("K7QM-2D9X-HP4T-WC8R", True), ("k7qm 2d9x hp4t wc8r", True), ("K7QM-2D9X-HP4T-WC8", False),
    ("K7QM-2D9X-HP4T-WC8RR", False), ("K7QM-2D9X-HP4T-WC8U", False), ("", False), (None, False),
])
def test_well_formed_codes(code, well_formed):
    assert is_well_formed(code) is well_formed


def test_the_hash_is_sha256_hex_of_the_normalized_code_whatever_was_typed():
    code = code_for("rid-1", KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", code_hash(code))
    assert code_hash(code) == code_hash(code.lower().replace("-", " ")) == code_hash(normalize(code))
    assert code_hash(code) != code_hash(code_for("rid-2", KEY))


# --- terms ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sessions", [1, 20])
def test_sessions_from_1_to_20(sessions):
    assert check_terms(sessions, ["video"]) == ("video",)


@pytest.mark.parametrize("sessions", [0, 21, -1, True, 2.0, "3", None])
def test_sessions_out_of_range_or_not_whole_are_refused(sessions):
    assert refused("validation_error", check_terms, sessions, ["video"]).details == {"field": "sessions"}


def test_the_session_limits_are_settings():
    assert check_terms(30, ["chat"], max_sessions=30) == ("chat",)


def test_modalities_come_back_once_each_in_canonical_order():
    assert check_terms(5, ["chat", "video", "chat"]) == ("video", "chat")
    assert check_terms(5, ("audio", "chat", "video")) == ("video", "audio", "chat")


@pytest.mark.parametrize("modalities", [[], ["phone"], ["video", "Video"], "video", None, 3])
def test_bad_modalities_are_refused(modalities):
    assert refused("validation_error", check_terms, 5, modalities).details == {"field": "modalities"}


def test_a_session_outside_the_referrals_modalities_is_not_allowed():
    check_modality("video", ("video", "chat"))
    error = refused("modality_not_allowed", check_modality, "audio", ("video", "chat"))
    assert error.status == 400 and error.details == {"allowed": ["video", "chat"]}


# --- redeem_by and the status by the clock -------------------------------------------------------

def test_redeem_by_is_issue_plus_30_days():
    assert redeem_by(ISSUED_AT) == utc(2026, 3, 31, 10)
    assert redeem_by(ISSUED_AT, days=7) == utc(2026, 3, 8, 10)


def test_an_issued_code_expires_at_redeem_by_itself():
    view = referral()
    assert effective_status(view, view.redeem_by - timedelta(microseconds=1)) == ISSUED
    assert effective_status(view, view.redeem_by) == EXPIRED


@pytest.mark.parametrize("status", [REDEEMED, EXPIRED])
def test_a_redeemed_or_expired_referral_keeps_its_status(status):
    assert effective_status(referral(status), utc(2030, 1, 1)) == status


def test_an_unknown_status_is_a_programming_error():
    with pytest.raises(ValueError):
        ReferralView(email=EMAIL, status="void", redeem_by=ISSUED_AT)
    assert STATUSES == ("issued", "redeemed", "expired")


# --- redeeming, in SPEC order --------------------------------------------------------------------

def test_a_good_code_for_the_right_email_may_be_redeemed():
    assert redeem_check(referral(), EMAIL, NOW) is None


def test_emails_compare_ignoring_case():
    redeem_check(referral(email="ADA@EXAMPLE.COM"), "ada@example.com", NOW)


def test_an_unknown_code_is_not_found():
    assert refused("not_found", redeem_check, None, EMAIL, NOW).status == 404


def test_a_code_issued_to_another_email_is_not_found_even_if_used_or_expired():
    for status in STATUSES:
        refused("not_found", redeem_check, referral(status, email="bob@example.com"), EMAIL, NOW,
                program_is_running=True)


def test_a_used_code_is_already_used_before_expiry_and_before_a_running_program():
    error = refused("already_used", redeem_check, referral(REDEEMED), EMAIL, utc(2030, 1, 1), program_is_running=True)
    assert error.status == 409


def test_a_code_past_redeem_by_is_expired_before_a_running_program():
    view = referral()
    error = refused("code_expired", redeem_check, view, EMAIL, view.redeem_by, program_is_running=True)
    assert error.status == 410 and error.details == {"redeem_by": "2026-03-31T10:00:00Z"}


def test_a_code_a_moment_before_redeem_by_still_redeems():
    view = referral()
    redeem_check(view, EMAIL, view.redeem_by - timedelta(seconds=1))


def test_a_stored_expired_status_is_expired():
    refused("code_expired", redeem_check, referral(EXPIRED), EMAIL, NOW)


def test_a_program_still_running_is_already_active():
    assert refused("already_active", redeem_check, referral(), EMAIL, NOW, program_is_running=True).status == 409


@pytest.mark.parametrize("ends_at, discharged, running", [
    (None, False, False),                               # no program yet
    (NOW + timedelta(seconds=1), False, True),
    (NOW, False, False),                                # ended at its end (half-open)
    (NOW - timedelta(days=1), False, False),
    (NOW + timedelta(days=30), True, False),            # discharged: a new code makes them active
])
def test_when_a_program_is_running(ends_at, discharged, running):
    assert program_running(ends_at, NOW, discharged=discharged) is running


# --- reissue ---------------------------------------------------------------------------------------

def test_an_issued_referral_may_be_reissued():
    check_reissue(referral(), NOW)


@pytest.mark.parametrize("view, now, state", [
    (referral(REDEEMED), NOW, "redeemed"),
    (referral(EXPIRED), NOW, "expired"),
    (referral(), redeem_by(ISSUED_AT), "expired"),
])
def test_only_an_issued_referral_may_be_reissued(view, now, state):
    error = refused("invalid_state", check_reissue, view, now)
    assert error.details == {"state": state} and state in error.message


# --- the program window ------------------------------------------------------------------------

@pytest.mark.parametrize("first_access, ends_at", [
    (utc(2026, 1, 31, 9, 15), utc(2026, 7, 31, 9, 15)),     # 31 Jan + 6 months = 31 Jul
    (utc(2026, 8, 31, 23, 59), utc(2027, 2, 28, 23, 59)),   # 31 Aug → 28 Feb (common year)
    (utc(2027, 8, 31, 0, 0), utc(2028, 2, 29, 0, 0)),       # 31 Aug → 29 Feb (leap year)
    (utc(2026, 8, 30, 12), utc(2027, 2, 28, 12)),
    (utc(2026, 3, 31, 12), utc(2026, 9, 30, 12)),           # 30-day September
    (utc(2026, 7, 15, 8, 30, 5), utc(2027, 1, 15, 8, 30, 5)),  # over the new year, seconds kept
    (utc(2026, 2, 28, 6), utc(2026, 8, 28, 6)),
])
def test_a_program_ends_at_the_same_utc_time_six_calendar_months_later(first_access, ends_at):
    assert program_ends_at(first_access) == ends_at


def test_program_end_is_computed_in_utc_whatever_zone_the_instant_carries():
    from zoneinfo import ZoneInfo
    # 2026-08-31 20:00 in New York is 2026-09-01 00:00Z: September + 6 = March 1st.
    first = datetime(2026, 8, 31, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    assert program_ends_at(first) == utc(2027, 3, 1, 0, 0)


def test_the_program_length_is_a_setting():
    assert program_ends_at(utc(2026, 1, 31), months=1) == utc(2026, 2, 28)
    assert add_months(utc(2026, 11, 30), 3) == utc(2027, 2, 28)


def test_a_naive_first_access_is_a_programming_error():
    with pytest.raises(ValueError):
        program_ends_at(datetime(2026, 1, 1))


def test_no_session_may_start_at_or_after_program_end():
    ends = utc(2026, 7, 31, 9, 15)
    check_before_program_end(ends - timedelta(seconds=1), ends)
    check_before_program_end(utc(2030, 1, 1), None)
    error = refused("after_program_end", check_before_program_end, ends, ends)
    assert error.status == 400 and error.details == {"program_ends_at": "2026-07-31T09:15:00Z"}
