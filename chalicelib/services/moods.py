"""Mood check-ins (SPEC §2 Between sessions): score, emotions, an optional note; lists by the
client's local dates with weekly means by local Monday; seen by the provider only while the
client's `share_moods` setting is on (every such read access-logged).

Notes are sealed with the client's own data key (wiring `user_cipher`); score and emotions
(numbers and words from a fixed list) are stored as they are, so weeks can be summed without
decrypting anything.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import between_sessions as rules
from chalicelib.errors import HavenError
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services.journal import next_cursor, page_after, registered_client
from chalicelib.store import between as store
from chalicelib.store import users as user_store
from chalicelib.store.models import BetweenModel, UserModel


PURPOSE = "mood-note"  # in each note's encryption context


def note(client_id: str, mood: BetweenModel) -> str | None:
    return wiring.get("user_cipher").decrypt(client_id, mood.body, purpose=PURPOSE) if mood.body is not None else None


def render(mood: BetweenModel, note: str | None, tz: str) -> dict:
    from chalicelib.clock import parse_iso
    from chalicelib.domain.wallclock import local_date, zone

    return {"id": mood.id, "score": int(mood.score), "emotions": list(mood.emotions or []), "note": note,
            "created_at": mood.created_at,
            "date": local_date(parse_iso(mood.created_at), zone(tz)).isoformat()}


def check_in(caller: Caller, body: dict, now: datetime) -> dict:
    draft = rules.mood_draft(body.get("score"), body.get("emotions"), body.get("note"))
    user = registered_client(caller)
    mood_id = store.new_id(store.MOOD, now)
    sealed = (wiring.get("user_cipher").encrypt(caller.id, draft.note, purpose=PURPOSE)
              if draft.note is not None else None)
    mood = store.put_mood(caller.id, mood_id, iso(now), draft.score, list(draft.emotions), sealed)
    metrics.add_metric(name="MoodCheckIn", unit="Count", value=1)
    logger.info("mood checked in", extra={"mood_id": mood_id})
    return render(mood, draft.note, user.timezone or "UTC")


def _window(query: dict, tz: str, now: datetime):
    """Local dates `from` (inclusive) and `to` (exclusive); by default the 28 days up to today."""
    from chalicelib.domain.wallclock import local_date, zone

    today = local_date(now, zone(tz))
    last = query.get("to") or (today + timedelta(days=1)).isoformat()
    if query.get("from"):
        first = query["from"]
    else:
        first = (rules.parse_local_date(last, "to") - timedelta(days=wiring.settings().mood_default_days)).isoformat()
    start, end = rules.list_window(first, last, tz)
    return rules.parse_local_date(first, "from"), rules.parse_local_date(last, "to"), start, end


def _listing(client: UserModel, query: dict, scope_stem: str, now: datetime, before_read=None) -> dict:
    tz = client.timezone or "UTC"
    first, last, start, end = _window(query, tz, now)
    scope = f"{scope_stem}:{first.isoformat()}:{last.isoformat()}"
    after = page_after(scope, query.get("next"), store.MOOD)
    if before_read is not None:
        before_read()
    moods = store.moods_between(client.id, start, end)  # oldest first; bounded by the window (≤ 366 days)
    newest_first = list(reversed(moods))
    if after is not None:
        newest_first = [m for m in newest_first if m.id < after]
    limit = query["limit"]
    page, more = newest_first[:limit], len(newest_first) > limit
    items = [render(m, note(client.id, m), tz) for m in page]
    return {"items": items, "next": next_cursor(scope, page, more), "weekly": rules.weekly(moods, tz),
            "from": first.isoformat(), "to": last.isoformat(), "timezone": tz}


def own_moods(caller: Caller, query: dict, now: datetime) -> dict:
    client = registered_client(caller)
    return _listing(client, query, f"moods:{caller.id}", now)


def shared_moods(caller: Caller, room_id: str, query: dict, now: datetime) -> dict:
    """The room's client's moods, for the room's provider, while the client shares them."""
    from chalicelib.services import rooms
    from chalicelib.store import access_log

    room = rooms.member_room(caller, room_id)
    client = user_store.get(room.client_id)
    if client is None or not client.share_moods:
        raise HavenError("This client does not share their moods with you.", "forbidden")

    def log_read():  # after the request is known to be good, before anything is read
        access_log.record(room.client_id, caller.id, caller.role, "moods", now, room_id=room_id)

    result = _listing(client, query, f"moods-shared:{room_id}:{caller.id}", now, before_read=log_read)
    logger.info("shared moods read", extra={"room_id": room_id, "moods": len(result["items"])})
    return result


def update_settings(caller: Caller, body: dict, now: datetime) -> dict:
    """PATCH /clients/me/settings: `share_moods` (off until the client turns it on)."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.store.errors import condition_failed

    for _attempt in range(3):
        user = registered_client(caller)
        try:  # the version read: a concurrent profile save is not overwritten, and we retry
            user.update(actions=[UserModel.share_moods.set(bool(body["share_moods"])),
                                 UserModel.updated_at.set(iso(now))])
            break
        except UpdateError as error:
            if not condition_failed(error):
                raise
    else:
        raise HavenError("Your profile changed meanwhile; try again.", "request_in_progress")
    logger.info("settings changed", extra={"share_moods": bool(body["share_moods"])})
    return settings_of(user)


def settings_of(user: UserModel) -> dict:
    return {"share_moods": bool(user.share_moods)}
