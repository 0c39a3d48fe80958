"""Care pathways (SPEC §2): referral programs, session requests ("share your availability") and
discharges, one module each.

    programs     a referral client's program as it stands now: facts, status by the clock, checks
    referrals    issuing, reissuing and redeeming referral codes
    requests     session requests: asking, proposing (held times), declining, withdrawing, accepting
    request_sweeps  expiry, lapse and nudges, as of a sweep's time
    discharges   the daily discharges sweep: notices and discharges
    notices      the emails (and room messages) of all of the above

This package re-exports nothing: import the module you need (the import-graph test counts an
import of the package as an import of every module it names).
"""
