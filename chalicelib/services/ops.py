"""Operations staff: plans and finding clients (assignments are matching's: services/matching.py)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.clock import iso
from chalicelib.errors import HavenError, NotFound
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.unit_of_work import UnitOfWork

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
    # The plan and its kind on each room are written in one transaction (3 round trips in all).
    uow = UnitOfWork()
    uow.update(user, [type(user).plan.set(plan)])
    room_store.stage_plan_kind(uow, user.id, kind)
    uow.commit()
    return plan


def find_clients(query: dict) -> dict:
    """`GET /ops/clients?email=`: one Query of the `by_email` index (case-insensitive, exact)."""
    items = [{"id": u.id, "email": u.email, "name": u.name, "status": u.status or "active", "plan": u.plan}
             for u in user_store.clients_by_email(query["email"])]
    return {"items": items, "next": None}
