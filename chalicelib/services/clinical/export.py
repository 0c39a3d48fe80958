"""The clinical record's part of a client's data export (`services/export_sections.py`,
registered in `chalicelib/bootstrap.py`): questionnaires with their answers and scores,
measures over time, and the session records the client may read.

Records follow the client's own rule (from `visible_from`, 72 h after the session): the export
holds what the client can read through the API, no more. Ratings appear only as `rated` on
bookings (bookings.json); scores are never tied to a session."""
from __future__ import annotations

import json

from chalicelib.errors import HavenError
from chalicelib.identity import Caller


def write(ctx) -> None:
    from chalicelib.services.clinical import common, questionnaires, records
    from chalicelib.store import clinical as store
    from chalicelib.store.models import BookingModel

    keys: dict = {}

    def key(room_id):
        if room_id not in keys:
            keys[room_id] = common.room_key(room_id)
        return keys[room_id]

    def submissions():
        for item in store.questionnaires_of(ctx.client_id):
            answers = json.loads(common.unseal(item, questionnaires.PURPOSE, key(item.room_id)))
            assessment = questionnaires.rules.assess(answers[questionnaires.rules.PHQ9],
                                                     answers[questionnaires.rules.GAD7])
            yield {**questionnaires._view(item.booking_id, item.submitted_at, assessment, None), "answers": answers}

    ctx.items("questionnaires.json", submissions(),
              "Your pre-session questionnaires (PHQ-9, GAD-7): answers, scores and bands, oldest first")
    ctx.json("measures.json", questionnaires._measures(ctx.client_id),
             "Your measures over time, with reliable improvement, deterioration and recovery")
    caller = Caller(ctx.client_id, ctx.client.email if ctx.client else "", "client")

    def readable():
        for model in BookingModel.by_client.query(ctx.client_id, page_size=200):
            try:
                view = records.read(caller, model.id, ctx.now)
            except HavenError:  # no record yet, or not yet visible to the client
                continue
            if view.get("entries"):
                yield view

    ctx.items("records.json", readable(),
              "Session records you can read (from 72 hours after each session), with amendments and your notes")
