"""Haven's pure domain rules: the reply-promise calendar, billing periods, the credit policy,
the booking state machine, slot arithmetic, profile checks and crisis resources.

Nothing here touches AWS, the environment or the clock: every function is given `now` and
the numbers it needs (from `chalicelib.settings`) by the service that calls it. Rule
violations raise `DomainError` (see `errors`), whose stable `code` the API maps to HTTP.
"""
from chalicelib.domain.errors import DomainError, TooFar

__all__ = ["DomainError", "TooFar"]
