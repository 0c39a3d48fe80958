"""Session records: the text, who writes what when, the client's 72 h wait, the append-only view."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.records import (
    AMENDMENT, AUTHOR_ROLE, ENTRY_KINDS, MEMBER_NOTE, RECORD, Entry, check_can_add_member_note, check_can_amend,
    check_can_write_record, check_client_can_read, is_visible_to_client, record_view, validate_text, visible_from,
)

UTC = timezone.utc
END = datetime(2026, 3, 10, 15, 45, tzinfo=UTC)
VISIBLE = END + timedelta(hours=72)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


# --- text --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["x", "Factual summary.", "é" * 20_000, "🙂" * 20_000])
def test_a_text_of_1_to_20000_code_points_is_valid(text):
    assert validate_text(text) == text


def test_length_counts_code_points_not_bytes():
    emoji = "🙂" * 20_000  # 80,000 bytes in UTF-8, 40,000 UTF-16 units
    assert validate_text(emoji) == emoji
    refused("validation_error", validate_text, emoji + "🙂")


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "x" * 20_001])
def test_an_empty_blank_or_too_long_text_is_a_validation_error(text):
    error = refused("validation_error", validate_text, text)
    assert error.status == 400 and error.details["field"] == "text"


@pytest.mark.parametrize("text", [None, 42, ["text"]])
def test_the_text_must_be_a_string(text):
    refused("validation_error", validate_text, text)


# --- writing -----------------------------------------------------------------------------------

def test_the_provider_writes_the_record_after_the_session_is_completed():
    check_can_write_record("completed")


@pytest.mark.parametrize("status", ["pending", "confirmed", "declined", "cancelled", "late_cancelled",
                                    "client_no_show", "provider_no_show", "expired", "unresolved", "rescheduled"])
def test_no_record_before_or_without_a_completed_session(status):
    error = refused("invalid_state", check_can_write_record, status)
    assert error.status == 409 and error.details["state"] == status and status in error.message


def test_a_second_record_already_exists():
    error = refused("already_exists", check_can_write_record, "completed", record_exists=True)
    assert error.status == 409


def test_amendments_follow_a_record():
    check_can_amend("completed", record_exists=True)
    refused("invalid_state", check_can_amend, "completed", record_exists=False)


def test_who_writes_each_kind_of_entry():
    assert ENTRY_KINDS == ("record", "amendment", "member_note")
    assert AUTHOR_ROLE == {RECORD: "provider", AMENDMENT: "provider", MEMBER_NOTE: "client"}


# --- the client's view -------------------------------------------------------------------------

def test_visible_from_is_72_hours_after_the_end():
    assert visible_from(END) == VISIBLE == datetime(2026, 3, 13, 15, 45, tzinfo=UTC)


def test_the_client_sees_the_record_from_visible_from_inclusive():
    assert is_visible_to_client(END, VISIBLE)
    check_client_can_read(END, VISIBLE)
    assert not is_visible_to_client(END, VISIBLE - timedelta(seconds=1))


def test_before_visible_from_the_client_is_told_when():
    error = refused("not_yet_visible", check_client_can_read, END, VISIBLE - timedelta(seconds=1))
    assert error.status == 409 and error.details == {"visible_from": "2026-03-13T15:45:00Z"}


def test_the_72_hours_are_a_setting():
    check_client_can_read(END, END + timedelta(hours=24), hours=24)


def test_member_notes_wait_for_visible_from_then_need_a_record():
    refused("not_yet_visible", check_can_add_member_note, "completed", END, VISIBLE - timedelta(minutes=1),
            record_exists=True)
    error = refused("invalid_state", check_can_add_member_note, "completed", END, VISIBLE, record_exists=False)
    assert error.details["state"] == "completed"
    check_can_add_member_note("completed", END, VISIBLE, record_exists=True)


def test_before_visible_from_the_wait_is_named_even_without_a_record():
    refused("not_yet_visible", check_can_add_member_note, "completed", END, END, record_exists=False)


# --- the view ----------------------------------------------------------------------------------

def entry(entry_id, kind, minutes, author="p1"):
    return Entry(entry_id, kind, author, f"text {entry_id}", END + timedelta(minutes=minutes))


def test_the_record_view_lists_entries_oldest_first():
    view = record_view("bk1", END, [entry("e3", MEMBER_NOTE, 5000, "c1"), entry("e1", RECORD, 30),
                                    entry("e2", AMENDMENT, 90)])
    assert view["booking_id"] == "bk1" and view["visible_from"] == "2026-03-13T15:45:00Z"
    assert [e["id"] for e in view["entries"]] == ["e1", "e2", "e3"]
    assert view["entries"][0] == {"id": "e1", "kind": "record", "author_id": "p1", "text": "text e1",
                                  "created_at": "2026-03-10T16:15:00Z"}


def test_at_the_same_instant_the_record_comes_before_its_amendment():
    view = record_view("bk1", END, [entry("a", AMENDMENT, 30), entry("b", RECORD, 30)])
    assert [e["kind"] for e in view["entries"]] == ["record", "amendment"]


def test_no_entries_yet_is_an_empty_list():
    assert record_view("bk1", END, [])["entries"] == []


def test_an_entry_has_one_of_the_three_kinds():
    with pytest.raises(ValueError):
        Entry("e1", "edit", "p1", "text", END)
