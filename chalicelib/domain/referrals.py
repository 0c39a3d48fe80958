"""Referral programs (SPEC §2 "Care pathways: referral programs"): the referral code, its
redemption rules, and the six-month program window.

A referral code is derived, never drawn: `code_for(code_id, key)` is the HMAC-SHA256 of a
random id (the service draws it) under the signing key, so a retried "prescription email"
carries the same code and nothing but its hash need be stored. Its first 80 bits are written
in Crockford's base32 (digits and letters without I, L, O, U) and grouped `XXXX-XXXX-XXXX-XXXX`.

Typing is forgiving: `normalize` drops case, spaces and hyphens (ASCII and typographic dashes,
as mail clients and phones produce), and reads O as 0 and I/L as 1, as Crockford's decoding
does; a code never contains those letters, so this cannot turn one valid code into another.
The store keys referrals by `code_hash(code)`, the SHA-256 of the normalized code: 80 bits of
HMAC output need no slow hash, as with link tokens.

Redemption (`redeem_check`) is judged in SPEC order: unknown or issued to another email →
`not_found`; used → `already_used`; past `redeem_by` → `code_expired`; a program still running →
`already_active`. `redeem_by` is half-open: at `redeem_by` itself the code has expired.

First access is the moment of redemption; `program_ends_at` is the same UTC time six calendar
months later, a missing day becoming the month's last (31 Aug → 28/29 Feb). No session may
start at or after it (`after_program_end`).
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from chalicelib.domain.bookings import MODALITIES
from chalicelib.domain.errors import DomainError, invalid_state
from chalicelib.domain.wallclock import iso_z, to_utc

ISSUED, REDEEMED, EXPIRED = "issued", "redeemed", "expired"
STATUSES = (ISSUED, REDEEMED, EXPIRED)

# Crockford's base32: 0-9 and A-Z without I, L, O (mistaken for 1 and 0) and U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 16                 # 16 × 5 = 80 bits (SPEC: at least 60)
CODE_BITS = CODE_CHARS * 5
GROUP = 4
# Read what a person may have typed for a character that is not in the alphabet.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"   # hyphen-minus, hyphens, en/em dash, minus

# SPEC defaults; the service passes settings.
REDEEM_DAYS = 30
PROGRAM_MONTHS = 6
MIN_SESSIONS, MAX_SESSIONS = 1, 20


# --- the code ----------------------------------------------------------------------------------

def code_for(code_id: str | bytes, key: str | bytes) -> str:
    """The referral code for a random `code_id` under the signing `key`, as emailed:
    `XXXX-XXXX-XXXX-XXXX`, 80 bits of HMAC-SHA256 in Crockford base32. Deterministic."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(code_id, str):
        code_id = code_id.encode()
    if not key or not code_id:
        raise ValueError("a referral code needs a signing key and a code id")
    # The "referral:" label keeps these MACs apart from every other use of the signing key.
    mac = hmac.new(key, b"referral:" + code_id, hashlib.sha256).digest()
    number = int.from_bytes(mac, "big") >> (len(mac) * 8 - CODE_BITS)
    chars = "".join(ALPHABET[(number >> (5 * (CODE_CHARS - 1 - i))) & 31] for i in range(CODE_CHARS))
    return format_code(chars)


def format_code(normalized: str) -> str:
    """`K7QM2D9XHP4TWC8R` → `K7QM-2D9X-HP4T-WC8R`."""
    return "-".join(normalized[i:i + GROUP] for i in range(0, len(normalized), GROUP))


def normalize(code) -> str:
    """The code as compared: upper case, without spaces, hyphens or dashes, with O read as 0
    and I, L as 1. Anything that is not a string normalizes to ""."""
    if not isinstance(code, str):
        return ""
    text = "".join(code.split())
    for dash in _DASHES:
        text = text.replace(dash, "")
    return text.upper().translate(_READ_AS)


def is_well_formed(code) -> bool:
    """Whether `code` normalizes to 16 characters of the alphabet. A malformed code is
    simply unknown (`not_found`); this only spares the store a read."""
    normalized = normalize(code)
    return len(normalized) == CODE_CHARS and all(char in ALPHABET for char in normalized)


def code_hash(code: str) -> str:
    """SHA-256 hex of the normalized code: the only form in which a code is stored.
    Normalizes first (normalizing is idempotent), so any typed form hashes the same."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()


# --- what ops issue ------------------------------------------------------------------------------

def check_terms(sessions, modalities: Iterable[str], *, min_sessions: int = MIN_SESSIONS,
                max_sessions: int = MAX_SESSIONS) -> tuple[str, ...]:
    """Validate a referral's session count and modalities; answer the modalities in canonical
    order (`video`, `audio`, `chat`), each once. `validation_error` with `details.field`."""
    if isinstance(sessions, bool) or not isinstance(sessions, int) or not min_sessions <= sessions <= max_sessions:
        raise DomainError("validation_error", f"sessions must be a whole number from {min_sessions} to {max_sessions}.",
                          field="sessions")
    if isinstance(modalities, (str, bytes)) or not isinstance(modalities, Iterable):
        raise DomainError("validation_error", "modalities must be a list.", field="modalities")
    chosen = list(modalities)
    unknown = [m for m in chosen if m not in MODALITIES]
    if not chosen or unknown:
        raise DomainError("validation_error", f"modalities must be one or more of {', '.join(MODALITIES)}.",
                          field="modalities")
    return tuple(m for m in MODALITIES if m in chosen)


def check_modality(modality: str, allowed: Iterable[str]) -> None:
    """`modality_not_allowed` for a session in a modality the referral does not allow."""
    allowed = tuple(allowed)
    if modality not in allowed:
        raise DomainError("modality_not_allowed", f"Your referral covers {', '.join(allowed)} sessions only.",
                          allowed=list(allowed))


def redeem_by(issued_at: datetime, *, days: int = REDEEM_DAYS) -> datetime:
    """The code may be redeemed while `now < redeem_by` (issue, or reissue, + 30 days)."""
    return to_utc(issued_at) + timedelta(days=days)


# --- redeeming -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferralView:
    """What the rules need to know about a referral found by its code's hash."""
    email: str
    status: str
    redeem_by: datetime

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown referral status {self.status!r}")


def effective_status(referral: ReferralView, now: datetime) -> str:
    """`issued` turns `expired` at `redeem_by` (half-open), before any sweep persists it."""
    if referral.status == ISSUED and to_utc(now) >= to_utc(referral.redeem_by):
        return EXPIRED
    return referral.status


def same_email(a: str, b: str) -> bool:
    """Emails compare case-insensitively (and without surrounding spaces)."""
    return isinstance(a, str) and isinstance(b, str) and a.strip().casefold() == b.strip().casefold()


def program_running(program_ends_at: datetime | None, now: datetime, *, discharged: bool = False) -> bool:
    """Whether a client's referral program still runs: one exists, it has not reached its
    end (half-open), and the client has not been discharged from it (a discharged client may
    redeem a new code and become active again)."""
    return program_ends_at is not None and not discharged and to_utc(now) < to_utc(program_ends_at)


def redeem_check(referral: ReferralView | None, email: str, now: datetime, *,
                 program_is_running: bool = False) -> None:
    """Raise the first rule a redemption breaks, in SPEC order; return None when it may proceed.

    `referral` is what the code's hash found (None: unknown, or a code voided by a reissue,
    whose hash the store no longer maps). `email` is the redeeming client's. A code issued to
    somebody else answers exactly like an unknown one, so codes cannot be probed.
    `program_is_running`: see `program_running`.
    """
    if referral is None or not same_email(referral.email, email):
        raise DomainError("not_found", "No such referral code. Check the code in your referral email.")
    status = effective_status(referral, now)
    if status == REDEEMED:
        raise DomainError("already_used", "This referral code has already been used.")
    if status == EXPIRED:
        raise DomainError("code_expired", "This referral code has expired. Ask your referrer for a new one.",
                          redeem_by=iso_z(referral.redeem_by))
    if program_is_running:
        raise DomainError("already_active", "Your referral program is still running.")


def check_reissue(referral: ReferralView, now: datetime) -> None:
    """Ops may reissue only an `issued` referral (by the clock: not one past `redeem_by`,
    for which ops issue a new referral); `invalid_state` names the current state."""
    status = effective_status(referral, now)
    if status != ISSUED:
        raise invalid_state(status, "reissued", what="referral")


# --- the program ---------------------------------------------------------------------------------

def add_months(instant: datetime, months: int) -> datetime:
    """The same UTC time `months` calendar months later; a day the month lacks becomes its
    last day (31 Jan + 1 month = 28/29 Feb)."""
    instant = to_utc(instant)
    month0 = instant.month - 1 + months
    year, month = instant.year + month0 // 12, month0 % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def program_ends_at(first_access: datetime, *, months: int = PROGRAM_MONTHS) -> datetime:
    """The end of a program whose first access (redemption) was `first_access`: the same UTC
    time six calendar months later. Sessions must start before it."""
    return add_months(first_access, months)


def check_before_program_end(starts_at: datetime, program_ends_at: datetime | None) -> None:
    """`after_program_end` for a session starting at or after the program's end."""
    if program_ends_at is not None and to_utc(starts_at) >= to_utc(program_ends_at):
        raise DomainError("after_program_end", "Sessions must start before your referral program ends.",
                          program_ends_at=iso_z(program_ends_at))
