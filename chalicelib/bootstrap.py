"""The composition root: wires the services together once per container.

Entry points call `start()` (app.py at import, the sweeps' runner, tests): it hands the outbox
its channels, registers the email templates, and subscribes the handlers of domain events. It
is the only module that knows which service reacts to what, so services never import each
other in a circle (a test checks the whole import graph of `chalicelib`).

    message_staged(post)                                 the reply promise, alerts: staged in the
                                                        message's own transaction (services.rooms.Post)
    message_posted(room, caller, message, now, people)  risk language in client messages
    booking_changed(change, now)                         a referral client's discharge timer
    provider_changed(client_id, old_provider_id, now)    open session requests end (provider_unavailable)
    provider_deactivated(provider_id, now)               the same, for all of the provider's requests
    held_time_wanted(holder_ids, now, freed)             lapsed requests give back the time they held
    meeting_event(event)                                 the local Chime stand-in's events, to the handler
                                                         EventBridge invokes when deployed (meeting_events)
"""
from __future__ import annotations

from chalicelib import wiring

_started = False


def start() -> None:
    global _started
    if _started:
        return
    from chalicelib.services import alerts, channels, outbox, replies
    from chalicelib.services.bookings import notices as booking_notices
    from chalicelib.services.bookings import queries as booking_queries

    outbox.register_channel(outbox.EMAIL, channels.send_email)
    outbox.register_channel(outbox.ROOM_MESSAGE, channels.post_room_message)
    booking_notices.register_templates()
    outbox.register_guard("booking", booking_queries.still_confirmed_at)
    from chalicelib.services.clinical import risk_messages

    # Risk language first: it never raises, so a failure in a later handler cannot skip it.
    wiring.subscribe("message_posted", risk_messages.on_member_message)
    # The reply promise and the alert are written in the message's own transaction.
    wiring.subscribe("message_staged", replies.on_message_staged)
    wiring.subscribe("message_staged", alerts.on_message_staged)
    from chalicelib.services.bookings import meetings

    wiring.subscribe("meeting_event", meetings.on_event)
    _care_pathways()
    _export_sections()
    _started = True


def _export_sections() -> None:
    """What other areas hold about a client, in their data export (imported only when one is built)."""
    from chalicelib.services import export_sections

    export_sections.register("requests", "chalicelib.services.pathways.export:write")
    export_sections.register("clinical_record", "chalicelib.services.clinical.export:write")


def _care_pathways() -> None:
    from chalicelib.services.pathways import notices, programs, requests

    notices.register_templates()
    wiring.subscribe("booking_changed", programs.on_booking_changed)
    wiring.subscribe("provider_changed", requests.on_provider_changed)
    wiring.subscribe("provider_deactivated", requests.on_provider_deactivated)
    wiring.subscribe("held_time_wanted", requests.on_held_time_wanted)
