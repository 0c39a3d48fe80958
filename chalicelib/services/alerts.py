"""New-message alerts (SPEC §2): an email with no content to the other side when they write,
unless an alert for that room is already pending for them (sent, and they have not read
since), and never more than one per room per hour. System messages never alert.

The decision is part of the message's own transaction, whose room update is conditioned on the
room as read, so concurrent messages send one alert.
"""
from __future__ import annotations

from datetime import timedelta

from chalicelib import wiring
from chalicelib.clock import sortable
from chalicelib.services import outbox
from chalicelib.store.models import RoomModel


def on_message_staged(post) -> None:
    """A `message_staged` handler (`services.rooms.Post`): decided from the room as read (the
    message's room update is conditioned on it), staged in the message's own transaction: the
    room's alert marks and the outbox record, so an alert is never marked without being recorded."""
    room, now, caller = post.room, post.now, post.caller
    recipient_role = "provider" if caller.is_client else "client"
    recipient_id = room.provider_id if caller.is_client else room.client_id
    if not recipient_id:  # the client waits for a new provider: nobody to alert
        return
    alert_at = getattr(room, f"alert_{recipient_role}_at")
    alert_seq = getattr(room, f"alert_{recipient_role}_seq")
    read_seq = int(getattr(room, f"read_{recipient_role}_seq") or 0)
    quiet_since = sortable(now - timedelta(seconds=wiring.settings().new_message_alert_interval_seconds))
    # Pending = an alert went out and the recipient has not read up to it yet.
    pending = alert_seq is not None and read_seq < int(alert_seq)
    recent = alert_at is not None and alert_at > quiet_since
    if pending or recent:
        return
    post.room_actions += [getattr(RoomModel, f"alert_{recipient_role}_at").set(sortable(now)),
                          getattr(RoomModel, f"alert_{recipient_role}_seq").set(int(post.seq))]
    # the address is read when the email is sent (SPEC Safety), so no profile read here
    post.uow.record(outbox.record(f"alert#{room.id}#{recipient_role}#{int(post.seq)}", "new_message",
                                  outbox.user_address(recipient_id), {"room_id": room.id}, now))
