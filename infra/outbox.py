"""`make outbox`: the emails the local stack's SES accepted, readably.

Reads `<endpoint>/moto-api/data.json` of the running emulator (`.local/stack.json`, or
`--endpoint`). moto records no send time: simple (SendEmail) messages come first, each kind
in the order sent; raw messages (with attachments) show their Date header.
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


def html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>|</tr>", "\n", text)
    text = re.sub(r"(?s)<[^>]+>", "", text)
    text = html.unescape(text)
    return re.sub(r"\n\s*\n+", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def _recipients(destinations) -> str:
    if isinstance(destinations, dict):
        return ", ".join(a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, []))
    return ", ".join(destinations or [])


def describe(record: dict) -> dict:
    """to, subject, date, text body and attachment names of one moto SES record."""
    if "raw_data" in record:
        message = email.message_from_string(record["raw_data"], policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        if body is not None and body.get_content_type() == "text/html":
            text = html_to_text(text)
        attachments = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
        return {"to": str(message.get("To") or _recipients(record.get("destinations"))),
                "subject": str(message.get("Subject", "")), "date": str(message.get("Date") or "-"),
                "text": text.strip(), "attachments": attachments, "id": record.get("id")}
    body = record.get("body") or ""
    if "<" in body and ">" in body:
        body = html_to_text(body)
    if "template" in record:
        body = f"(template {record['template']}) {record.get('template_data', '')}"
    return {"to": _recipients(record.get("destinations")), "subject": record.get("subject", ""),
            "date": "-", "text": body.strip(), "attachments": [], "id": record.get("id")}


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
    for number, mail in enumerate(mails, 1):
        print(f"#{number}  To: {mail['to']}")
        print(f"    Subject: {mail['subject']}")
        print(f"    Date: {mail['date']}")
        if mail["attachments"]:
            print(f"    Attachments: {', '.join(mail['attachments'])}")
        print("    " + "\n    ".join(mail["text"].splitlines() or [""]))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
