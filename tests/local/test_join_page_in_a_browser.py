"""The join page in a real browser (issue 14): a provider opens the 10 minute reminder's link in
headless Chromium against `make run` (infra.local, started here on free ports, with `make clock`
moving it into the join window). The page previews fake camera and microphone, gets the stand-in's
meeting from `POST /join/{token}`, reaches amazon-chime-sdk-js's join step, and says clearly that
media cannot connect locally. Before the window it says when it opens; without camera permission it
says so; a forged link is a 404 page.

Chromium is driven over the DevTools protocol (tests/support/cdp.py): the page works in real time
(devices, network), which `--dump-dom` cannot wait for. Skipped without Chromium, except where the
browser is required (HAVEN_REQUIRE_BROWSER / CI), as in test_link_pages_in_a_browser.py.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.local.test_link_pages_in_a_browser import CHROMIUM, needs_chromium
from tests.local.test_make_targets_on_a_running_stack import Stack, outbox, pair, wait_until
from tests.support.cdp import Browser

pytestmark = pytest.mark.local

FAKE_MEDIA = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
DONE = ("cannot-connect", "joined", "no-permission", "no-devices", "refused", "page-error", "not-yet", "not-found")
STATE = ("document.body && document.body.dataset.state && [document.body.dataset.state, "
         "document.body.dataset.states || '', document.getElementById('status').textContent, "
         "document.body.dataset.meetingId || '']")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if CHROMIUM is None:
        pytest.fail("chromium is required here (HAVEN_REQUIRE_BROWSER/CI) but not installed: run .ci/setup "
                    "(apt-get install chromium)", pytrace=False)
    running = Stack(tmp_path_factory.mktemp("join-page"))
    try:
        yield running
    finally:
        running.stop()


def _reminder_links(stack: Stack, booking_id: str) -> dict[str, str]:
    """Recipient address -> the join link their 10 minute reminder email carries."""
    found = {}
    for mail in outbox(stack):
        for link in mail["links"]:
            if f"/join/{booking_id}." in link and "join now" in mail["subject"].lower():
                found[mail["to"]] = link
    return found


def _page_state(url: str, *flags: str, timeout: float = 60.0, shot: str | None = None) -> list:
    """[state, states so far, the status text, the meeting id] once the page settles. Set
    HAVEN_SCREENSHOTS=<dir> to keep a PNG named `shot` (the README's pictures were made this way)."""
    with Browser(CHROMIUM, *flags) as browser:
        page = browser.open(url)
        settled = f"(() => {{ const s = {STATE}; return s && {list(DONE)!r}.includes(s[0]) && s; }})()"
        last = browser.wait_for(page, settled, timeout=timeout)
        keep = os.environ.get("HAVEN_SCREENSHOTS")
        if keep and shot:
            Path(keep).mkdir(parents=True, exist_ok=True)
            browser.screenshot(page, Path(keep) / f"{shot}.png")
        return last or browser.eval(page, STATE)


@needs_chromium
def test_the_reminders_join_link_reaches_the_sdks_join_step_and_says_media_cannot_connect_locally(stack):
    provider, client, _ops = pair(stack)
    starts = (datetime.now(timezone.utc) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    made = stack.call("POST", "/bookings", provider["id_token"], {
        "client_id": client["id"], "modality": "video", "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert made.status_code == 201 and made.json()["status"] == "confirmed", made.text
    booking_id = made.json()["id"]
    stack.make("invoke", "FN=reminders", f"TIME={starts - timedelta(minutes=10):%Y-%m-%dT%H:%M:%SZ}")
    links = wait_until(lambda: len(_reminder_links(stack, booking_id)) == 2 and _reminder_links(stack, booking_id))
    assert links, outbox(stack)[-4:]
    provider_link, client_link = links[provider["email"]], links[client["email"]]
    assert provider_link != client_link

    # before the window (the stack's clock is real time, ~3 h ahead): the page says when it opens
    opens = starts - timedelta(minutes=10)
    state, _states, text, _meeting = _page_state(provider_link, timeout=30, shot="join-page-not-yet")
    assert state == "not-yet", text
    assert "You can join" in text and f"at {opens:%H:%M} (UTC)" in text, text

    # a forged link is a 404 page
    forged = provider_link[:-1] + ("0" if provider_link[-1] != "0" else "1")
    refused = requests.get(forged, timeout=15)
    assert refused.status_code == 404 and "not valid" in refused.text
    assert _page_state(forged, timeout=15)[0] == "not-found"

    # inside the window: preview, then the SDK's join step with the stand-in's meeting
    stack.make("clock", f"TIME={starts - timedelta(minutes=5):%Y-%m-%dT%H:%M:%SZ}")
    page = requests.get(provider_link, timeout=15)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    answer = stack.call("POST", f"/bookings/{booking_id}/join", provider["id_token"], {})
    assert answer.status_code == 200, answer.text
    meeting_id = answer.json()["meeting"]["MeetingId"]

    state, states, text, shown_meeting = _page_state(provider_link + "?join=1", *FAKE_MEDIA, timeout=90,
                                                     shot="join-page-local")
    assert "preview" in states.split() and "joining" in states.split(), (state, states, text)
    assert state == "cannot-connect", (state, states, text)
    assert "Media cannot connect locally" in text
    assert shown_meeting == meeting_id  # the stand-in's meeting, the same one the API hands out

    # a browser that refuses the camera and microphone is told so
    state, _states, text, _meeting = _page_state(client_link + "?join=1", "--use-fake-device-for-media-stream",
                                                 "--deny-permission-prompts", timeout=30)
    assert state == "no-permission", (state, text)
    assert "did not allow" in text and "camera and microphone" in text
    # the session's record shows both joined through their links (the page's POST is the join)
    view = stack.call("GET", f"/bookings/{booking_id}", client["id_token"]).json()
    assert view["client_joined_at"] and view["provider_joined_at"]

