"""Issue 12's "done when", as one story over the HTTP API with a moving clock: a client answers
the questionnaire before a session, the provider is alerted on item 9 and acknowledges, the client
reads the record 72 h later and adds a note, sees who read their file, and their measures over
several sessions show reliable improvement."""
from datetime import timedelta

from tests.functional.booking_world import WED_10_NY, outbox, run_sweep, scene
from tests.functional.clinical_world import answers, confirmed


def test_the_clinical_record_story(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 8})
    weeks = [(18, 14, 1), (14, 10, 0), (11, 9, 0), (8, 6, 0)]  # PHQ-9, GAD-7, item 9
    for week, (phq9, gad7, item9) in enumerate(weeks):
        starts = WED_10_NY + timedelta(days=7 * week)
        clock.at = starts - timedelta(days=3)
        booking = confirmed(api, sc, starts)
        clock.at = starts - timedelta(hours=2)  # the questionnaire, before the session
        answer = api.put(f"/bookings/{booking['id']}/questionnaire", sc.client,
                         {"phq9": answers(phq9, 9, item9), "gad7": answers(gad7, 7)})
        assert answer.status == 201 and answer.json["risk"] is bool(item9)
        if item9:  # the provider is alerted at once and acknowledges within the hour
            assert "crisis_resources" in answer.json
            assert [n.to for n in outbox("risk_questionnaire_provider")] == [sc.provider.email]
            assert api.get(f"/bookings/{booking['id']}", sc.provider).json["risk_flag"] is True
            clock.advance(minutes=20)
            assert api.post(f"/bookings/{booking['id']}/risk-acknowledgement", sc.provider).status == 200
            assert run_sweep("deadlines", clock() + timedelta(hours=1))["risk_alerts_escalated"] == 0
        clock.at = starts - timedelta(minutes=5)
        assert api.post(f"/bookings/{booking['id']}/join", sc.client).status == 200
        assert api.post(f"/bookings/{booking['id']}/join", sc.provider).status == 200
        assert api.get(f"/bookings/{booking['id']}/questionnaire", sc.provider).status == 200
        clock.at = starts + timedelta(minutes=45)
        assert api.post(f"/bookings/{booking['id']}/complete", sc.provider).status == 200
        assert api.put(f"/bookings/{booking['id']}/record", sc.provider,
                       {"text": f"Week {week + 1}: we reviewed the plan."}).status == 201
        assert api.post(f"/bookings/{booking['id']}/rating", sc.client, {"score": 5}).status == 201
        if week == 0:  # 72 h later the client reads the record and adds a note
            clock.at = starts + timedelta(hours=72, minutes=44)
            assert api.get(f"/bookings/{booking['id']}/record", sc.client).code == "not_yet_visible"
            clock.advance(minutes=1)
            record = api.get(f"/bookings/{booking['id']}/record", sc.client)
            assert record.status == 200 and record.json["entries"][0]["text"] == "Week 1: we reviewed the plan."
            note = api.post(f"/bookings/{booking['id']}/record/notes", sc.client, {"text": "It helped, thanks."})
            assert [e["kind"] for e in note.json["entries"]] == ["record", "member_note"]
            log = api.get("/clients/me/access-log", sc.client).json["items"]
            assert {e["what"] for e in log} == {"questionnaire", "record"}
            assert {e["reader_name"] for e in log} == {"Dr. Sam Provider"}
    measures = api.get("/clients/me/measures", sc.client).json
    assert [i["phq9_score"] for i in measures["items"]] == [18, 14, 11, 8]
    assert measures["reliable_improvement"] is True and measures["reliable_deterioration"] is False
    assert measures["recovery"] is True  # 18/14 at caseness, 8/6 below both
    run_sweep("discharges", clock() + timedelta(days=1))
    assert api.get(f"/providers/{sc.provider.id}", sc.client).json["rating"] is None  # 4 folded: below 5
