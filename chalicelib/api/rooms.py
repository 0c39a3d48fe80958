"""Room routes: rooms, messages, read markers."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import MEMBER, route
from chalicelib.errors import ValidationError
from chalicelib.services import rooms

bp = Blueprint(__name__)


@route(bp, "/rooms", "GET", roles=MEMBER, summary="Rooms the caller belongs to")
def list_rooms(caller):
    return rooms.list_rooms(caller)


@route(bp, "/rooms/{room_id}", "GET", roles=MEMBER, summary="A room with unread count, banner and reply clock")
def get_room(room_id, caller):
    return rooms.view(caller, room_id, wiring.clock()())


@route(bp, "/rooms/{room_id}/messages", "POST", roles=MEMBER, body=models.NewMessage, status=201,
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
