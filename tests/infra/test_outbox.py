"""`make outbox` shows every link of every email whole (moto keeps only the HTML part of a
SendEmail, where the links are `href`s) and summarises each `.ics` attachment. Mail is sent here
with the app's own mailer into this process's emulator and read back as `make outbox` reads it."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3

from chalicelib.adapters import ics, templates
from chalicelib.adapters.mail import SesMailer
from infra import outbox, provision
from tests.infra.conftest import STACK

ROOT = Path(__file__).resolve().parents[2]
LINK = "http://127.0.0.1:8000/links/AbC_123-xyz.0123456789abcdef0123456789abcdef0123456789a?x=1&y=2"


def mailer() -> SesMailer:
    ses = boto3.client("ses", region_name=STACK["region"], endpoint_url=STACK["aws_endpoint_url"])
    return SesMailer(ses, STACK["mail_sender"])


def sent_to(address: str) -> list[dict]:
    return [outbox.describe(r) for r in provision.sent_mail(STACK["aws_endpoint_url"])
            if address in str(r.get("destinations")) or address in (r.get("raw_data") or "")]


def test_a_simple_emails_links_are_shown_whole_beside_their_labels_and_listed():
    to = f"provider-{uuid.uuid4().hex[:8]}@example.com"
    subject, text, html = templates.render("new_message", {"action_url": LINK, "action_label": "Confirm or decline"})
    mailer().send(to, subject, text, html)

    [mail] = sent_to(to)
    assert LINK in mail["links"]
    assert f"Confirm or decline <{LINK}>" in mail["text"]  # made from the HTML: the target stays
    shown = outbox.show(1, mail)
    assert f"[1] {LINK}" in shown


def test_a_calendar_attachment_is_summarised_and_the_text_parts_links_listed():
    to = f"client-{uuid.uuid4().hex[:8]}@example.com"
    starts = datetime(2026, 12, 4, 15, 30, tzinfo=timezone.utc)
    calendar = ics.build(series_id="bk_0123456789", sequence=2, method=ics.REQUEST, starts_at=starts,
                         ends_at=starts + timedelta(minutes=45), summary="Video session with your Haven provider",
                         organizer=STACK["mail_sender"], attendees=[to], recipient_tz="Europe/London",
                         stamp=starts - timedelta(days=2))
    attachment = ics.attachment(calendar, ics.REQUEST)
    html = f'<p>Your session is confirmed.</p><p><a href="{LINK.replace("&", "&amp;")}">Open Haven</a></p>'
    mailer().send(to, "Session confirmed", f"Your session is confirmed.\n\nOpen Haven: {LINK}", html,
                  [(attachment["filename"], attachment["content_type"], attachment["data"].encode())])

    [mail] = sent_to(to)
    assert mail["attachments"] == ["invite.ics"]
    assert mail["links"] == [LINK]
    assert mail["calendars"] == [{"filename": "invite.ics", "METHOD": "REQUEST",
                                  "SUMMARY": "Video session with your Haven provider",
                                  "DTSTART": "20261204T153000Z", "SEQUENCE": "2", "UID": "bk_0123456789@haven",
                                  "STATUS": "CONFIRMED"}]
    shown = outbox.show(3, mail)
    for line in ("Calendar (invite.ics):", "METHOD    REQUEST", "DTSTART   20261204T153000Z", "SEQUENCE  2",
                 "UID       bk_0123456789@haven", f"[1] {LINK}"):
        assert line in shown, line


def test_folded_and_escaped_calendar_lines_are_read_whole():
    text = ("BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nSUMMARY:Session\\, cancelled\\; a very long \r\n"
            " summary line\r\nDTSTART;TZID=UTC:20261204T153000\r\nUID:x@haven\r\nSEQUENCE:3\r\n"
            "STATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert outbox.calendar_summary(text) == {"METHOD": "CANCEL", "SUMMARY": "Session, cancelled; a very long summary line",
                                             "DTSTART": "20261204T153000", "SEQUENCE": "3", "UID": "x@haven",
                                             "STATUS": "CANCELLED"}


def test_the_command_prints_links_and_calendars_and_json(tmp_path):
    to = f"json-{uuid.uuid4().hex[:8]}@example.com"
    subject, text, html = templates.render("new_message", {"action_url": LINK, "action_label": "Open"})
    mailer().send(to, subject, text, html)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_"))}
    env["HAVEN_STACK_FILE"] = str(tmp_path / "none.json")  # --endpoint is enough
    shown = subprocess.run([sys.executable, "-m", "infra.outbox", "--endpoint", STACK["aws_endpoint_url"]], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"To: {to}" in shown and "Links:" in shown and LINK in shown
    as_json = subprocess.run([sys.executable, "-m", "infra.outbox", "--json", "--endpoint",
                              STACK["aws_endpoint_url"]], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    import json

    mails = [m for m in json.loads(as_json) if m["to"] == to]
    assert mails and mails[0]["links"] == [LINK] and mails[0]["calendars"] == []
