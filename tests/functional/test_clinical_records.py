"""Session records: one record, amendments, member notes; append-only; visible from ends_at + 72 h."""
from datetime import timedelta

from tests.functional.booking_world import WED_10_NY, scene
from tests.functional.clinical_world import ENDS, completed, confirmed

VISIBLE = ENDS + timedelta(hours=72)


def _record(api, sc, booking_id, text="Discussed sleep; agreed a wind-down routine.", **kw):
    return api.put(f"/bookings/{booking_id}/record", sc.provider, {"text": text}, **kw)


def test_the_provider_writes_one_record_of_a_completed_session(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    early = _record(api, sc, booking["id"])
    assert (early.status, early.code) == (409, "invalid_state")  # confirmed, not completed
    assert "confirmed" in early.json["error"]["message"]
    clock.at = ENDS
    api.post(f"/bookings/{booking['id']}/complete", sc.provider)
    first = _record(api, sc, booking["id"])
    assert first.status == 201
    assert first.json["booking_id"] == booking["id"] and first.json["visible_from"] == "2026-11-28T15:45:00Z"
    [entry] = first.json["entries"]
    assert entry["kind"] == "record" and entry["author_id"] == sc.provider.id
    assert entry["text"] == "Discussed sleep; agreed a wind-down routine."
    assert entry["created_at"] == "2026-11-25T15:45:00Z" and entry["id"]
    again = _record(api, sc, booking["id"], "A second record")
    assert (again.status, again.code) == (409, "already_exists")


def test_a_session_closed_as_completed_by_the_clock_can_be_written_up(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    clock.at = WED_10_NY
    api.post(f"/bookings/{booking['id']}/join", sc.client)
    api.post(f"/bookings/{booking['id']}/join", sc.provider)
    clock.at = ENDS + timedelta(hours=24)  # no outcome 24 h after the end, both joined: completed
    assert _record(api, sc, booking["id"]).status == 201


def test_the_client_sees_the_record_from_exactly_72_hours_after_the_end(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    _record(api, sc, booking["id"])
    clock.at = VISIBLE - timedelta(seconds=1)
    early = api.get(f"/bookings/{booking['id']}/record", sc.client)
    assert (early.status, early.code) == (409, "not_yet_visible")
    assert early.json["error"]["details"]["visible_from"] == "2026-11-28T15:45:00Z"
    note = api.post(f"/bookings/{booking['id']}/record/notes", sc.client, {"text": "Thanks"})
    assert (note.status, note.code) == (409, "not_yet_visible")
    clock.at = VISIBLE
    seen = api.get(f"/bookings/{booking['id']}/record", sc.client)
    assert seen.status == 200 and [e["kind"] for e in seen.json["entries"]] == ["record"]


def test_amendments_and_member_notes_append_in_order(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    path = f"/bookings/{booking['id']}/record"
    no_record = api.post(f"{path}/amendments", sc.provider, {"text": "Addendum"})
    assert (no_record.status, no_record.code) == (409, "invalid_state")
    _record(api, sc, booking["id"], "The record")
    clock.advance(hours=1)
    amended = api.post(f"{path}/amendments", sc.provider, {"text": "Correction: two weeks, not three."})
    assert amended.status == 201
    assert [(e["kind"], e["text"]) for e in amended.json["entries"]] == [
        ("record", "The record"), ("amendment", "Correction: two weeks, not three.")]
    clock.at = VISIBLE
    noted = api.post(f"{path}/notes", sc.client, {"text": "I remember it as three weeks."})
    assert noted.status == 201
    assert [(e["kind"], e["author_id"]) for e in noted.json["entries"]] == [
        ("record", sc.provider.id), ("amendment", sc.provider.id), ("member_note", sc.client.id)]
    clock.advance(minutes=1)
    api.post(f"{path}/amendments", sc.provider, {"text": "Noted the client's view."})
    for who in (sc.client, sc.provider):
        kinds = [e["kind"] for e in api.get(path, who).json["entries"]]
        assert kinds == ["record", "amendment", "member_note", "amendment"]


def test_a_note_needs_a_record_even_after_72_hours(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    assert api.get(f"/bookings/{booking['id']}/record", sc.provider).json == {
        "booking_id": booking["id"], "visible_from": "2026-11-28T15:45:00Z", "entries": []}
    clock.at = VISIBLE
    assert api.get(f"/bookings/{booking['id']}/record", sc.client).json["entries"] == []
    reply = api.post(f"/bookings/{booking['id']}/record/notes", sc.client, {"text": "Hello?"})
    assert (reply.status, reply.code) == (409, "invalid_state")


def test_who_may_write_and_read_records(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    path = f"/bookings/{booking['id']}/record"
    stranger, other_provider = world.client(), world.provider()
    assert api.put(path, sc.client, {"text": "x"}).status == 403
    assert api.put(path, world.ops, {"text": "x"}).status == 403
    assert api.put(path, other_provider, {"text": "x"}).status == 404
    assert _record(api, sc, booking["id"]).status == 201
    assert api.post(f"{path}/amendments", sc.client, {"text": "x"}).status == 403
    assert api.post(f"{path}/amendments", other_provider, {"text": "x"}).status == 404
    assert api.post(f"{path}/notes", sc.provider, {"text": "x"}).status == 403
    assert api.post(f"{path}/notes", stranger, {"text": "x"}).status == 404
    clock.at = VISIBLE
    for who, status in ((world.ops, 403), (stranger, 404), (other_provider, 404), (None, 401)):
        assert api.get(path, who).status == status


def test_texts_are_checked(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    for text in ("", "   \n ", "x" * 20_001, 42, None):
        reply = _record(api, sc, booking["id"], text)
        assert (reply.status, reply.code) == (400, "validation_error"), repr(text)[:20]
    assert _record(api, sc, booking["id"], "é" * 20_000).status == 201  # code points, not bytes


def test_idempotency_key_retries_answer_the_first_result_and_add_nothing(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    path = f"/bookings/{booking['id']}/record"
    first = _record(api, sc, booking["id"], "The record", headers={"Idempotency-Key": "rec-1"})
    retry = _record(api, sc, booking["id"], "The record", headers={"Idempotency-Key": "rec-1"})
    assert (first.status, retry.status) == (201, 201) and retry.json == first.json
    other = _record(api, sc, booking["id"], "Another text", headers={"Idempotency-Key": "rec-1"})
    assert (other.status, other.code) == (409, "idempotency_mismatch")
    fresh = _record(api, sc, booking["id"], "The record", headers={"Idempotency-Key": "rec-2"})
    assert (fresh.status, fresh.code) == (409, "already_exists")
    clock.advance(minutes=1)
    a1 = api.post(f"{path}/amendments", sc.provider, {"text": "A1"}, headers={"Idempotency-Key": "am-1"})
    clock.advance(minutes=1)
    api.post(f"{path}/amendments", sc.provider, {"text": "A2"})
    a1_again = api.post(f"{path}/amendments", sc.provider, {"text": "A1"}, headers={"Idempotency-Key": "am-1"})
    assert a1_again.status == 201 and a1_again.json == a1.json  # as it was then: without A2
    mismatch = api.post(f"{path}/amendments", sc.provider, {"text": "A3"}, headers={"Idempotency-Key": "am-1"})
    assert mismatch.code == "idempotency_mismatch"
    assert [e["text"] for e in api.get(path, sc.provider).json["entries"]] == ["The record", "A1", "A2"]
    clock.at = VISIBLE
    n1 = api.post(f"{path}/notes", sc.client, {"text": "N1"}, headers={"Idempotency-Key": "am-1"})  # another author
    n1_again = api.post(f"{path}/notes", sc.client, {"text": "N1"}, headers={"Idempotency-Key": "am-1"})
    assert (n1.status, n1_again.status) == (201, 201) and n1_again.json == n1.json
    assert [e["kind"] for e in api.get(path, sc.client).json["entries"]].count("member_note") == 1


def test_entries_cannot_be_changed_or_deleted(world, api, clock):
    """No route changes an entry (PUT again is 409, no PATCH/DELETE exists), and the table refuses
    a second write of an entry's key."""
    from chalicelib.store import clinical as store
    from chalicelib.store.models import ClinicalModel

    sc = scene(world, api)
    booking = completed(api, clock, sc)
    _record(api, sc, booking["id"], "Original")
    path = f"/bookings/{booking['id']}/record"
    for method in ("DELETE", "PATCH", "POST"):
        assert api.call(method, path, sc.provider, {"text": "x"}).status in (404, 405)
    [item] = [i for i in ClinicalModel.query(booking["id"]) if i.kind == "record"]
    copy = ClinicalModel(item.booking_id, item.entry, kind="record", client_id=item.client_id, room_id=item.room_id,
                         author_id=item.author_id, created_at=item.created_at, body=b"tampered")
    assert store.create(copy) is False
    assert [e["text"] for e in api.get(path, sc.provider).json["entries"]] == ["Original"]


def test_provider_reads_of_records_are_access_logged(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    api.get(f"/bookings/{booking['id']}/record", sc.provider)
    clock.at = VISIBLE
    api.get(f"/bookings/{booking['id']}/record", sc.client)
    log = api.get("/clients/me/access-log", sc.client).json["items"]
    assert [(e["what"], e["reader_role"], e["booking_id"], e["room_id"]) for e in log] == [
        ("record", "provider", booking["id"], sc.room_id)]


def test_a_record_written_before_it_carried_the_room_key_still_takes_amendments(world, api, clock):
    """The record entry carries the room's wrapped data key (appends need not read the room);
    a record stored before that reads the key from the room."""
    from chalicelib.store.models import ClinicalModel

    sc = scene(world, api)
    booking = completed(api, clock, sc)
    path = f"/bookings/{booking['id']}/record"
    _record(api, sc, booking["id"], "The record")
    stored = ClinicalModel.get(booking["id"], "record", consistent_read=True)
    assert stored.key_blob  # carried
    stored.update(actions=[ClinicalModel.key_blob.remove()])  # as a record from before
    amended = api.post(f"{path}/amendments", sc.provider, {"text": "Added later."})
    assert [(e["kind"], e["text"]) for e in amended.json["entries"]] == [("record", "The record"),
                                                                        ("amendment", "Added later.")]
    clock.at = VISIBLE
    assert [e["text"] for e in api.get(path, sc.client).json["entries"]] == ["The record", "Added later."]
