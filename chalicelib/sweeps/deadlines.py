"""The `deadlines` sweep (SPEC §4): everything whose moment has come, as of the event's time."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib import budget
    from chalicelib.services import messaging_sessions, outbox, replies

    return {
        "messaging_sessions_ended": messaging_sessions.sweep_ended(now),
        "replies_overdue": replies.sweep_overdue(now),
        **_booking_steps(now),
        **_clinical_steps(now),
        **_matching_steps(now),
        **_request_steps(now),
        # last, so notices recorded above and not yet delivered get their retry in this run
        "emails_retried": outbox.retry_due(now, deadline=budget.deadline()),
    }


def _clinical_steps(now: datetime) -> dict:
    """Risk alerts nobody acknowledged, flagged messages nobody read: ops told, once each."""
    from chalicelib.services.clinical import questionnaires, risk_messages

    return {"risk_alerts_escalated": questionnaires.sweep_unacknowledged(now),
            "flagged_messages_escalated": risk_messages.sweep_unread(now)}


def _request_steps(now: datetime) -> dict:
    """Session requests: unanswered ones expire, unaccepted proposals lapse (times released)."""
    from chalicelib.services.pathways import request_sweeps

    return request_sweeps.end_due(now)


def _booking_steps(now: datetime) -> dict:
    """Live sessions: unconfirmed bookings expire; sessions without outcome are closed; the
    meetings of sessions that ended are ended."""
    from chalicelib.services import bookings
    from chalicelib.services.bookings import meetings

    return {"bookings_expired": bookings.expire_due(now), "bookings_closed": bookings.close_due(now),
            "meetings_ended": meetings.end_due(now)}


def _matching_steps(now: datetime) -> dict:
    """Continuity of care: a deactivated provider's clients re-matched (or waiting), waiting
    clients tried again (ops told once after 48 h), unfinished handovers finished."""
    from chalicelib.services import matching_sweeps

    return {"clients_rematched": matching_sweeps.sweep_deactivations(now), **matching_sweeps.sweep_waiting(now),
            "handovers_followed_up": matching_sweeps.sweep_followups(now)}
