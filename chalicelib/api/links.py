"""Emailed action links: GET shows a page and changes nothing; POST acts once. HTML in and out."""
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import PUBLIC, route
from chalicelib.services import links

bp = Blueprint(__name__)

_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex", "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}


def _page(result) -> Response:
    status, html = result
    return Response(body=html, status_code=status, headers=dict(_HEADERS))


@route(bp, "/links/{token}", "GET", roles=PUBLIC, produces="text/html",
       summary="The page of an emailed link: details and Confirm / Decline buttons; changes nothing")
def show(token):
    return _page(links.show(token, wiring.clock()()))


@route(bp, "/links/{token}", "POST", roles=PUBLIC, query=models.LinkAction, produces="text/html",
       content_types=("application/x-www-form-urlencoded", "application/json", "text/plain"),
       summary="Perform an emailed link's action once (`action=confirm|decline`, query or form field)")
def act(token, query):
    action = query.get("action")
    if action is None:
        raw = bp.current_request.raw_body or b""
        try:
            action = (parse_qs(raw.decode("utf-8", "replace")).get("action") or [None])[0]
        except Exception:
            action = None
    return _page(links.act(token, action, wiring.clock()()))
