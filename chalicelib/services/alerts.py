"""New-message alerts (SPEC §2): an email with no content to the other side when they write,
unless an alert for that room is already pending for them (sent, and they have not read
since), and never more than one per room per hour. System messages never alert.

The decision is one conditional update on the room, so concurrent messages send one alert.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib import wiring
from chalicelib.clock import sortable
from chalicelib.identity import Caller
from chalicelib.services import outbox
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import MessageModel, RoomModel


def on_member_message(room: RoomModel, caller: Caller, message: MessageModel, now: datetime,
                      other=None) -> bool:
    """`other` (the recipient's profile, read lazily) is not needed: the outbox resolves the address."""
    recipient_role = "provider" if caller.is_client else "client"
    recipient_id = room.provider_id if caller.is_client else room.client_id
    if not recipient_id:  # the client waits for a new provider: nobody to alert
        return False
    alert_at = getattr(RoomModel, f"alert_{recipient_role}_at")
    alert_seq = getattr(RoomModel, f"alert_{recipient_role}_seq")
    read_seq = getattr(RoomModel, f"read_{recipient_role}_seq")
    quiet_since = sortable(now - timedelta(seconds=wiring.settings().new_message_alert_interval_seconds))
    # Pending = an alert went out and the recipient has not read up to it yet.
    not_pending = alert_seq.does_not_exist() | (read_seq >= alert_seq)
    not_recent = alert_at.does_not_exist() | (alert_at <= quiet_since)
    try:
        RoomModel(room.id).update(actions=[alert_at.set(sortable(now)), alert_seq.set(int(message.seq))],
                                  condition=not_pending & not_recent)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    # the address is read when the email is sent (SPEC Safety), so no profile read here
    return outbox.send(f"alert#{room.id}#{recipient_role}#{int(message.seq)}", "new_message",
                       outbox.user_address(recipient_id), {"room_id": room.id}, now)
