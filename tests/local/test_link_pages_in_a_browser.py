"""The provider's email-link pages as a person sees them: rendered by headless Chromium.

The provider gets the booking-request email; its link opens a small page with the details and
Confirm / Decline buttons (a GET that changes nothing); the button's POST shows a result page.
Chromium comes from Debian (`apt-get install chromium`; `.ci/setup` installs it). Where it is
missing the test skips, except where the browser is required: `.ci/run` sets
HAVEN_REQUIRE_BROWSER=1 (and a CI service's `CI=true` counts too), and there it fails.
HAVEN_CHROMIUM=<path> names another binary. Set HAVEN_SCREENSHOTS=<dir> to keep the PNGs (the
README's pictures were made this way).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.aws import sent_mail

pytestmark = pytest.mark.local



def _find_chromium() -> str | None:
    named = os.environ.get("HAVEN_CHROMIUM")
    if named:
        return shutil.which(named)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _browser_required() -> bool:
    flags = (os.environ.get("HAVEN_REQUIRE_BROWSER", ""), os.environ.get("CI", ""))
    return any(flag.strip().lower() not in ("", "0", "false", "no") for flag in flags)


CHROMIUM = _find_chromium()
REQUIRED = _browser_required()
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason="Debian's chromium is not installed")
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def _chromium(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="haven-chromium-")
    try:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _screenshot(url: str, name: str) -> Path:
    keep = os.environ.get("HAVEN_SCREENSHOTS")
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="haven-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    _chromium(f"--screenshot={path}", "--window-size=760,760", url)
    return path


def _link_from_the_providers_email(provider_email: str) -> str:
    for mail in reversed(sent_mail()):
        destinations = mail.get("destinations")
        to = destinations.get("ToAddresses", []) if isinstance(destinations, dict) else destinations or []
        body = mail.get("body") or mail.get("raw_data") or ""
        if provider_email in to and "/links/" in body:
            return re.search(r"https?://[^\s\"'<>]+/links/[A-Za-z0-9_\-.]+", body).group(0)
    raise AssertionError("no booking-request email with a link reached the provider")


@needs_chromium
def test_the_email_link_pages_render_in_a_real_browser(http, world):
    if CHROMIUM is None:
        pytest.fail("chromium is required here (HAVEN_REQUIRE_BROWSER/CI) but not installed: run .ci/setup "
                    "(apt-get install chromium)", pytrace=False)
    provider = world.provider(timezone="UTC")
    assert http.put("/providers/me/availability", provider, {"timezone": "UTC", "windows": ALL_DAY}).status == 200
    client = world.client()
    world.room(client, provider)
    world.plan(client, kind="eap", live_credits=2, messaging_credits=0, period_anchor=None)
    starts = (datetime.now(timezone.utc) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking = http.post("/bookings", client, {"provider_id": provider.id, "modality": "video",
                                              "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert booking.status == 201, booking.text
    link = _link_from_the_providers_email(provider.email)

    dom = _chromium("--dump-dom", link).stdout
    assert "Confirm" in dom and "Decline" in dom and "<form" in dom
    page = _screenshot(link, "link-page")
    assert page.stat().st_size > 5_000  # a real rendering, not a blank page
    # the browser's GET changed nothing (mail scanners follow links)
    assert http.get(f"/bookings/{booking.json['id']}", client).json["status"] == "pending"

    import requests

    result = requests.post(link, data={"action": "confirm"}, timeout=15)
    assert result.status_code == 200 and "confirmed" in result.text.lower()
    result_file = Path(tempfile.mkdtemp()) / "result.html"
    result_file.write_text(result.text)
    assert _screenshot(result_file.as_uri(), "link-confirmed").stat().st_size > 5_000
    assert http.get(f"/bookings/{booking.json['id']}", client).json["status"] == "confirmed"

    used = requests.post(link, data={"action": "confirm"}, timeout=15)
    assert used.status_code == 409 and "<html" in used.text.lower()
