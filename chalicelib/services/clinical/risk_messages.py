"""Risk language in client messages (SPEC §2 "Risk language in messages").

`on_member_message` is a `message_posted` handler (subscribed in `chalicelib.bootstrap`): it runs
after the message is stored and counted, so it never blocks or delays it, and a failure here is
logged (ids only) and metered, never turned into an error for the sender. The detector
(`domain.risk_language`) is pure and in-process: no text leaves Haven.

A hit is ONE transaction:
- the message's `flag` = `{"category", "version"}` (never the words), shown to the provider as
  `flagged: true`;
- an urgent email to the provider (no content) if none went for this room in the last hour, and
  a system message with the crisis resources of the client's region if none was posted in the
  last 24 h — each slot taken on the room with a condition, so concurrent hits send one;
- a due item 1 hour on: the deadlines sweep tells ops, once, if the provider's read marker has
  not reached the message by then.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from chalicelib import wiring
from chalicelib.clock import parse_iso
from chalicelib.domain import crisis
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.store import clinical as store
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.models import MessageModel, RoomModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork

if TYPE_CHECKING:
    from chalicelib.domain.risk_language import Detection

ATTEMPTS = 3


def on_member_message(room: RoomModel, caller: Caller, message: MessageModel, now: datetime, people=None) -> None:
    """Check a client's text message; act on a hit. Never raises."""
    if not caller.is_client or message.kind != "text" or message.body is None:
        return
    try:
        # Imported here, not at start-up: compiling the phrase list costs ~0.15 s of CPU, which a
        # cold start serving anything but a client's text message should not pay.
        from chalicelib.domain import risk_language

        detection = risk_language.detect(wiring.get("cipher").decrypt(room.id, message.body, room.key_blob))
        if detection is None:
            return
        act(room, message, detection, now, people)
    except Exception as error:  # the message is stored; a failed check must not fail the sender
        metrics.add_metric(name="RiskCheckFailed", unit="Count", value=1)
        logger.error("risk language check failed", extra={"room_id": room.id, "message_id": message.id,
                                                          "error": type(error).__name__})


def _quiet(last: str | None, now: datetime, seconds: int) -> bool:
    return last is None or parse_iso(last) <= now - timedelta(seconds=seconds)


def crisis_text(region: str | None) -> str:
    return ("Haven is not a crisis service. If you are thinking about ending your life or harming yourself, "
            f"please reach out now: {crisis.summary_line(region)} Your provider has been told that you may "
            "need support.")


def act(room: RoomModel, message: MessageModel, detection: Detection, now: datetime,
        people=None) -> bool:
    """Flag, alert, post the crisis resources and arm the unread check, in one transaction.
    `people()`: the members' profiles by id (one read for both; the post may have read them)."""
    s = wiring.settings()
    if people is None:
        people = cache(lambda: user_store.get_many([i for i in (room.client_id, room.provider_id) if i]))
    seq = int(message.seq)
    for _attempt in range(ATTEMPTS):
        alert = _quiet(room.risk_alert_at, now, s.risk_alert_interval_seconds)
        notice = _quiet(room.risk_notice_at, now, s.risk_notice_interval_seconds)
        uow = UnitOfWork()
        store.stage_message_flag(uow, room.id, seq, detection.category, detection.version)
        store.stage_room_risk_marks(
            uow, room.id, now,
            alert_quiet_since=now - timedelta(seconds=s.risk_alert_interval_seconds) if alert else None,
            notice_quiet_since=now - timedelta(seconds=s.risk_notice_interval_seconds) if notice else None)
        if alert:
            provider = people().get(room.provider_id)
            if provider is not None:
                uow.record(outbox.record(f"risk_msg:{room.id}:{seq}:provider", "risk_message_provider",
                                         provider.email, {"room_id": room.id}, now))
        if notice:
            client = people().get(room.client_id)
            uow.record(outbox.room_message(f"risk_msg:{room.id}:{seq}:crisis", room.id,
                                           crisis_text(client.region if client else None), now, to="client"))
        uow.put(store.timer(store.risk_unread_timer_id(room.id, seq), store.RISK_UNREAD_KIND, room.id,
                            now + timedelta(minutes=s.risk_unread_minutes), now,
                            {"room_id": room.id, "seq": seq, "message_id": message.id,
                             "provider_id": room.provider_id}))
        try:
            uow.commit()
        except Refused:  # another hit in this room took a slot meanwhile: read the room again
            room = room_store.get(room.id) or room
            continue
        outbox.deliver_all(uow.records, now)
        metrics.add_metric(name="RiskLanguageFlagged", unit="Count", value=1)
        # ids only: not even the category (it is clinical), which stays on the message
        logger.info("message flagged", extra={"room_id": room.id, "message_id": message.id,
                                              "provider_alerted": alert, "crisis_notice": notice})
        return True
    logger.error("message flag not saved", extra={"room_id": room.id, "message_id": message.id})
    return False


def sweep_unread(now: datetime) -> int:
    """Deadlines sweep: a flagged message the provider has not read within the hour → ops told, once."""
    s = wiring.settings()
    told = 0
    for t in store.due(store.RISK_UNREAD_KIND, now, s.sweep_batch):
        data = t.data or {}
        room = room_store.get(data.get("room_id") or t.ref_id)
        seq = int(data.get("seq", 0))
        uow = UnitOfWork()
        if room is None or int(room.read_provider_seq or 0) >= seq:
            store.stage_settle(uow, t, "read", now)
        else:
            uow.record(outbox.record(f"risk_msg:{room.id}:{seq}:ops", "risk_message_unread_ops", s.ops_email,
                                     {"room_id": room.id, "provider_id": room.provider_id,
                                      "message_id": data.get("message_id")}, now))
            store.stage_settle(uow, t, "ops_told", now)
        try:
            uow.commit()
        except Refused:
            continue  # another run took it
        if uow.records:
            outbox.deliver_all(uow.records, now)
            told += 1
            metrics.add_metric(name="FlaggedMessageEscalated", unit="Count", value=1)
            logger.info("flagged message unread: ops told", extra={"room_id": room.id})
    return told
