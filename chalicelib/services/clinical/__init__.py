"""The clinical record (SPEC §2 "Clinical record"), one module per concern:

    common           the booking as its members see it, sealing with the room key, the access log
    questionnaires   PHQ-9/GAD-7 submissions, risk alerts and their acknowledgement, measures
    records          session records, amendments and member notes (append-only)
    ratings          ratings queued without their author, folded by the daily sweep
    risk_messages    risk language in client messages (a `message_posted` handler) and its chase
    access           the client's listing of who read their clinical data

The rules themselves are pure and live in `chalicelib.domain` (questionnaires, records, ratings,
risk_language, crisis); these modules read, seal, write once and notify.
"""
