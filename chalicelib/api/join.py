"""The join page of a live session (SPEC §2): the per-participant join link and its script.

GET shows the page and changes nothing; POST (the page's script) answers the join, as
`POST /bookings/{id}/join` does for that participant. See services/join_page.py."""
from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.routing import PUBLIC, dumps, route
from chalicelib.errors import HavenError
from chalicelib.observability import logger
from chalicelib.services import join_page

bp = Blueprint(__name__)

_JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                 "X-Robots-Tag": "noindex", "X-Content-Type-Options": "nosniff"}


@route(bp, "/join/{token}", "GET", roles=PUBLIC, produces="text/html",
       summary="The join page of a participant's join link (from the reminder, the .ics or the join answer): "
               "joins the meeting in the browser; outside the join window it says when it opens")
def show(token):
    status, html = join_page.show(token, wiring.clock()())
    return Response(body=html, status_code=status, headers=dict(join_page.HEADERS))


@route(bp, "/join/{token}", "POST", roles=PUBLIC, body_required=False,
       content_types=("application/json", "text/plain", "application/x-www-form-urlencoded"),
       summary="The join page's join: the same answer as `POST /bookings/{id}/join` for the link's participant "
               "(`join_url`, and `meeting` and `attendee` for video and audio); 404 for a forged link")
def join(token):
    try:
        answer = join_page.join(token, wiring.clock()())
    except HavenError as error:
        logger.info("join link refused", extra={"code": error.code, "status": error.status})
        return Response(body=dumps(error.body()), status_code=error.status, headers=dict(_JSON_HEADERS))
    return Response(body=dumps(answer), status_code=200, headers=dict(_JSON_HEADERS))


@route(bp, "/join-assets/join.js", "GET", roles=PUBLIC, produces="text/javascript",
       summary="The join page's script (amazon-chime-sdk-js, bundled at build time); `?v=` names its version")
def script():
    asset = join_page.script()
    if asset is None:
        return Response(body="/* the join page's script was not built: run make */", status_code=503,
                        headers={"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-store"})
    text, version = asset
    versioned = (bp.current_request.query_params or {}).get("v") == version
    return Response(body=text, status_code=200, headers={
        "Content-Type": "text/javascript; charset=utf-8", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache"})
