"""Confirm/decline from the emailed link: GET shows and changes nothing; POST acts once."""
import re
from datetime import timedelta

from tests.functional.booking_world import WED_10_NY, book, credits, outbox, scene


def _token(api) -> str:
    """The token as the provider's email carries it (rendered from the outbox record)."""
    from chalicelib.adapters import templates

    [notice] = outbox("booking_requested")
    _subject, text, html = templates.render(notice.template, notice.params)
    assert "/links/" in html
    return re.search(r"/links/([A-Za-z0-9_\-.]+)", text).group(1)


def _page(api, method, token, query=""):
    return api.call(method, f"/links/{token}{query}", headers={"Content-Type": "application/x-www-form-urlencoded"},
                    raw=b"" if method == "POST" else None)


def test_get_shows_the_request_with_buttons_and_changes_nothing(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    token = _token(api)
    for _ in range(3):  # mail scanners may follow it many times
        reply = _page(api, "GET", token)
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
        assert "Confirm" in reply.json and "Decline" in reply.json and 'method="post"' in reply.json
        assert "10:00 (America/New_York)" in reply.json
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "pending"


def test_post_confirms_once_and_a_reused_link_shows_already_used(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    token = _token(api)
    reply = _page(api, "POST", token, "?action=confirm")
    assert reply.status == 200 and "confirmed" in reply.json
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "confirmed"
    assert len(outbox("booking_confirmed")) == 2
    for method, query in (("POST", "?action=decline"), ("GET", "")):
        again = _page(api, method, token, query)
        assert again.status == 409 and "already been used" in again.json
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "confirmed"


def test_post_declines_from_the_form_body(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    token = _token(api)
    reply = api.call("POST", f"/links/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"},
                     raw=b"action=decline")
    assert reply.status == 200 and "declined" in reply.json
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "declined"
    assert credits(api, sc.client) == 4


def test_expired_link_is_410_and_unknown_or_forged_is_404(world, api, clock):
    sc = scene(world, api)
    book(api, sc)
    token = _token(api)
    link_id, _, mac = token.partition(".")
    forged = f"{link_id}.{'0' * len(mac)}"
    assert _page(api, "GET", forged).status == 404
    assert _page(api, "GET", "nonsense").status == 404
    assert _page(api, "POST", "nonsense", "?action=confirm").status == 404
    clock.at = WED_10_NY - timedelta(hours=24)  # the confirmation deadline
    reply = _page(api, "GET", token)
    assert reply.status == 410 and "expired" in reply.json
    assert _page(api, "POST", token, "?action=confirm").status == 410


def test_a_booking_already_answered_in_the_app_shows_its_state(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    token = _token(api)
    api.post(f"/bookings/{booking['id']}/decline", sc.provider)
    reply = _page(api, "GET", token)
    assert reply.status == 409 and "declined" in reply.json
    reply = _page(api, "POST", token, "?action=confirm")
    assert reply.status == 409
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "declined"


def test_the_token_is_stored_only_as_a_hash(world, api):
    import hashlib

    from chalicelib.store.models import LinkModel, NotificationModel

    sc = scene(world, api)
    book(api, sc)
    token = _token(api)
    [link] = list(LinkModel.scan())
    assert link.id == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(n.params) for n in NotificationModel.scan())
    assert len(token.partition(".")[0]) >= 43  # ≥ 256 random bits before the signature
