"""`make outbox`: the emails the local stack's SES accepted, readably.

Reads `<endpoint>/moto-api/data.json` of the running emulator (`.local/stack.json`, or
`--endpoint`). moto records no send time: simple (SendEmail) messages come first, each kind
in the order sent; raw messages (with attachments) show their Date header.

moto keeps only the HTML part of a SendEmail that has both parts, so the text shown for those is
made from the HTML with each link written out beside its label; raw messages show their text
part. Every link of a message (the HTML's `href`s and the URLs in the text) is listed under
"Links", whole, so a provider can open the confirm link from here, and each calendar attachment
(`.ics`) is summarised: METHOD, SUMMARY, DTSTART, SEQUENCE, UID (and STATUS).
"""
from __future__ import annotations

import argparse
import email
import email.policy
import html
import json
import re
import sys
import urllib.error


_ANCHOR = re.compile(r"""(?is)<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>(.*?)</a\s*>""")
_HREF = re.compile(r"""(?is)\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_URL = re.compile(r"""https?://[^\s<>"')\]]+""")
CALENDAR_FIELDS = ("METHOD", "SUMMARY", "DTSTART", "SEQUENCE", "UID", "STATUS", "URL")


def _anchor_text(match: re.Match) -> str:
    href = html.unescape(match.group(1) or match.group(2) or match.group(3) or "")
    label = html.unescape(re.sub(r"(?s)<[^>]+>", "", match.group(4))).strip()
    return href if not label or label == href else f"{label} <{href}>"


def html_to_text(markup: str) -> str:
    """Readable text of an HTML email; a link keeps its target: `label <https://...>`."""
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
    anchors: list[str] = []

    def keep(match: re.Match) -> str:  # set aside whole, so nothing below can change it
        anchors.append(_anchor_text(match))
        return f"\0{len(anchors) - 1}\0"

    text = _ANCHOR.sub(keep, text)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>|</tr>", "\n", text)
    text = re.sub(r"(?s)<[^>]+>", "", text)
    text = html.unescape(text)
    text = re.sub("\0(\\d+)\0", lambda m: anchors[int(m.group(1))], text)
    return re.sub(r"\n\s*\n+", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def _recipients(destinations) -> str:
    if isinstance(destinations, dict):
        return ", ".join(a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, []))
    return ", ".join(destinations or [])


def links(*, html_parts: list[str] = (), text_parts: list[str] = ()) -> list[str]:
    """Every link target, whole and once, in order: the HTML's hrefs, then URLs in the text."""
    found: list[str] = []
    for markup in html_parts:
        for match in _HREF.finditer(markup):
            found.append(html.unescape(match.group(1) or match.group(2) or match.group(3) or "").strip())
    for text in text_parts:
        found.extend(m.group(0).rstrip(".,;:") for m in _URL.finditer(text))
    return list(dict.fromkeys(link for link in found if link and not link.startswith("#")))


def calendar_summary(ics: str) -> dict:
    """METHOD, SUMMARY, DTSTART, SEQUENCE, UID and STATUS of an iCalendar text (its first event)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    summary: dict[str, str] = {}
    in_event = False
    for line in unfolded.splitlines():
        name, _, value = line.partition(":")
        key = name.split(";", 1)[0].upper()
        if key == "BEGIN" and value.upper() == "VEVENT":
            in_event = True
        elif key == "END" and value.upper() == "VEVENT":
            break
        elif key in CALENDAR_FIELDS and key not in summary and (in_event or key == "METHOD"):
            summary[key] = value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ").strip()
    return {key: summary[key] for key in CALENDAR_FIELDS if key in summary}


def describe(record: dict) -> dict:
    """to, subject, date, text body, every link, attachment names and calendar summaries of one
    moto SES record."""
    if "raw_data" in record:
        message = email.message_from_string(record["raw_data"], policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        if body is not None and body.get_content_type() == "text/html":
            text = html_to_text(text)
        html_parts = [part.get_content() for part in message.walk()
                      if part.get_content_type() == "text/html" and not part.is_attachment()]
        attachments, calendars = [], []
        for part in message.iter_attachments():
            name = part.get_filename() or part.get_content_type()
            attachments.append(name)
            if part.get_content_type() == "text/calendar" or name.lower().endswith(".ics"):
                content = part.get_content()
                content = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
                calendars.append({"filename": name, **calendar_summary(content)})
        return {"to": str(message.get("To") or _recipients(record.get("destinations"))),
                "subject": str(message.get("Subject", "")), "date": str(message.get("Date") or "-"),
                "text": text.strip(), "links": links(html_parts=html_parts, text_parts=[text]),
                "attachments": attachments, "calendars": calendars, "id": record.get("id")}
    body = record.get("body") or ""
    html_parts = [body] if "<" in body and ">" in body else []
    if html_parts:
        body = html_to_text(body)
    if "template" in record:
        body = f"(template {record['template']}) {record.get('template_data', '')}"
    return {"to": _recipients(record.get("destinations")), "subject": record.get("subject", ""),
            "date": "-", "text": body.strip(), "links": links(html_parts=html_parts, text_parts=[body]),
            "attachments": [], "calendars": [], "id": record.get("id")}


def show(number: int, mail: dict) -> str:
    """One email as the terminal shows it."""
    lines = [f"#{number}  To: {mail['to']}", f"    Subject: {mail['subject']}", f"    Date: {mail['date']}"]
    if mail["attachments"]:
        lines.append(f"    Attachments: {', '.join(mail['attachments'])}")
    lines.extend("    " + line for line in (mail["text"].splitlines() or [""]))
    if mail["links"]:
        lines.append("    Links:")
        lines.extend(f"      [{i}] {link}" for i, link in enumerate(mail["links"], 1))
    for calendar in mail["calendars"]:
        lines.append(f"    Calendar ({calendar['filename']}):")
        lines.extend(f"      {key:<9} {calendar[key]}" for key in CALENDAR_FIELDS if key in calendar)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from infra import local, provision

    parser = argparse.ArgumentParser(description="Show the emails sent through the local SES.")
    parser.add_argument("--endpoint", help="emulator URL (default: from .local/stack.json)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--last", type=int, default=0, help="only the last N emails")
    args = parser.parse_args(argv)
    endpoint = args.endpoint or local.read_stack_file()["aws_endpoint_url"]
    try:
        records = provision.sent_mail(endpoint)
    except (urllib.error.URLError, OSError) as error:
        print(f"the emulator at {endpoint} does not answer ({error}): is `make run` up?", file=sys.stderr)
        return 1
    mails = [describe(r) for r in records]
    if args.last:
        mails = mails[-args.last:]
    if args.json:
        print(json.dumps(mails, indent=2))
        return 0
    if not mails:
        print("(no email sent yet)")
    first = len(records) - len(mails) + 1
    for number, mail in enumerate(mails, first):
        print(show(number, mail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
