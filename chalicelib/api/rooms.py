"""Room routes: rooms, messages, read markers."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import MEMBER, route
from chalicelib.identity import CLIENT
from chalicelib.errors import ValidationError
from chalicelib.services import rooms

bp = Blueprint(__name__)


@route(bp, "/rooms", "GET", roles=MEMBER, query=models.RoomsQuery, summary="Rooms the caller belongs to")
def list_rooms(caller, query):
    return rooms.list_rooms(caller, query["limit"], query.get("next"))


@route(bp, "/rooms/{room_id}", "GET", roles=MEMBER, summary="A room with unread count, banner and reply clock")
def get_room(room_id, caller):
    from chalicelib.services import room_view

    return room_view.view(caller, room_id, wiring.clock()())


@route(bp, "/rooms/{room_id}/messages", "POST", roles=MEMBER, body=models.NewMessage, status=201, idempotent=True,
       summary="Post a text, voice or video message")
def post_message(room_id, caller, body):
    now = wiring.clock()()
    if body["kind"] == "text":
        if "text" not in body or "media_id" in body:
            raise ValidationError("A text message needs `text` (and no `media_id`).", details={"field": "text"})
        return rooms.post_text(caller, room_id, body["text"], now)
    if "media_id" not in body or "text" in body:
        raise ValidationError("A voice or video message needs `media_id` (and no `text`).",
                              details={"field": "media_id"})
    from chalicelib.services import media

    return media.post_media_message(caller, room_id, body["kind"], body["media_id"], now)


@route(bp, "/rooms/{room_id}/messages", "GET", roles=MEMBER, query=models.MessagesQuery,
       summary="Messages, newest first")
def list_messages(room_id, caller, query):
    return rooms.messages(caller, room_id, query["limit"], query.get("next"), wiring.clock()())


@route(bp, "/rooms/{room_id}/read", "POST", roles=MEMBER, body=models.ReadMarker,
       summary="Mark messages read up to one")
def mark_read(room_id, caller, body):
    return rooms.mark_read(caller, room_id, body["message_id"])


@route(bp, "/rooms/{room_id}/media", "POST", roles=MEMBER, body=models.NewUpload, status=201, idempotent=True,
       summary="Get a presigned POST to upload a voice or video file (15 minutes)")
def create_upload(room_id, caller, body):
    from chalicelib.services import media

    return media.create_upload(caller, room_id, body, wiring.clock()())


@route(bp, "/rooms/{room_id}/messaging-sessions", "POST", roles=(CLIENT,), status=201, idempotent=True,
       summary="Start a 7-day messaging session (insurance and eap plans)")
def start_messaging_session(room_id, caller):
    from chalicelib.services import messaging_sessions

    return messaging_sessions.start(caller, room_id, wiring.clock()())


@route(bp, "/rooms/{room_id}/messaging-sessions/{session_id}", "DELETE", roles=(CLIENT,),
       summary="Always 409: messaging sessions cannot be cancelled")
def cancel_messaging_session(room_id, session_id, caller):
    from chalicelib.services import messaging_sessions

    rooms.member_room(caller, room_id)
    messaging_sessions.refuse_cancel()
