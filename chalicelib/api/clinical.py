"""Clinical record routes: questionnaires and risk, measures, ratings, session records, and the
client's access log. Ops never reach any of them (403 by role)."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import MEMBER, route
from chalicelib.identity import CLIENT, PROVIDER
from chalicelib.services.clinical import access, questionnaires, ratings, records

bp = Blueprint(__name__)


def _now():
    return wiring.clock()()


def _idempotency_key():
    """The caller's `Idempotency-Key`, if any (record routes make retries safe themselves)."""
    return (bp.current_request.headers or {}).get("idempotency-key")


@route(bp, "/bookings/{booking_id}/questionnaire", "PUT", roles=(CLIENT,), body=models.Questionnaire, status=201,
       summary="Submit the pre-session PHQ-9 and GAD-7 (once, from confirmation until the session ends)")
def submit_questionnaire(booking_id, caller, body):
    return questionnaires.submit(caller, booking_id, body["phq9"], body["gad7"], _now())


@route(bp, "/bookings/{booking_id}/questionnaire", "GET", roles=MEMBER,
       summary="The booking's questionnaire scores (provider reads are access-logged)")
def read_questionnaire(booking_id, caller):
    return questionnaires.read(caller, booking_id, _now())


@route(bp, "/bookings/{booking_id}/risk-acknowledgement", "POST", roles=(PROVIDER,),
       summary="The booking's provider acknowledges its questionnaire risk alert (idempotent)")
def acknowledge_risk(booking_id, caller):
    return questionnaires.acknowledge(caller, booking_id, _now())


@route(bp, "/clients/me/measures", "GET", roles=(CLIENT,),
       summary="The caller's questionnaire scores over time, oldest first, with reliable change and recovery")
def my_measures(caller):
    return questionnaires.my_measures(caller, _now())


@route(bp, "/clients/{client_id}/measures", "GET", roles=(PROVIDER,),
       summary="A client's measures over time, for their provider (access-logged)")
def client_measures(client_id, caller):
    return questionnaires.client_measures(caller, client_id, _now())


@route(bp, "/bookings/{booking_id}/rating", "POST", roles=(CLIENT,), body=models.Rating, status=201,
       summary="Rate a completed session 1–5, once, within 30 days of its end (no Idempotency-Key: "
               "nothing may keep the score beside the booking)")
def rate(booking_id, caller, body):
    return ratings.rate(caller, booking_id, body["score"], _now())


@route(bp, "/bookings/{booking_id}/record", "PUT", roles=(PROVIDER,), body=models.RecordText, status=201,
       own_idempotency=True, summary="The provider's one factual record of a completed session")
def write_record(booking_id, caller, body):
    return records.write_record(caller, booking_id, body["text"], _idempotency_key(), _now())


@route(bp, "/bookings/{booking_id}/record/amendments", "POST", roles=(PROVIDER,), body=models.RecordText,
       status=201, own_idempotency=True, summary="Append an amendment to the session record")
def amend_record(booking_id, caller, body):
    return records.amend(caller, booking_id, body["text"], _idempotency_key(), _now())


@route(bp, "/bookings/{booking_id}/record/notes", "POST", roles=(CLIENT,), body=models.RecordText, status=201,
       own_idempotency=True, summary="The client appends a member note to a record they can see")
def add_member_note(booking_id, caller, body):
    return records.add_note(caller, booking_id, body["text"], _idempotency_key(), _now())


@route(bp, "/bookings/{booking_id}/record", "GET", roles=MEMBER,
       summary="The session record: entries oldest first (the client from ends_at + 72 h)")
def read_record(booking_id, caller):
    return records.read(caller, booking_id, _now())


@route(bp, "/clients/me/access-log", "GET", roles=(CLIENT,), query=models.AccessLogQuery,
       summary="Who read the caller's clinical data, newest first")
def access_log(caller, query):
    return access.list_for_client(caller, query["limit"], query.get("next"))
