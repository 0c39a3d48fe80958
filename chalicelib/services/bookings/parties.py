"""What a booking command reads before it plans: the two parties and their room, the plan,
the time check against availability, and how a new booking will hold its credit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.domain import credits as policy
from chalicelib.domain import slots as slot_rules
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.store import ledger
from chalicelib.store import rooms as room_store
from chalicelib.store.base import batch_get
from chalicelib.store.models import LedgerModel, RoomModel, UserModel


@dataclass(frozen=True)
class Parties:
    client: UserModel
    provider: UserModel
    room: RoomModel

    @property
    def provider_tz(self) -> str:
        return (self.provider.availability or {}).get("timezone") or self.provider.timezone or "UTC"


def load(caller: Caller, client_id: str, provider_id: str) -> Parties:
    """Both profiles and the client's possible rooms (one per provider kind) in ONE BatchGetItem."""
    rooms = [room_store.room_id_for(client_id, kind) for kind in rules.PROVIDER_MODALITIES]
    found = batch_get({UserModel: [client_id, provider_id], RoomModel: rooms})
    client, provider = found[UserModel].get(client_id), found[UserModel].get(provider_id)
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    if client is None or client.role != "client":
        if caller.is_provider:
            raise NotFound("client")
        raise HavenError("Register your profile (POST /clients/me) before booking.", "not_registered")
    room = found[RoomModel].get(room_store.room_id_for(client_id, provider.kind))
    if room is None or room.provider_id != provider.id or room.client_id != client.id:
        if caller.is_provider:
            raise NotFound("client")
        raise HavenError("You can book only with a provider you share a room with.", "not_your_provider")
    if not provider.active:  # deactivated: unbookable at once, until the sweep hands the room over
        raise HavenError("This provider is no longer available for sessions.", "invalid_state",
                         details={"state": "inactive"})
    return Parties(client, provider, room)


def plan_of(client: UserModel) -> dict:
    if not client.plan:
        raise HavenError("You need a plan to book live sessions.", "no_plan")
    return client.plan


def check_time(actor: str, parties: Parties, starts_at: datetime, now: datetime) -> None:
    s = wiring.settings()
    if actor == rules.CLIENT:
        rules.check_client_booking_time(starts_at, now, s.client_booking_min_hours)
    else:
        rules.check_provider_booking_time(starts_at, now, s.provider_booking_min_hours)
    ends_at = starts_at + timedelta(minutes=s.session_minutes)
    slot_rules.check_slot((parties.provider.availability or {}).get("windows") or [], parties.provider_tz,
                          starts_at, ends_at)


# --- credits ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spend:
    """How a new booking gets its credit: a usage counter (`bucket`) or a purchase."""
    client_id: str
    plan: dict
    bucket: str
    purchase: bool
    may_purchase: bool = False

    @property
    def credit(self) -> plans.Credit:
        return plans.Credit(purchased=True) if self.purchase else plans.Credit(bucket=self.bucket)

    @property
    def plan_kind(self) -> str | None:
        return self.plan.get("kind")

    @property
    def price_cents(self) -> int:
        return int(self.plan.get("session_price_cents") or 0)

    def writes(self, b: plans.Booking) -> tuple:
        return plans.spend(self.client_id, b, policy.live_limit(self.plan))


def usage(client_id: str, bucket: str) -> int:
    try:
        item = LedgerModel.get(client_id, ledger.usage_key(bucket), consistent_read=True)
    except LedgerModel.DoesNotExist:
        return 0
    return int(item.used or 0)


def choose_spend(client_id: str, plan: dict, bucket: str, purchase: bool, known_empty: bool = False) -> Spend:
    limit = policy.live_limit(plan)
    if limit <= 0 or known_empty:
        if purchase:
            return Spend(client_id, plan, bucket, True, True)
        raise HavenError("You have no session credit left for that period. Book with \"purchase\": true to buy one.",
                         "no_credit")
    if purchase and usage(client_id, bucket) >= limit:  # buy only when a credit is really lacking
        return Spend(client_id, plan, bucket, True, True)
    return Spend(client_id, plan, bucket, False, purchase)
