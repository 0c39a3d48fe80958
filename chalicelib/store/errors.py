"""Recognising DynamoDB condition failures without matching message text."""
from __future__ import annotations

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError, DeleteError


def condition_failed(error: Exception) -> bool:
    """True when a put/update/delete or a transaction was refused by a condition."""
    if isinstance(error, (PutError, UpdateError, DeleteError)):
        return error.cause_response_code == "ConditionalCheckFailedException"
    if isinstance(error, TransactWriteError):
        return error.cause_response_code == "TransactionCanceledException" and any(
            reason is not None and reason.code == "ConditionalCheckFailed"
            for reason in (error.cancellation_reasons or []))
    return False
