"""Access that ends (SPEC Safety): sign-out, and revocations recorded from Cognito's own events.

`POST /sign-out` refuses the caller's tokens issued before now (and revokes their refresh tokens
with Cognito). When a user is disabled, deleted, signed out or removed from a group in the
console (or by Haven's ops actions), CloudTrail's event reaches `record_from_cloudtrail` through
an EventBridge rule, and the same kind of record is written. Containers refuse revoked tokens
within a minute (`store.revocations`).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import parse_iso, utc_now
from chalicelib.identity import Caller
from chalicelib.observability import logger
from chalicelib.store import revocations

# CloudTrail's Cognito events that end access (SPEC / issue 8).
ENDING_EVENTS = ("AdminDisableUser", "AdminUserGlobalSignOut", "AdminRemoveUserFromGroup", "AdminDeleteUser",
                 "GlobalSignOut")


def sign_out(caller: Caller) -> None:
    """Token `iat`s are Cognito's real time, so the cut-off is real time too (never the local
    stack's moved clock)."""
    now = utc_now()
    for subject in (revocations.sub_subject(caller.id), revocations.user_subject(caller.username or caller.email)):
        # (the sub is enough to refuse every token of the caller; the name covers a deleted account)
        revocations.record(subject, now, "sign_out")
        wiring.get("revocations").remember(subject, now)
    try:
        wiring.get("cognito").sign_out_everywhere(caller.username or caller.email)
    except Exception as error:  # the tokens are refused by Haven either way
        logger.warning("cognito global sign-out failed", extra={"caller_id": caller.id,
                                                                "error": type(error).__name__})
    logger.info("signed out", extra={"caller_id": caller.id})


def record_from_cloudtrail(event: dict) -> dict:
    """An EventBridge event "AWS API Call via CloudTrail" from cognito-idp: record a revocation for
    the user it names, as of the call's time. Returns what was done (ids only)."""
    detail = event.get("detail") or {}
    name = detail.get("eventName")
    if name not in ENDING_EVENTS or detail.get("errorCode"):
        return {"recorded": 0, "event": name}
    at = parse_iso(detail.get("eventTime") or event.get("time"))
    params = detail.get("requestParameters") or {}
    subjects = []
    sub = (detail.get("additionalEventData") or {}).get("sub") or (detail.get("userIdentity") or {}).get("sub")
    if params.get("username"):
        # the name the call used (the username, or the email alias); the user's sub when it still exists
        subjects.append(revocations.user_subject(params["username"]))
        if not sub:
            try:
                sub = wiring.get("cognito").find_sub(params["username"])
            except Exception:  # a deleted user: the name alone is refused
                sub = None
    if sub:
        subjects.append(revocations.sub_subject(sub))
    for subject in subjects:
        revocations.record(subject, at, name)
    logger.info("revocation recorded", extra={"event": name, "subjects": len(subjects)})
    return {"recorded": len(subjects), "event": name}
