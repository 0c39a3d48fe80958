"""Operations staff: plans and assignments (matching comes in a later issue)."""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.errors import HavenError, NotFound
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store

COUNTED_PLANS = ("insurance", "eap", "referral")


def set_plan(client_id: str, body: dict, now: datetime) -> dict:
    user = user_store.get(client_id)
    if user is None or user.role != "client":
        raise NotFound("client")
    kind = body["kind"]
    if kind == "referral":
        raise HavenError("Referral programs come only from referral codes (POST /ops/referrals).",
                         "validation_error", details={"field": "kind"})
    if kind == "subscription" and body.get("period_anchor") is None:
        raise HavenError("A subscription plan needs `period_anchor` (the date its billing periods start from).",
                         "validation_error", details={"field": "period_anchor"})
    if kind in ("insurance", "eap") and body.get("messaging_credits") is None:
        raise HavenError(f"An {kind} plan needs `messaging_credits` (messaging sessions covered in all).",
                         "validation_error", details={"field": "messaging_credits"})
    plan = {
        "kind": kind,
        "live_credits": body["live_credits"],
        "messaging_credits": None if kind == "subscription" else (body.get("messaging_credits") or 0),
        "session_price_cents": body.get("session_price_cents") or 0,
        "period_anchor": body["period_anchor"].isoformat() if body.get("period_anchor") else None,
        "updated_at": iso(now),
    }
    # Usage lives in the ledger, apart from the plan, so setting a plan again keeps it (SPEC §2).
    user.update(actions=[type(user).plan.set(plan)])
    room_store.set_plan_kind(user.id, kind)
    return plan


def assign(body: dict, now: datetime) -> dict:
    client = user_store.get(body["client_id"])
    if client is None or client.role != "client":
        raise NotFound("client")
    provider = user_store.get(body["provider_id"])
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    if not provider.active:
        raise HavenError("This provider is not active.", "invalid_state", details={"state": "inactive"})
    room, previous = room_store.create_or_reassign(client.id, provider.id, provider.kind, iso(now),
                                                   plan_kind=(client.plan or {}).get("kind"),
                                                   new_key=wiring.get("cipher").new_room_key)
    if previous is not None:  # a change of provider: the old one's future sessions with this client end
        from chalicelib.services import bookings

        bookings.cancel_with_previous_provider(client.id, previous, now)
        # Whoever else cares about a change of provider (open session requests end) listens.
        wiring.publish("provider_changed", client_id=client.id, old_provider_id=previous, now=now)
    return {"room_id": room.id, "client_id": client.id, "provider_id": provider.id,
            "provider_kind": provider.kind}
