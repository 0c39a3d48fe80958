"""The credit policy (SPEC §2 "Plans and credits"): which counter a booking draws from, how
many credits are left, and what happens to a held credit when a booking ends.

Plan kinds:
- `subscription`: `live_credits` per monthly billing period (see `periods`), unlimited
  messaging. Period credits do not carry over; a booking draws from the period in which the
  session *starts*, and bookings reach at most to the end of the next period.
- `insurance`, `eap`: `live_credits` covered live sessions and `messaging_credits` messaging
  sessions in all.
- `referral`: `live_credits` sessions in all, within a program window checked elsewhere.

Usage is kept as counters keyed by bucket: "live#<period label>" for subscriptions,
"live#all" and "messaging#all" for counted plans. These functions only name buckets and do
arithmetic on them; the store increments them with conditional writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Mapping

from chalicelib.domain.errors import DomainError, TooFar
from chalicelib.domain.periods import next_period, period_containing, period_index, nth_period
from chalicelib.domain.wallclock import iso_z, to_utc

SUBSCRIPTION, INSURANCE, EAP, REFERRAL = "subscription", "insurance", "eap", "referral"
PLAN_KINDS = (SUBSCRIPTION, INSURANCE, EAP, REFERRAL)
# Payers do not cover missed sessions: on these plans a forfeit also charges the price.
PAYER_KINDS = frozenset({INSURANCE, EAP})
COUNTED_KINDS = frozenset({INSURANCE, EAP, REFERRAL})

LIVE_ALL = "live#all"
MESSAGING_ALL = "messaging#all"


@dataclass(frozen=True)
class Plan:
    """A client's plan as ops set it (`PUT /ops/clients/{id}/plan`)."""
    kind: str
    live_credits: int = 0
    messaging_credits: int = 0
    session_price_cents: int = 0
    period_anchor: date | None = None
    # A referral program's id: each program counts its sessions apart (SPEC: usage of any earlier
    # plan does not carry over), in bucket "live#referral:<id>".
    program: str | None = None

    def __post_init__(self):
        if self.kind not in PLAN_KINDS:
            raise ValueError(f"unknown plan kind {self.kind!r}")
        for name in ("live_credits", "messaging_credits", "session_price_cents"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0")
        if self.kind == SUBSCRIPTION and self.period_anchor is None:
            raise ValueError("a subscription needs a period_anchor")

    @classmethod
    def from_dict(cls, data: Mapping) -> "Plan":
        """From the stored/API shape; `period_anchor` may be an ISO date string."""
        anchor = data.get("period_anchor")
        if isinstance(anchor, str):
            anchor = date.fromisoformat(anchor)
        return cls(
            kind=data["kind"],
            live_credits=int(data.get("live_credits") or 0),
            messaging_credits=int(data.get("messaging_credits") or 0),
            session_price_cents=int(data.get("session_price_cents") or 0),
            period_anchor=anchor,
            program=data.get("referral_id") if data["kind"] == REFERRAL else None,
        )


def _plan(plan: Plan | Mapping) -> Plan:
    return plan if isinstance(plan, Plan) else Plan.from_dict(plan)


def credit_bucket(plan: Plan | Mapping, client_tz: str, starts_at: datetime, now: datetime) -> str:
    """The usage counter a live booking starting at `starts_at` draws from.

    Subscription: "live#<label>" of the period in which the session starts. Raises `TooFar`
    when it starts at or after the end of the period following the current one (periods
    exclude their end, so that instant already belongs to the period after next), and
    `DomainError("no_credit")` when it starts before the plan's first period.
    Counted plans (insurance, eap, referral): "live#all".
    """
    plan = _plan(plan)
    if plan.kind in COUNTED_KINDS:
        return program_bucket(plan)
    starts_at, now = to_utc(starts_at), to_utc(now)
    period = period_containing(plan.period_anchor, client_tz, starts_at)
    if period is None:
        raise DomainError(
            "no_credit",
            f"Your plan's first billing period starts on {plan.period_anchor.isoformat()}.",
            period_starts=plan.period_anchor.isoformat(),
        )
    horizon = next_period(plan.period_anchor, client_tz, now).end
    if starts_at >= horizon:
        raise TooFar(
            "Sessions can be booked up to the end of your next billing period.",
            latest=iso_z(horizon),
        )
    return f"live#{period.label}"


def program_bucket(plan: Plan | Mapping) -> str:
    """The live counter of a counted plan: "live#all", or a referral program's own counter."""
    plan = _plan(plan)
    if plan.kind == REFERRAL and plan.program:
        return f"live#referral:{plan.program}"
    return LIVE_ALL


def messaging_bucket(plan: Plan | Mapping) -> str | None:
    """The counter a messaging session draws from; None when messaging is unlimited."""
    return None if _plan(plan).kind == SUBSCRIPTION else MESSAGING_ALL


def live_limit(plan: Plan | Mapping) -> int:
    """Live credits per bucket: per period for a subscription, in all otherwise."""
    return _plan(plan).live_credits


def messaging_limit(plan: Plan | Mapping) -> int | None:
    """Messaging sessions in all; None (unlimited) for a subscription."""
    plan = _plan(plan)
    return None if plan.kind == SUBSCRIPTION else plan.messaging_credits


def current_live_bucket(plan: Plan | Mapping, client_tz: str, now: datetime) -> str:
    """The live counter `credits_left` reports on.

    Before a subscription's anchor there is no current period; the client is shown the first
    period's counter, which is what their earliest bookings will draw from.
    """
    plan = _plan(plan)
    if plan.kind in COUNTED_KINDS:
        return program_bucket(plan)
    index = period_index(plan.period_anchor, client_tz, now)
    return f"live#{nth_period(plan.period_anchor, client_tz, index or 0).label}"


def credits_left(plan: Plan | Mapping, usage: Mapping[str, int], client_tz: str, now: datetime) -> dict:
    """`{"live": int, "messaging": int | None}` left now, as `GET /clients/me` shows them.

    `usage` maps bucket → credits used (missing buckets are unused). Never negative: usage
    above the limit (a plan lowered after use) reads as none left.
    """
    plan = _plan(plan)
    live_used = int(usage.get(current_live_bucket(plan, client_tz, now), 0) or 0)
    limit = messaging_limit(plan)
    messaging = None if limit is None else max(0, limit - int(usage.get(MESSAGING_ALL, 0) or 0))
    return {"live": max(0, plan.live_credits - live_used), "messaging": messaging}


def has_credit(plan: Plan | Mapping, usage: Mapping[str, int], bucket: str) -> bool:
    """Whether `bucket` has a credit left to draw (`no_credit` otherwise, or a purchase)."""
    plan = _plan(plan)
    limit = plan.live_credits if bucket.startswith("live#") else messaging_limit(plan)
    return limit is None or int(usage.get(bucket, 0) or 0) < limit


def reply_promise_applies(plan_kind: str | None, psychiatry_room: bool, messaging_session_active: bool) -> bool:
    """SPEC §2: subscriptions always; insurance/eap while a messaging session is active;
    never in psychiatry rooms (nor without a plan, nor on referral plans)."""
    if psychiatry_room or plan_kind is None:
        return False
    if plan_kind == SUBSCRIPTION:
        return True
    return plan_kind in PAYER_KINDS and messaging_session_active


# --- what happens to a held credit --------------------------------------------------------------

RETURN, FORFEIT, MOVE = "return", "forfeit", "move"
ACTORS = ("client", "provider", "system")
ACTIONS = ("cancel", "reschedule", "decline", "expire", "no_show_client", "no_show_provider")


@dataclass(frozen=True)
class Outcome:
    """`credit`: "return" to the client, "forfeit" it, or "move" it to the new booking.
    `charge_price`: charge `session_price_cents` to the client's ledger. `late`: a client's
    change less than `late_hours` before start."""
    credit: str
    charge_price: bool = False
    late: bool = False


def is_late(starts_at: datetime, now: datetime, late_hours: float = 24) -> bool:
    """Less than `late_hours` before start is late; exactly `late_hours` is not."""
    return to_utc(starts_at) - to_utc(now) < timedelta(hours=late_hours)


def _forfeit(plan_kind: str, late: bool, purchased: bool) -> Outcome:
    # A credit the client bought for this booking was paid already: don't charge twice.
    return Outcome(FORFEIT, charge_price=plan_kind in PAYER_KINDS and not purchased, late=late)


def on_outcome(actor: str, action: str, starts_at: datetime, now: datetime, late_hours: float = 24,
               plan_kind: str | None = None, *, purchased: bool = False) -> Outcome:
    """What happens to the credit a booking holds when it ends this way (SPEC §2).

    Returned: provider cancel or decline, expiry unconfirmed, provider no-show, a system
    cancel (e.g. a change of provider). Moved: provider reschedule, client reschedule at
    least `late_hours` before start. Forfeited: client cancel or reschedule later than that
    (late), client no-show; on insurance and eap plans a forfeit also charges the session
    price, unless the booking's credit was `purchased` (already paid).

    `plan_kind` must be given (it decides the charge); it defaults to None only to keep the
    argument order. ValueError for a combination that cannot happen (a client declining, say,
    or no plan kind): that is a bug in the caller, not a request to refuse.
    """
    if actor not in ACTORS or action not in ACTIONS or plan_kind not in PLAN_KINDS:
        raise ValueError(f"unknown outcome {actor!r}/{action!r}/{plan_kind!r}")
    if actor == "provider":
        if action in ("cancel", "decline"):
            return Outcome(RETURN)
        if action == "reschedule":
            return Outcome(MOVE)
        if action == "no_show_client":
            return _forfeit(plan_kind, late=False, purchased=purchased)
    elif actor == "client":
        if action in ("cancel", "reschedule"):
            if is_late(starts_at, now, late_hours):
                return _forfeit(plan_kind, late=True, purchased=purchased)
            return Outcome(RETURN if action == "cancel" else MOVE)
        if action == "no_show_provider":
            return Outcome(RETURN)
    else:  # system: sweeps and housekeeping
        if action in ("expire", "cancel", "no_show_provider"):
            return Outcome(RETURN)
    raise ValueError(f"{actor} cannot {action} a booking")
