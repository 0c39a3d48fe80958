"""Referral programs (SPEC §2 "Care pathways: referral programs"): ops issue and reissue
referrals; a client redeems the code (alone, or in their registration) and gets a referral plan.

The code is a secret like an emailed link: derived from a random id with the signing key
(`domain.referrals.code_for`), stored only as a hash, never logged, never in an ops answer.
Redemption is one transaction: the referral becomes `redeemed` (conditioned on its code, status
and deadline as read), the client's plan becomes the program, and the program's discharge timer
is set; a refused condition is read again and reported in SPEC order.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.domain import discharges as rules_d
from chalicelib.domain import referrals as rules
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.services.pathways import notices, programs
from chalicelib.store import discharges as discharge_store
from chalicelib.store import referrals as store
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.models import ReferralModel, UserModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork


def _view(model: ReferralModel) -> rules.ReferralView:
    return rules.ReferralView(email=model.email, status=model.status, redeem_by=parse_iso(model.redeem_by))


def render(model: ReferralModel, now: datetime) -> dict:
    """How ops see a referral: never the code (nor its hash)."""
    return {"id": model.id, "email": model.email, "sessions": int(model.sessions),
            "modalities": list(model.modalities), "referrer": model.referrer,
            "status": rules.effective_status(_view(model), now), "issued_at": model.issued_at,
            "redeem_by": iso(parse_iso(model.redeem_by))}


def _new_code() -> tuple[str, str]:
    """(random id, code hash): the code exists only here and in the email rendered from the id."""
    code_id = secrets.token_urlsafe(16)
    return code_id, rules.code_hash(rules.code_for(code_id, wiring.get("signing_key")))


def issue(caller: Caller, body: dict, now: datetime) -> dict:
    s = wiring.settings()
    modalities = rules.check_terms(body["sessions"], body["modalities"], min_sessions=s.referral_min_sessions,
                                   max_sessions=s.referral_max_sessions)
    code_id, code_hash = _new_code()
    model = ReferralModel("ref_" + secrets.token_hex(10), email=body["email"].strip(), sessions=body["sessions"],
                          modalities=list(modalities), referrer=body.get("referrer"),
                          provider_kind=s.referral_provider_kind, status=rules.ISSUED, issued_at=iso(now),
                          redeem_by=sortable(rules.redeem_by(now, days=s.referral_redeem_days)),
                          code_hash=code_hash, created_by=caller.id, version=1)
    uow = UnitOfWork()
    uow.create(model)
    uow.record(notices.prescription(model, code_id, now))
    uow.commit()
    outbox.deliver_all(uow.records, now)
    metrics.add_metric(name="ReferralIssued", unit="Count", value=1)
    logger.info("referral issued", extra={"referral_id": model.id})
    return render(model, now)


def reissue(caller: Caller, referral_id: str, now: datetime) -> dict:
    s = wiring.settings()
    model = store.get(referral_id)
    if model is None:
        raise NotFound("referral")
    rules.check_reissue(_view(model), now)
    code_id, code_hash = _new_code()
    read_version = int(model.version)
    redeem_by = rules.redeem_by(now, days=s.referral_redeem_days)
    uow = UnitOfWork()
    uow.update(ReferralModel(model.id), [ReferralModel.code_hash.set(code_hash),
                                         ReferralModel.redeem_by.set(sortable(redeem_by)),
                                         ReferralModel.reissued_at.set(iso(now)), ReferralModel.version.add(1)],
               (ReferralModel.version == read_version) & (ReferralModel.status == rules.ISSUED))
    model.code_hash, model.redeem_by, model.reissued_at = code_hash, sortable(redeem_by), iso(now)
    model.version = read_version + 1
    uow.record(notices.prescription(model, code_id, now))
    try:
        uow.commit()
    except Refused:
        fresh = store.get(referral_id)
        rules.check_reissue(_view(fresh), now)
        raise HavenError("The referral changed meanwhile; try again.", "invalid_state",
                         details={"state": rules.effective_status(_view(fresh), now)}) from None
    outbox.deliver_all(uow.records, now)
    logger.info("referral reissued", extra={"referral_id": model.id})
    return render(model, now)


# --- redeeming ------------------------------------------------------------------------------------

def check_code(code, email: str | None, user: UserModel | None, now: datetime) -> ReferralModel:
    """The referral `code` names, if `email` may redeem it now; otherwise the SPEC-ordered error:
    unknown or another email's → 404, used → 409 `already_used`, past `redeem_by` → 410
    `code_expired`, a program still running → 409 `already_active`."""
    model = store.by_code_hash(rules.code_hash(code)) if rules.is_well_formed(code) else None
    running = False
    if user is not None and programs.program(user) is not None:
        running = rules.program_running(programs.program_end(user), now,
                                        discharged=programs.is_discharged(user, now))
    rules.redeem_check(_view(model) if model is not None else None, email or "", now, program_is_running=running)
    return model


def _plan(referral: ReferralModel, now: datetime) -> dict:
    s = wiring.settings()
    return {"kind": "referral", "live_credits": int(referral.sessions), "messaging_credits": 0,
            "session_price_cents": 0, "period_anchor": None, "referral_id": referral.id,
            "modalities": list(referral.modalities), "provider_kind": referral.provider_kind or "therapist",
            "first_access": iso(now),
            "program_ends_at": iso(rules.program_ends_at(now, months=s.program_months)), "updated_at": iso(now)}


def _first_look(client_id: str, plan: dict, now: datetime):
    """The program's discharge timer, due when its first notice is (no bookings yet)."""
    facts = rules_d.DischargeFacts(first_access=now, program_ends_at=parse_iso(plan["program_ends_at"]))
    found = rules_d.deadline(facts, now, **programs.days())
    return discharge_store.new_timer(client_id, plan["referral_id"], found.notice_at, now)


def _stage(uow: UnitOfWork, referral: ReferralModel, client_id: str, plan: dict, now: datetime) -> None:
    uow.update(ReferralModel(referral.id),
               [ReferralModel.status.set(rules.REDEEMED), ReferralModel.redeemed_by.set(client_id),
                ReferralModel.redeemed_at.set(iso(now)), ReferralModel.version.add(1)],
               (ReferralModel.version == int(referral.version)) & (ReferralModel.status == rules.ISSUED)
               & (ReferralModel.code_hash == referral.code_hash) & (ReferralModel.redeem_by > sortable(now)))
    uow.put(_first_look(client_id, plan, now))


def _refused(code, email: str, user_id: str, now: datetime) -> HavenError:
    check_code(code, email, user_store.get(user_id), now)  # raises the rule the change broke, in SPEC order
    return HavenError("Your profile or the referral changed meanwhile; try again.", "invalid_state",
                      details={"state": "changed"})


def _after(user_id: str, referral: ReferralModel, now: datetime) -> None:
    room_store.set_plan_kind(user_id, "referral")
    metrics.add_metric(name="ReferralRedeemed", unit="Count", value=1)
    logger.info("referral redeemed", extra={"referral_id": referral.id, "client_id": user_id})


def redeem(caller: Caller, code, now: datetime) -> UserModel:
    """`POST /clients/me/referral`: the registered client's plan becomes the referral program
    (usage of an earlier plan does not carry over: the program has its own counter), status
    `active` again if they had been discharged."""
    user = user_store.get(caller.id)
    if user is None or user.role != "client":
        raise NotFound("client profile (register with POST /clients/me first)")
    email = user.email or caller.email
    referral = check_code(code, email, user, now)
    plan = _plan(referral, now)
    item = UserModel(user.id)
    item.version = int(user.version)  # the profile as read: a concurrent change refuses the redemption
    uow = UnitOfWork()
    _stage(uow, referral, user.id, plan, now)
    uow.update(item, [UserModel.plan.set(plan), UserModel.status.set(rules_d.ACTIVE), UserModel.discharge.remove(),
                      UserModel.updated_at.set(iso(now))], UserModel.role == "client")
    try:
        uow.commit()
    except Refused:
        raise _refused(code, email, user.id, now) from None
    _after(user.id, referral, now)
    user.plan, user.status, user.discharge = plan, rules_d.ACTIVE, None
    return user


def register_with_code(user: UserModel, code, now: datetime) -> None:
    """`referral_code` in `POST /clients/me`: the code is checked before anything is written (a bad
    code refuses the whole registration), then the profile and the redemption are ONE transaction."""
    referral = check_code(code, user.email, user if user.version is not None else None, now)
    plan = _plan(referral, now)
    user.plan, user.status, user.discharge = plan, rules_d.ACTIVE, None
    uow = UnitOfWork()
    _stage(uow, referral, user.id, plan, now)
    uow.put(user)  # the version attribute: created once, or updated only as read
    try:
        uow.commit()
    except Refused:
        raise _refused(code, user.email, user.id, now) from None
    _after(user.id, referral, now)
