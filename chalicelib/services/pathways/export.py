"""The session requests' part of a client's data export (`services/export_sections.py`,
registered in `chalicelib/bootstrap.py`): every request the client sent, newest first, with its
note and any decline reason opened (they are the client's own request)."""
from __future__ import annotations

from chalicelib.identity import Caller


def write(ctx) -> None:
    from chalicelib.services.pathways import request_views
    from chalicelib.store import session_requests as store

    caller = Caller(ctx.client_id, ctx.client.email if ctx.client else "", "client")

    def rows():
        for model in store.page("client", ctx.client_id, 200, None):
            note, reason = request_views._open(model, caller, ctx.now)
            yield request_views.render(store.to_domain(model), caller, ctx.now, note=note, reason_text=reason)

    ctx.items("requests.json", rows(), "Your session requests (\"share your availability\"), newest first")
