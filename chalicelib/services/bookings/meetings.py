"""The Chime meeting of a video or audio session (SPEC §2 "Live sessions on real media").

- `join_meeting`: the participant's `meeting` and `attendee`, as the Chime SDK client libraries
  take them. One meeting per booking at a time: the first join creates it (ClientRequestToken =
  booking and generation, so concurrent creates get the same meeting from Chime) and stores it
  with a conditional write over the generation read, in the same transaction as the due item that
  ends it after the session; the loser of a race reads the winner's. A meeting Chime ended
  (CreateAttendee: NotFound) is replaced by the next generation the same way.
- `on_event`: Chime's EventBridge "Chime Meeting State Change" events (the `meeting_events`
  function; locally the stand-in reports them to it). AttendeeJoined records the participant's
  EARLIEST join (repeats and out-of-order events are harmless: a later or equal time changes
  nothing, and no event erases a join); MeetingEnded forgets the booking's meeting if it is still
  the current one, so the next join creates a new one. AttendeeLeft records nothing.
- `end_due`: the deadlines sweep ends each meeting after its session (DeleteMeeting, then the due
  item is settled under its version: a run that fails to end it leaves it for the next run).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from chalicelib import budget, wiring
from chalicelib.adapters import meetings as chime
from chalicelib.clock import parse_iso
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.errors import HavenError
from chalicelib.observability import logger, metrics
from chalicelib.services.bookings.commit import commit
from chalicelib.store import bookings as store

ATTEMPTS = 3


def _unavailable() -> HavenError:
    return HavenError("The session's meeting could not be started; try again in a moment.", "meeting_unavailable")


def join_meeting(b: plans.Booking, participant_id: str, now: datetime, refused) -> dict:
    """`{"meeting", "attendee"}` for a participant of a confirmed video or audio booking `b` (as
    read by the join). `refused()` is the error when the booking changed state meanwhile."""
    meetings = wiring.get("meetings")
    for _attempt in range(ATTEMPTS):
        if b.meeting_id is None:
            b = _start(meetings, b, now, refused)
            if b.meeting_id is None:  # ended again between the write and the read: next generation
                continue
        try:
            attendee = meetings.create_attendee(b.meeting_id, participant_id, b.modality == "audio",
                                                booking_id=b.id, at=now)
        except chime.MeetingGone:
            logger.info("meeting ended by Chime; starting the next", extra={"booking_id": b.id,
                                                                         "meeting_generation": b.meeting_generation})
            b = replace(b, meeting_id=None, meeting=None)  # keeps the generation the next one replaces
            continue
        except Exception as error:
            logger.warning("chime refused the attendee", extra={"booking_id": b.id, "error": type(error).__name__})
            raise _unavailable() from None
        return {"meeting": dict(b.meeting), "attendee": attendee}
    raise _unavailable()


def _start(meetings, b: plans.Booking, now: datetime, refused) -> plans.Booking:
    """Create the next generation's meeting and store it over the generation read; when another
    join stored one first (or the booking changed), read the booking again and go on with that."""
    generation = b.meeting_generation + 1
    try:
        meeting = meetings.create_meeting(b.id, chime.request_token(b.id, generation))
    except Exception as error:
        logger.warning("chime refused the meeting", extra={"booking_id": b.id, "error": type(error).__name__})
        raise _unavailable() from None
    change = plans.plan_meeting(b, meeting["MeetingId"], meeting, generation,
                                wiring.settings().meeting_end_after_minutes)
    if commit(change, now, lambda: None):
        metrics.add_metric(name="MeetingStarted", unit="Count", value=1)
        return change.result
    fresh = store.find(b.id)
    if fresh is None or fresh.status != rules.CONFIRMED:
        raise refused()
    return fresh


# --- Chime's events --------------------------------------------------------------------------------

_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 4_102_444_800_000  # 2000-01-01 .. 2100-01-01
SKEW = timedelta(minutes=15)  # clocks may differ a little: a join this far outside the window still counts


def _event_time(event: dict) -> datetime | None:
    """When it happened, to the second (Chime's `timestamp` in ms, else the event's `time`):
    whole seconds keep stored times comparable as text. None when neither is a sane time."""
    stamp = (event.get("detail") or {}).get("timestamp")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and _EARLIEST_MS <= stamp < _LATEST_MS:
        return datetime.fromtimestamp(int(stamp // 1000), tz=timezone.utc)
    try:
        return parse_iso(str(event["time"])).replace(microsecond=0)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _text(value) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def on_event(event: dict) -> dict:
    """One "Chime Meeting State Change" event. Returns what it did (the function's result). An
    event that is malformed, for no live session, or whose moment lies outside the session's join
    window (a join recorded there would stand for good: the earliest is kept) records nothing."""
    detail = event.get("detail") if isinstance(event, dict) else None
    detail = detail if isinstance(detail, dict) else {}
    kind = detail.get("eventType")
    booking_id, meeting_id = _text(detail.get("externalMeetingId")), _text(detail.get("meetingId"))
    result = {"event": kind if isinstance(kind, str) else None, "booking_id": booking_id, "recorded": False}
    if kind not in (chime.ATTENDEE_JOINED, chime.MEETING_ENDED) or not booking_id or not meeting_id:
        return result
    at = _event_time(event)
    if at is None:
        logger.warning("meeting event without a usable time", extra={"booking_id": booking_id, "event_type": kind})
        return result
    b = store.find(booking_id)
    if b is None or b.modality == "chat":
        logger.info("meeting event for no live session", extra={"booking_id": booking_id, "event_type": kind})
        return result
    if kind == chime.MEETING_ENDED:
        change = plans.plan_meeting_ended(b, meeting_id)
    else:
        user = detail.get("externalUserId")
        role = "client" if user == b.client_id else "provider" if user == b.provider_id else None
        if role is None:
            logger.warning("meeting event for someone not in the session", extra={"booking_id": booking_id})
            return result
        opens, closes = rules.join_window(b.view(), wiring.settings().join_opens_minutes)
        if not opens - SKEW <= at <= closes + SKEW:
            logger.warning("attendee event outside the join window", extra={"booking_id": booking_id})
            return result
        change = plans.plan_attended(b, role, at)
    # refused = an earlier join was recorded meanwhile, or the meeting was replaced: nothing to do
    result["recorded"] = bool(change is not None and commit(change, at, lambda: None))
    return result


# --- after the session -----------------------------------------------------------------------------

def end_due(now: datetime) -> int:
    """The deadlines sweep: end each meeting whose session is over. DeleteMeeting first (Chime
    answers NotFound for one it already ended: fine), then the due item is settled under the
    version read, so two runs settle it once and a failed call is tried again by the next run."""
    meetings = wiring.get("meetings")
    ended = 0
    for t in store.due_timers(store.MEETING_KIND, now, wiring.settings().sweep_batch):
        if budget.exhausted():
            break
        data = t.data or {}
        try:
            meetings.delete_meeting(data["meeting_id"], booking_id=data.get("booking_id"))
        except Exception as error:
            logger.warning("meeting not ended; the next run tries again",
                           extra={"booking_id": t.ref_id, "error": type(error).__name__})
            continue
        ended += commit(plans.Change("meeting_ended", None, (plans.SettleTimer(t.id, "ended", int(t.version)),)),
                        now)
    return ended
