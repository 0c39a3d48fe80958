"""Who read my file (GET /clients/me/access-log), and nothing clinical in plaintext at rest, in
logs or in email (SPEC §2 "Clinical record", "Safety and privacy")."""
from datetime import timedelta

from tests.functional.booking_world import scene
from tests.functional.clinical_world import ENDS, answers, completed, confirmed, flat_text, raw_tables
from tests.support.aws import sent_mail


def test_the_access_log_lists_provider_reads_newest_first_page_by_page(world, api, clock):
    client, provider, room_id = world.pair()
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "hello"})
    for _ in range(5):
        clock.advance(minutes=1)
        api.get(f"/rooms/{room_id}/messages", provider)
    first = api.get("/clients/me/access-log?limit=2", client)
    assert first.status == 200 and len(first.json["items"]) == 2 and first.json["next"]
    entry = first.json["items"][0]
    assert entry == {"at": "2026-11-23T09:05:00Z", "reader_id": provider.id, "reader_role": "provider",
                     "reader_name": "Dr. Sam Provider", "what": "messages", "room_id": room_id}
    pages, cursor = [first.json["items"]], first.json["next"]
    while cursor:
        page = api.get(f"/clients/me/access-log?limit=2&next={cursor}", client).json
        pages.append(page["items"])
        cursor = page["next"]
    times = [e["at"] for p in pages for e in p]
    assert len(times) == 5 and times == sorted(times, reverse=True)
    other = world.client()
    assert api.get(f"/clients/me/access-log?next={first.json['next']}", other).code == "invalid_cursor"
    assert api.get("/clients/me/access-log?next=forged.cursor", client).code == "invalid_cursor"
    assert api.get("/clients/me/access-log", other).json == {"items": [], "next": None}


def test_only_clients_list_their_access_log(world, api):
    client, provider, _room = world.pair()
    assert api.get("/clients/me/access-log", provider).status == 403
    assert api.get("/clients/me/access-log", world.ops).status == 403
    assert api.get("/clients/me/access-log", None).status == 401
    assert api.get("/clients/me/access-log?limit=0", client).code == "validation_error"
    assert api.get("/clients/me/access-log?limit=101", client).code == "validation_error"


MARKERS = {"record": "zebra-record-7Q", "amendment": "zebra-amend-7Q", "note": "zebra-note-7Q",
           "message": "zebra-message-7Q"}


def _busy_clinical_day(world, api, clock):
    """Every clinical write, with marker strings in every free text (with and without Idempotency-Key)."""
    sc = scene(world, api, plan={"live_credits": 10})
    risky = confirmed(api, sc, ENDS + timedelta(days=1) - timedelta(minutes=45))
    api.put(f"/bookings/{risky['id']}/questionnaire", sc.client,
            {"phq9": answers(17, 9, 2), "gad7": answers(16, 7)})
    booking = completed(api, clock, sc, questionnaire={"phq9": [2, 1, 2, 3, 0, 1, 2, 3, 0], "gad7": answers(11, 7)})
    path = f"/bookings/{booking['id']}/record"
    api.put(path, sc.provider, {"text": f"Session notes {MARKERS['record']}"}, headers={"Idempotency-Key": "r1"})
    api.post(f"{path}/amendments", sc.provider, {"text": f"Amended {MARKERS['amendment']}"})
    api.post(f"{path}/amendments", sc.provider, {"text": f"Again {MARKERS['amendment']}"},
             headers={"Idempotency-Key": "a1"})
    clock.advance(hours=72)
    api.post(f"{path}/notes", sc.client, {"text": f"My view {MARKERS['note']}"}, headers={"Idempotency-Key": "n1"})
    api.get(path, sc.provider)
    api.get(f"/bookings/{booking['id']}/questionnaire", sc.provider)
    api.get(f"/clients/{sc.client.id}/measures", sc.provider)
    api.post(f"/bookings/{booking['id']}/rating", sc.client, {"score": 2})
    api.post(f"/rooms/{sc.room_id}/messages", sc.client,
             {"kind": "text", "text": f"I want to kill myself {MARKERS['message']}"})
    api.post(f"/bookings/{risky['id']}/risk-acknowledgement", sc.provider)
    return sc, booking, risky


def test_answers_records_and_notes_are_never_in_plaintext_in_any_table(world, api, clock):
    sc, booking, _risky = _busy_clinical_day(world, api, clock)
    tables = raw_tables()
    everything = "\n".join(flat_text(item) for items in tables.values() for item in items)
    for marker in MARKERS.values():
        assert marker not in everything, marker
    for clue in ("phq9", "gad7", "[2, 1, 2, 3, 0, 1, 2, 3, 0]", "moderately_severe", "passive_ideation",
                 "kill myself"):
        assert clue not in everything, clue
    clinical = next(items for name, items in tables.items() if name.endswith("-clinical"))
    kinds = sorted(i["kind"]["S"] for i in clinical)
    assert kinds == ["amendment", "amendment", "member_note", "questionnaire", "questionnaire", "record", "risk_ack"]
    assert all("body" in i for i in clinical if i["kind"]["S"] != "risk_ack")
    # what the message flag keeps: the category and the list's version, never the words
    messages = next(items for name, items in tables.items() if name.endswith("-messages"))
    [flag] = [i["flag"] for i in messages if "flag" in i]
    assert set(flag_keys(flag)) == {"category", "version"}


def flag_keys(attribute) -> list:
    import json

    return list(json.loads(attribute["S"]))


def test_a_busy_clinical_day_puts_no_answer_score_record_or_phrase_in_logs_or_email(world, api, clock, capfd,
                                                                                   caplog):
    caplog.set_level("DEBUG")
    sc, booking, risky = _busy_clinical_day(world, api, clock)
    out, err = capfd.readouterr()
    logs = out + err + "\n".join(repr(vars(record)) for record in caplog.records)
    mail = "\n".join(flat_text(m) for m in sent_mail())
    assert booking["id"] in logs and risky["id"] in mail and sc.room_id in mail  # ids are there, so the search means something
    assert "risk_questionnaire_provider" in logs and "risk_message_provider" in logs
    for where, text in (("logs", logs), ("email", mail)):
        for secret in (*MARKERS.values(), "kill myself", "phq9", "gad7", "moderately_severe", "suicidal",
                       "passive_ideation", "\"score\"", "'score'", "[2, 1, 2, 3, 0, 1, 2, 3, 0]"):
            assert secret not in text, f"{secret!r} reached the {where}"
