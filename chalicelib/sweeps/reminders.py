"""The `reminders` sweep (SPEC §4): 24 h and 10 min reminders of confirmed live sessions, the
nudges of session requests (the provider 24 h before `respond_by`, the client 12 h before `accept_by`),
and homework reminders (09:00 client time the day before; services/homework.py).

Reads only the due reminder timers (sparse `due` index) and each one's booking; a reminder is
claimed by a conditional update of its timer before anything is sent, so two runs never both
send it, and it is checked against the booking's status and version at that moment, so a
rescheduled, cancelled or otherwise changed booking never reminds.
"""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services import bookings, homework
    from chalicelib.services.pathways import request_sweeps

    return {**bookings.remind_due(now), **request_sweeps.nudge_due(now), **homework.remind_due(now)}
