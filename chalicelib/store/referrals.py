"""Referrals: found by id or by the hash of their code (the code itself is never stored)."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.models import ReferralModel


def get(referral_id: str) -> ReferralModel | None:
    try:
        return ReferralModel.get(referral_id, consistent_read=True)
    except DoesNotExist:
        return None


def by_code_hash(code_hash: str) -> ReferralModel | None:
    """The referral whose current code hashes to `code_hash`, re-read from the table (the index
    is eventually consistent: a code voided by a reissue a moment ago must not be found)."""
    for hit in ReferralModel.by_code.query(code_hash, limit=2):
        fresh = get(hit.id)
        if fresh is not None and fresh.code_hash == code_hash:
            return fresh
    return None
