"""Live sessions (SPEC §2): commands, queries and the sweeps' steps, one module each.

    commands  create, confirm, decline, cancel, reschedule, join, complete, no-show
    queries   one booking, the caller's list, free slots, a room's next session
    sweeps    expiry, outcomes, reminders
    commit    the one place a planned change (domain.booking_plans) is written and its notices sent
    parties   the reads a command makes before it plans (profiles, room, plan, credit choice)
    notices   the emails and room messages of a change, as outbox records
"""
from chalicelib.services.bookings.commands import (  # noqa: F401
    NewBookingCommand, RescheduleCommand, cancel, cancel_with_previous_provider, complete, confirm, create, decline,
    join, no_show, reschedule,
)
from chalicelib.services.bookings.queries import (  # noqa: F401
    free_slots, get_booking, list_bookings, next_session, render, status_now,
)
from chalicelib.services.bookings.sweeps import close_due, expire_due, remind_due  # noqa: F401
