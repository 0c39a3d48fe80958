"""The join link (SPEC §2 "Live sessions on real media", issue 10 item 6): each recipient's own
signed link in the 10 min reminder email, in the `.ics` and in the room reminder (rendered for the
reader), and the page it opens: inside the window the meeting page, before it when it opens,
a forged link 404, the page's POST the same join answer as `POST /bookings/{id}/join`."""
import re
from datetime import timedelta

from tests.functional.booking_world import WED_10_NY, address, book, calendar_of, outbox, run_sweep, scene

LINK = re.compile(r"https?://[^\s\"'<>]+/join/([A-Za-z0-9_.\-]+)")


def _confirmed(world, api, modality="video"):
    sc = scene(world, api)
    booking = book(api, sc, modality=modality)
    assert api.post(f"/bookings/{booking['id']}/confirm", sc.provider).status == 200
    return sc, booking


def _reminder_links(sc) -> dict[str, str]:
    """Recipient email -> the join link their 10 min reminder email carries (text and HTML)."""
    from chalicelib.adapters import templates

    links = {}
    for notice in outbox("booking_reminder_short"):
        _subject, text, html = templates.render(notice.template, notice.params)
        [in_text] = LINK.findall(text)
        assert in_text in html
        links[address(notice)] = in_text
    return links


def _page(api, method, token, query=""):
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    return api.call(method, f"/join/{token}{query}", headers=headers, raw=b"{}" if method == "POST" else None)


def test_each_recipients_reminder_carries_their_own_link_which_joins_them_only(world, api, clock):
    sc, booking = _confirmed(world, api)
    assert run_sweep("reminders", WED_10_NY - timedelta(minutes=10))["reminders_sent"] == 1
    links = _reminder_links(sc)
    client_token, provider_token = links[sc.client.email], links[sc.provider.email]
    assert client_token != provider_token
    for token in (client_token, provider_token):
        assert "as=" not in token and sc.client.id not in token and sc.provider.id not in token
    # the outbox keeps no link (it is made when the email is rendered)
    assert all("/join/" not in repr(n.params) for n in outbox("booking_reminder_short"))

    clock.at = WED_10_NY - timedelta(minutes=5)
    joined = _page(api, "POST", client_token)
    assert joined.status == 200, joined.json
    assert joined.headers["Cache-Control"] == "no-store"
    assert joined.json["join_url"].endswith(f"/join/{client_token}")
    # the Chime credentials of this participant (the stand-in's meeting locally)
    assert joined.json["meeting"]["ExternalMeetingId"] == booking["id"]
    assert joined.json["attendee"]["ExternalUserId"] == sc.client.id and joined.json["attendee"]["JoinToken"]
    view = api.get(f"/bookings/{booking['id']}", sc.client).json
    assert view["client_joined_at"] is not None and view["provider_joined_at"] is None  # the client only
    again = _page(api, "POST", client_token)  # reusable inside the window
    assert again.status == 200
    as_provider = _page(api, "POST", provider_token)
    assert as_provider.status == 200 and as_provider.json["attendee"]["ExternalUserId"] == sc.provider.id
    assert as_provider.json["meeting"]["MeetingId"] == joined.json["meeting"]["MeetingId"]  # one meeting
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["provider_joined_at"] is not None

    # the same answer as the API's join for that participant
    direct = api.post(f"/bookings/{booking['id']}/join", sc.client, {}).json
    assert set(direct) == set(joined.json) and direct["join_url"] == joined.json["join_url"]

    # a link made up from the other's (side swapped, signature kept) is refused
    forged = client_token.replace(".c.", ".p.")
    assert _page(api, "POST", forged).status == 404 and _page(api, "POST", forged).code == "not_found"
    assert _page(api, "GET", forged).status == 404


def test_the_link_is_refused_outside_the_join_window(world, api, clock):
    sc, booking = _confirmed(world, api)
    run_sweep("reminders", WED_10_NY - timedelta(minutes=10))
    token = _reminder_links(sc)[sc.provider.email]
    clock.at = WED_10_NY - timedelta(minutes=11)
    early = _page(api, "POST", token)
    assert (early.status, early.code) == (409, "outside_join_window")
    clock.at = WED_10_NY + timedelta(minutes=45)
    assert _page(api, "POST", token).code == "outside_join_window"
    page = _page(api, "GET", token)
    assert page.status == 410 and "ended" in page.json
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["provider_joined_at"] is None


def test_the_ics_of_each_recipient_carries_their_own_link(world, api):
    sc, booking = _confirmed(world, api)
    invitations = {address(n): calendar_of(n).replace("\r\n ", "") for n in outbox("booking_confirmed")}
    client_ics, provider_ics = invitations[sc.client.email], invitations[sc.provider.email]
    client_link = re.search(r"^URL[^:]*:(\S+)\r?$", client_ics, re.M).group(1)
    provider_link = re.search(r"^URL[^:]*:(\S+)\r?$", provider_ics, re.M).group(1)
    assert client_link != provider_link
    assert f"/join/{booking['id']}.c." in client_link and f"/join/{booking['id']}.p." in provider_link
    assert "Join from " + client_link in client_ics.replace("\\", "")  # and in the description
    assert provider_link not in client_ics and client_link not in provider_ics
    # the join page recognises both
    for link in (client_link, provider_link):
        assert _page(api, "GET", link.rsplit("/", 1)[1]).status == 409  # before the window: when it opens


def test_the_room_reminder_gives_each_reader_their_own_link(world, api):
    sc, booking = _confirmed(world, api)
    run_sweep("reminders", WED_10_NY - timedelta(minutes=10))
    emailed = _reminder_links(sc)

    def reminder(user):
        items = api.get(f"/rooms/{sc.room_id}/messages", user).json["items"]
        [message] = [m for m in items if m["kind"] == "system" and "open to join" in m["text"]]
        return message

    for_client, for_provider = reminder(sc.client), reminder(sc.provider)
    assert for_client["id"] == for_provider["id"]  # one message, each reader's own link
    assert for_client["join_url"].endswith("/join/" + emailed[sc.client.email])
    assert for_provider["join_url"].endswith("/join/" + emailed[sc.provider.email])
    assert "/join/" not in for_client["text"]  # the stored text names no link
    # a provider the room is handed to later is not that booking's provider: no link for them
    successor = world.provider()
    assert api.put("/ops/assignments", world.ops, {"client_id": sc.client.id, "provider_id": successor.id}).status == 200
    assert "join_url" not in reminder(successor)
    assert reminder(sc.client)["join_url"] == for_client["join_url"]
    # messages other than session reminders carry none
    assert api.post(f"/rooms/{sc.room_id}/messages", sc.client, {"kind": "text", "text": "see you soon"}).status == 201
    items = api.get(f"/rooms/{sc.room_id}/messages", sc.client).json["items"]
    [mine] = [m for m in items if m.get("text") == "see you soon"]
    assert "join_url" not in mine


def test_the_page_inside_the_window_loads_the_meeting_script_with_the_link_pages_headers(world, api, clock):
    sc, booking = _confirmed(world, api)
    run_sweep("reminders", WED_10_NY - timedelta(minutes=10))
    token = _reminder_links(sc)[sc.provider.email]
    clock.at = WED_10_NY - timedelta(minutes=2)
    page = _page(api, "GET", token)
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    for name, value in (("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
                        ("X-Robots-Tag", "noindex")):
        assert page.headers[name] == value
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "wss://*.chime.aws" in csp and "https://*.chime.aws" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    html = page.json
    assert 'data-state="loading"' in html and 'data-modality="video"' in html
    assert re.search(r'<script src="\.\./join-assets/join\.js\?v=[0-9a-f]+" defer>', html)
    assert "<script>" not in html  # no inline script: the CSP allows none
    assert 'id="join-button"' in html and 'id="mute-button"' in html and 'id="leave-button"' in html
    assert "Wed 25 Nov 2026, 10:00 (America/New_York)" in html
    # GET changes nothing (mail scanners follow links)
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["provider_joined_at"] is None
    script = api.call("GET", "/join-assets/join.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "MeetingSessionConfiguration" in script.json or len(script.json) > 100_000


def test_before_the_window_the_page_says_when_it_opens(world, api, clock):
    sc, booking = _confirmed(world, api)
    invitation = [n for n in outbox("booking_confirmed") if address(n) == sc.provider.email][0]
    token = re.search(r"/join/([A-Za-z0-9_.\-]+)", calendar_of(invitation).replace("\r\n ", "")).group(1)
    clock.at = WED_10_NY - timedelta(hours=3)  # 07:00 in New York
    page = _page(api, "GET", token)
    assert page.status == 409 and 'data-state="not-yet"' in page.json  # not valid yet, and says when
    assert "You can join today at 09:50 (America/New_York), in 2 hours and 50 minutes" in page.json
    assert "starts today at 10:00 (America/New_York)" in page.json
    clock.at = WED_10_NY - timedelta(days=1, hours=3)
    assert "You can join tomorrow at 09:50 (America/New_York)" in _page(api, "GET", token).json
    clock.at = WED_10_NY - timedelta(days=2)
    assert "You can join on Wed 25 Nov 2026 at 09:50 (America/New_York)" in _page(api, "GET", token).json


def test_a_chat_sessions_link_leads_to_the_room(world, api, clock):
    sc, booking = _confirmed(world, api, modality="chat")
    run_sweep("reminders", WED_10_NY - timedelta(minutes=10))
    token = _reminder_links(sc)[sc.client.email]
    clock.at = WED_10_NY
    page = _page(api, "GET", token)
    assert page.status == 200 and 'data-state="chat"' in page.json and "your room in the Haven app" in page.json
    joined = _page(api, "POST", token)
    assert joined.status == 200 and set(joined.json) == {"join_url"}
    assert joined.json["join_url"].endswith(f"/rooms/{sc.room_id}")


def test_unknown_or_forged_links_are_404_pages(world, api):
    sc, booking = _confirmed(world, api)
    invitation = outbox("booking_confirmed")[0]
    token = re.search(r"/join/([A-Za-z0-9_.\-]+)", calendar_of(invitation).replace("\r\n ", "")).group(1)
    bad_mac = token[:-1] + ("0" if token[-1] != "0" else "1")
    other_booking = "bk_" + "0" * 20 + token[len(booking["id"]):]
    for forged in (bad_mac, other_booking, booking["id"], "nonsense", "x" * 300):
        page = _page(api, "GET", forged)
        assert page.status == 404 and "not valid" in page.json, forged
        assert page.headers["Cache-Control"] == "no-store"
        assert _page(api, "POST", forged).code == "not_found"
    for method in ("GET", "POST"):
        assert _page(api, method, token).status != 404  # the genuine one is known


def test_the_join_link_is_never_logged(world, api, clock, capfd, caplog):
    caplog.set_level("DEBUG")
    sc, booking = _confirmed(world, api)
    run_sweep("reminders", WED_10_NY - timedelta(minutes=10))
    token = _reminder_links(sc)[sc.client.email]
    clock.at = WED_10_NY
    _page(api, "GET", token)
    _page(api, "POST", token)
    _page(api, "GET", token[:-2] + "00")
    out, err = capfd.readouterr()
    logs = out + err + "\n".join(repr(vars(record)) for record in caplog.records)
    assert booking["id"] in logs
    assert token.rsplit(".", 1)[1] not in logs and token not in logs


def test_a_cancelled_or_moved_sessions_link_says_so(world, api, clock):
    sc, booking = _confirmed(world, api)
    invitation = [n for n in outbox("booking_confirmed") if address(n) == sc.client.email][0]
    token = re.search(r"/join/([A-Za-z0-9_.\-]+)", calendar_of(invitation).replace("\r\n ", "")).group(1)
    moved = api.post(f"/bookings/{booking['id']}/reschedule", sc.provider, {"starts_at": "2026-11-25T16:00:00Z"})
    assert moved.status == 201, moved.json
    page = _page(api, "GET", token)
    assert page.status == 410 and "moved to another time" in page.json
    new_invites = [n for n in outbox("booking_confirmed") + outbox("booking_rescheduled")
                   if address(n) == sc.client.email and "_ics" in n.params
                   and n.params["_ics"].get("booking_id") == moved.json["id"]]
    assert new_invites  # the moved session's invitation carries the new booking's link
    new_token = re.search(r"/join/([A-Za-z0-9_.\-]+)", calendar_of(new_invites[0]).replace("\r\n ", "")).group(1)
    assert new_token.startswith(moved.json["id"] + ".c.")
    assert api.post(f"/bookings/{moved.json['id']}/cancel", sc.provider).status == 200
    page = _page(api, "GET", new_token)
    assert page.status == 410 and "This session was cancelled" in page.json


def test_a_room_reminder_retried_after_a_cancellation_or_the_session_is_dropped(world, api, clock):
    """The room's reminder is recorded with its booking's version and the session's end: a retry
    (its first post failed) after the booking was cancelled, or after the session, posts nothing."""
    from chalicelib.domain import booking_plans as plans
    from chalicelib.services import outbox as outbox_service
    from chalicelib.services.bookings import notices
    from chalicelib.store import bookings as store

    sc, booking = _confirmed(world, api)
    b = store.find(booking["id"])
    now = WED_10_NY - timedelta(minutes=10)
    [note] = notices.records([plans.RoomNote(b, "remind_short", "remind_short", version=b.version, join_link=True)],
                             now)
    assert note.guard == {"kind": "booking", "id": b.id, "version": b.version} and note.moot_at
    note.save()
    outbox_service.deliver(note, now)  # while confirmed it is posted

    [late] = notices.records([plans.RoomNote(b, "remind_long", "remind_long", version=b.version, join_link=True)],
                             now)
    late.save()
    assert api.post(f"/bookings/{booking['id']}/cancel", sc.client, {}).status == 200
    outbox_service.deliver(late, now)  # not leased: the guard is checked
    # the same reminder recorded again (another key), delivered by its own request after the session
    after_end = notices.records([plans.RoomNote(b, "remind_short_again", "remind_short", version=b.version,
                                                join_link=True)], now)[0]
    after_end.save()
    outbox_service.deliver(after_end, WED_10_NY + timedelta(hours=2), leased=True)  # leased: no guard read
    texts = [m.get("text") or "" for m in api.get(f"/rooms/{sc.room_id}/messages", sc.client).json["items"]]
    assert sum("open to join now" in t for t in texts) == 1, texts  # the first one only
    assert not any(t.startswith("Reminder:") for t in texts), texts
