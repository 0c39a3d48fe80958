"""The outbox (SPEC §2 Email delivery): record a notice, deliver it through its channel, retry.

A leaf: it knows the notifications table and a registry of channels that the composition root
(`chalicelib.bootstrap`) hands over at start: `email` (templates + the mailer) and
`room_message` (a system message in a room). It imports no other service.

Every notice is recorded before it is sent, under a deterministic id, so recording it again is a
no-op and a sent notice is never sent again. A send is claimed with a short lease (a conditional
update) so two sweeps never send the same pending notice at once. A failed send stays pending
and the deadlines sweep retries it with backoff. A crash after SES accepted the mail but before
the `sent` record is written can, rarely, send it twice (at least once, not exactly once).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import wiring
from chalicelib.clock import iso, sortable
from chalicelib.observability import logger, metrics
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import NotificationModel

PENDING = "pending"
LEASE = timedelta(minutes=2)
# A notice may also be a system message for a room (`to` is the room id): the same record-then-
# deliver path makes it at least once, like an email, when it follows a change a sweep commits.
ROOM_MESSAGE = "room_message"
EMAIL = "email"

# channel -> deliver(to, template, params, attachments, now); registered by `bootstrap.start`.
_channels: dict[str, Callable] = {}


def register_channel(name: str, deliver_fn: Callable) -> None:
    _channels[name] = deliver_fn


def _channel(template: str) -> Callable:
    name = ROOM_MESSAGE if template == ROOM_MESSAGE else EMAIL
    if name not in _channels:
        raise RuntimeError(f"no outbox channel {name!r}: call chalicelib.bootstrap.start() first")
    return _channels[name]


# guard kind -> still_meaningful(guard) ; registered by `bootstrap.start` (e.g. "booking": the
# booking is still at the version the notice was made for).
_guards: dict[str, Callable[[dict], bool]] = {}

SENT, DROPPED = "sent", "dropped"
USER = "user:"


class Moot(Exception):
    """Raised by a channel when a notice can no longer be delivered meaningfully (its recipient
    is gone): the notice is dropped, not retried."""


def user_address(user_id: str) -> str:
    """A recipient named by id: the email channel reads the profile's address when it sends."""
    return USER + user_id


def register_guard(kind: str, check: Callable[[dict], bool]) -> None:
    _guards[kind] = check


def _backoff(attempts: int) -> timedelta:
    """Retries follow the sweeps: 1, 2, 4 … minutes, never more than one sweep period, so a
    recovered mail service drains within one or two runs (SPEC: "retried by the next sweep")."""
    cap = wiring.settings().notification_retry_cap_minutes
    return timedelta(minutes=min(cap, 2 ** max(0, attempts - 1)))


def record(key: str, template: str, to: str, params: dict, now: datetime, *, attachments=None,
           moot_at: datetime | None = None, guard: dict | None = None) -> NotificationModel:
    """A pending notice, not yet saved (save it alone or inside a transaction). It is born leased
    to the request that makes it, so the sweep leaves it alone while that request sends it; if the
    request dies first, the lease runs out and the sweep sends it.

    `moot_at`: from then on the notice means nothing any more (a "join now" email after the
    session ended) and is dropped, never sent late. `guard`: `{"kind", ...}` checked before a
    retry (a reminder whose booking was cancelled meanwhile is dropped)."""
    return NotificationModel(key, template=template, to=to,
                             params={**params, "_attachments": attachments} if attachments else params,
                             created_at=iso(now), status="pending", pending=PENDING,
                             retry_at=sortable(now + LEASE), moot_at=sortable(moot_at) if moot_at else None,
                             guard=guard)


def room_message(key: str, room_id: str, text: str, now: datetime, *, to: str | None = None,
                 join_booking_id: str | None = None, join_provider_id: str | None = None,
                 moot_at: datetime | None = None, guard: dict | None = None) -> NotificationModel:
    """A system message for a room, recorded (alone or in a transaction) before it is posted.
    `to` (`client` or `provider`): addressed to that member, so it is unread for them only;
    None: for both members. The notice's id goes with it (posted once however often delivered).
    `join_booking_id`: the message offers each reader their own join link to that booking (its
    provider `join_provider_id`). `moot_at`/`guard` as for `record` (a session reminder retried
    after its booking was cancelled or moved, or after the session, is dropped)."""
    params = {"text": text, "notice_id": key, **({"to": to} if to else {}),
              **({"join_booking_id": join_booking_id, "join_provider_id": join_provider_id} if join_booking_id else {})}
    return record(key, ROOM_MESSAGE, room_id, params, now, moot_at=moot_at, guard=guard)


def send(key: str, template: str, to: str, params: dict, now: datetime, *, attachments=None) -> bool:
    """Record a notice once and try to send it now. Returns False when it was already recorded."""
    if not to:
        return False
    notice = record(key, template, to, params, now, attachments=attachments)
    try:
        notice.save(condition=NotificationModel.id.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    deliver(notice, now, leased=True)
    return True


def deliver(notice: NotificationModel, now: datetime, *, leased: bool = False) -> bool:
    """Send a pending notice if we hold (or win) its lease; True when it went out."""
    if not leased:
        claimed_at = notice.retry_at
        try:
            notice.update(actions=[NotificationModel.retry_at.set(sortable(now + LEASE))],
                          condition=(NotificationModel.retry_at == claimed_at)
                          & (NotificationModel.status == "pending"))
        except UpdateError as error:
            if condition_failed(error):
                return False  # someone else holds it, or it was sent meanwhile
            raise
    if _moot(notice, now, leased):
        _drop(notice, now)
        return False
    params = dict(notice.params or {})
    attachments = params.pop("_attachments", None)
    try:
        _channel(notice.template)(notice.to, notice.template, params, attachments, now)
    except Moot:
        _drop(notice, now)
        return False
    except Exception as error:  # any failure leaves it pending for the next sweep
        # Never given up: it stays pending until it goes out or becomes moot (SPEC: at least once).
        attempts = int(notice.attempts or 0) + 1
        notice.update(actions=[NotificationModel.attempts.set(attempts),
                               NotificationModel.last_error.set(type(error).__name__),
                               NotificationModel.retry_at.set(sortable(now + _backoff(attempts)))])
        metrics.add_metric(name="NoticeFailed", unit="Count", value=1)
        logger.warning("notice delivery failed", extra={"notification_id": notice.id, "template": notice.template,
                                                        "attempts": attempts, "error": type(error).__name__})
        return False
    notice.update(actions=[NotificationModel.status.set("sent"), NotificationModel.sent_at.set(iso(now)),
                           NotificationModel.attempts.add(1), NotificationModel.pending.remove(),
                           NotificationModel.retry_at.remove()])
    metrics.add_metric(name="RoomMessagePosted" if notice.template == ROOM_MESSAGE else "EmailSent", unit="Count",
                       value=1)
    logger.info("notice delivered", extra={"notification_id": notice.id, "template": notice.template})
    return True


def resume(ids: list[str], now: datetime) -> None:
    """Deliver now the notices (by id) a crashed request recorded and never sent: called by its
    retry (the request died, so its lease on them means nothing); sent or dropped ones are left."""
    if not ids:
        return
    from chalicelib.store.base import batch_get

    found = batch_get({NotificationModel: ids})[NotificationModel]
    for notice_id in ids:
        notice = found.get(notice_id)
        if notice is not None and notice.status == "pending":
            try:
                deliver(notice, now)
            except Exception as error:  # the record exists: the sweep will retry it
                logger.warning("email delivery deferred", extra={"notification_id": notice.id,
                                                                 "error": type(error).__name__})


def deliver_all(notices: list, now: datetime) -> None:
    """Send what a committed change recorded (born leased to this request); a failure stays
    pending for the deadlines sweep."""
    for item in notices:
        try:
            deliver(item, now, leased=True)
        except Exception as error:  # the record exists: the sweep will retry it
            logger.warning("email delivery deferred", extra={"notification_id": item.id,
                                                             "error": type(error).__name__})


def _moot(notice: NotificationModel, now: datetime, leased: bool) -> bool:
    if notice.moot_at and sortable(now) >= notice.moot_at:
        return True
    guard = notice.guard or {}
    if not leased and guard.get("kind") in _guards:  # the change that made it has just committed otherwise
        return not _guards[guard["kind"]](guard)
    return False


def _drop(notice: NotificationModel, now: datetime) -> None:
    """A notice that no longer means anything leaves the outbox on purpose, counted, never sent late."""
    try:
        notice.update(actions=[NotificationModel.status.set(DROPPED), NotificationModel.sent_at.set(iso(now)),
                               NotificationModel.pending.remove(), NotificationModel.retry_at.remove()],
                      condition=NotificationModel.status == "pending")
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return
    metrics.add_metric(name="NoticeDroppedMoot", unit="Count", value=1)
    logger.info("notice dropped as moot", extra={"notification_id": notice.id, "template": notice.template})


def retry_due(now: datetime, limit: int | None = None, deadline: float | None = None) -> int:
    """Send every pending notice whose retry time has come (reads only those), the most
    time-critical first (the soonest to become moot), until `limit` notices or the run's time
    `deadline` (a `time.monotonic()` value). Reports the age of the oldest unsent email, and how
    many have waited past the alarm threshold (metrics for the alarm)."""
    import time

    s = wiring.settings()
    due = []
    for notice in NotificationModel.pending_index.query(PENDING, NotificationModel.retry_at <= sortable(now)):
        due.append(notice)
        if limit is not None and len(due) >= limit:
            break
    due.sort(key=lambda n: (n.moot_at or "~", n.retry_at or "", n.id))
    _report_unsent(due, now, s.notification_alarm_minutes)
    sent = 0
    for notice in due:
        if deadline is not None and time.monotonic() > deadline:
            break  # what is left waits for the next run; nothing is lost
        if deliver(notice, now):
            sent += 1
    return sent


def _report_unsent(due: list, now: datetime, threshold_minutes: int) -> None:
    emails = [n for n in due if n.template != ROOM_MESSAGE]
    if not emails:
        return
    from chalicelib.clock import parse_iso

    ages = [(now - parse_iso(n.created_at)).total_seconds() / 60 for n in emails]
    metrics.add_metric(name="OldestUnsentEmailMinutes", unit="Count", value=round(max(ages), 1))
    late = sum(1 for age in ages if age >= threshold_minutes)
    if late:
        metrics.add_metric(name="EmailsUnsentPastThreshold", unit="Count", value=late)
        logger.warning("emails unsent past the alarm threshold", extra={"count": late,
                                                                        "oldest_minutes": round(max(ages))})
