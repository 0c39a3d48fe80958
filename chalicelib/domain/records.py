"""Session records (SPEC §2 "Clinical record", Session records).

After a `completed` session its provider writes one factual record, then only appends
amendments. The client sees record and amendments from `visible_from` = `ends_at` + 72 h
(inclusive) and may then append member notes, once a record exists. Nobody edits or deletes an
entry: the record is an append-only list of entries of three kinds.

`status` is always the booking's *effective* status at `now` (`bookings.effective_status`), so a
confirmed session closed as `completed` by the clock can be written up before any sweep ran.
The 72 h is a SPEC default (`settings` passes it). Nothing here reads the clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from chalicelib.domain.bookings import CLIENT, COMPLETED, PROVIDER
from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import iso_z, to_utc

RECORD, AMENDMENT, MEMBER_NOTE = "record", "amendment", "member_note"
ENTRY_KINDS = (RECORD, AMENDMENT, MEMBER_NOTE)
# Who writes each kind of entry.
AUTHOR_ROLE = {RECORD: PROVIDER, AMENDMENT: PROVIDER, MEMBER_NOTE: CLIENT}

TEXT_MIN_CHARS, TEXT_MAX_CHARS = 1, 20_000
VISIBLE_AFTER_HOURS = 72


def validate_text(text, max_chars: int = TEXT_MAX_CHARS) -> str:
    """1..`max_chars` Unicode code points (Python's `len`), not only whitespace: a blank entry
    could never be edited away, since nobody edits or deletes one. Else 400 `validation_error`."""
    if not isinstance(text, str):
        raise DomainError("validation_error", "text must be a string.", field="text")
    if not text.strip():
        raise DomainError("validation_error", "text must not be empty.", field="text")
    if len(text) > max_chars:
        raise DomainError("validation_error", f"text must be at most {max_chars:,} characters; got {len(text):,}.",
                          field="text", max_chars=max_chars)
    return text


def visible_from(ends_at: datetime, hours: float = VISIBLE_AFTER_HOURS) -> datetime:
    """When the client starts to see the record: `hours` after the session's end."""
    return to_utc(ends_at) + timedelta(hours=hours)


def is_visible_to_client(ends_at: datetime, now: datetime, hours: float = VISIBLE_AFTER_HOURS) -> bool:
    """Inclusive: at `visible_from` itself the client sees it."""
    return to_utc(now) >= visible_from(ends_at, hours)


def check_can_write_record(status: str, *, record_exists: bool = False) -> None:
    """The provider writes the record once, after the session is `completed`: otherwise 409
    `invalid_state` (naming the state); a second record is 409 `already_exists`."""
    if status != COMPLETED:
        raise DomainError("invalid_state", f"The booking is {status}; a record can be written once the session "
                          "is completed.", state=status)
    if record_exists:
        raise DomainError("already_exists", "This session already has a record; add an amendment instead.")


def check_can_amend(status: str, *, record_exists: bool) -> None:
    """Amendments follow a record (409 `invalid_state` when there is none yet)."""
    if not record_exists:
        raise DomainError("invalid_state", f"The booking is {status} and has no record yet; write the record first.",
                          state=status)


def check_client_can_read(ends_at: datetime, now: datetime, hours: float = VISIBLE_AFTER_HOURS) -> None:
    """Before `visible_from` the client gets 409 `not_yet_visible` (with `visible_from`)."""
    if not is_visible_to_client(ends_at, now, hours):
        opens = visible_from(ends_at, hours)
        raise DomainError("not_yet_visible", f"The session record is shared with you from {iso_z(opens)}.",
                          visible_from=iso_z(opens))


def check_can_add_member_note(status: str, ends_at: datetime, now: datetime, *, record_exists: bool,
                              hours: float = VISIBLE_AFTER_HOURS) -> None:
    """The client appends member notes once they see the record (`not_yet_visible` before), and
    only to a record that exists (409 `invalid_state` otherwise). Discharged clients may too."""
    check_client_can_read(ends_at, now, hours)
    if not record_exists:
        raise DomainError("invalid_state", f"The booking is {status} and has no record yet, so there is nothing "
                          "to add a note to.", state=status)


@dataclass(frozen=True)
class Entry:
    """One entry of a session record, as stored once (decrypted) and shown."""
    id: str
    kind: str
    author_id: str
    text: str
    created_at: datetime

    def __post_init__(self):
        if self.kind not in ENTRY_KINDS:
            raise ValueError(f"unknown record entry kind {self.kind!r}")

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "author_id": self.author_id, "text": self.text,
                "created_at": iso_z(self.created_at)}


_KIND_ORDER = {kind: n for n, kind in enumerate(ENTRY_KINDS)}


def record_view(booking_id: str, ends_at: datetime, entries: Iterable[Entry],
                hours: float = VISIBLE_AFTER_HOURS) -> dict:
    """`GET /bookings/{id}/record`: `{"booking_id","visible_from","entries"}`, entries oldest first
    (the record before anything written at the same instant). No entries: `entries: []`."""
    ordered = sorted(entries, key=lambda e: (to_utc(e.created_at), _KIND_ORDER[e.kind], e.id))
    return {"booking_id": booking_id, "visible_from": iso_z(visible_from(ends_at, hours)),
            "entries": [entry.as_dict() for entry in ordered]}
