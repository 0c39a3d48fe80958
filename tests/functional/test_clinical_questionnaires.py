"""The pre-session questionnaire, its risk alert and measures over time (SPEC §2 "Clinical record")."""
from datetime import timedelta

from chalicelib.domain import crisis
from tests.functional.booking_world import WED_10_NY, book, outbox, run_sweep, scene
from tests.functional.clinical_world import (ENDS, answers, body, completed, confirmed, flat_text, mail_for,
                                             set_referral_plan)


def _put(api, sc, booking_id, payload=None):
    return api.put(f"/bookings/{booking_id}/questionnaire", sc.client, payload or body())


def test_the_client_answers_once_between_confirmation_and_the_end(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    pending = _put(api, sc, booking["id"])
    assert (pending.status, pending.code) == (409, "invalid_state")
    assert api.get(f"/bookings/{booking['id']}/questionnaire", sc.client).status == 404
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    clock.advance(minutes=3)
    first = _put(api, sc, booking["id"], {"phq9": answers(12, 9), "gad7": answers(15, 7)})
    assert first.status == 201, first.json
    assert first.json == {"booking_id": booking["id"], "submitted_at": "2026-11-23T09:03:00Z",
                          "phq9": {"score": 12, "severity": "moderate"},
                          "gad7": {"score": 15, "severity": "severe"}, "risk": False}
    again = _put(api, sc, booking["id"])
    assert (again.status, again.code) == (409, "already_submitted")
    assert api.get(f"/bookings/{booking['id']}/questionnaire", sc.client).json == first.json
    assert api.get(f"/bookings/{booking['id']}/questionnaire", sc.provider).json == first.json


def test_the_window_closes_at_the_end_of_the_session(world, api, clock):
    sc = scene(world, api)
    early = confirmed(api, sc)
    late = confirmed(api, sc, WED_10_NY + timedelta(hours=1))
    cancelled = confirmed(api, sc, WED_10_NY + timedelta(days=1))
    api.post(f"/bookings/{cancelled['id']}/cancel", sc.client)
    assert _put(api, sc, cancelled["id"]).code == "invalid_state"
    clock.at = ENDS - timedelta(seconds=1)
    assert _put(api, sc, early["id"]).status == 201
    clock.at = ENDS + timedelta(hours=1)  # the later session ended at ENDS + 1 h exactly
    reply = _put(api, sc, late["id"])
    assert (reply.status, reply.code) == (409, "invalid_state")


def test_bad_answers_are_validation_errors_and_change_nothing(world, api):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    good = body()
    for bad in ({**good, "phq9": good["phq9"][:8]}, {**good, "gad7": good["gad7"] + [0]},
                {**good, "phq9": [4] + good["phq9"][1:]}, {**good, "phq9": [True] + good["phq9"][1:]},
                {**good, "gad7": [-1] + good["gad7"][1:]}, {**good, "gad7": [1.5] + good["gad7"][1:]},
                {"phq9": good["phq9"]}, {**good, "mood": 3}, [1, 2, 3]):
        reply = _put(api, sc, booking["id"], bad)
        assert (reply.status, reply.code) == (400, "validation_error"), bad
    assert _put(api, sc, booking["id"]).status == 201


def test_who_may_answer_and_read(world, api):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    stranger, other_provider = world.client(), world.provider()
    path = f"/bookings/{booking['id']}/questionnaire"
    assert api.put(path, sc.provider, body()).status == 403
    assert api.put(path, world.ops, body()).status == 403
    assert api.put(path, stranger, body()).status == 404
    assert api.put(path, None, body()).status == 401
    assert _put(api, sc, booking["id"]).status == 201
    assert api.get(path, stranger).status == 404
    assert api.get(path, other_provider).status == 404
    assert api.get(path, world.ops).status == 403  # ops never read clinical data


def test_every_band_boundary_through_the_api(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 40})
    cases = [(4, "minimal", 4, "minimal"), (5, "mild", 5, "mild"), (9, "mild", 9, "mild"),
             (10, "moderate", 10, "moderate"), (14, "moderate", 14, "moderate"),
             (15, "moderately_severe", 15, "severe"), (19, "moderately_severe", 21, "severe"),
             (20, "severe", 0, "minimal"), (27, "severe", 0, "minimal")]
    for n, (phq, phq_band, gad, gad_band) in enumerate(cases):
        booking = confirmed(api, sc, WED_10_NY + timedelta(days=n // 6, hours=n % 6))
        reply = _put(api, sc, booking["id"], {"phq9": answers(phq, 9, 3 if phq == 27 else 0),
                                              "gad7": answers(gad, 7)})
        assert reply.json["phq9"] == {"score": phq, "severity": phq_band}, phq
        assert reply.json["gad7"] == {"score": gad, "severity": gad_band}, gad


# --- risk ------------------------------------------------------------------------------------------

def test_item_9_above_zero_alerts_the_provider_at_once_and_shows_crisis_resources(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    reply = _put(api, sc, booking["id"], body(phq9=5, item9=1))
    assert reply.status == 201 and reply.json["risk"] is True
    assert reply.json["crisis_resources"] == crisis.resources_for("US-NY")  # the client's region
    alerts = outbox("risk_questionnaire_provider")
    assert [(n.to, n.status) for n in alerts] == [(sc.provider.email, "sent")]
    assert alerts[0].params == {"booking_id": booking["id"], "ack_minutes": 60}
    [mail] = [m for m in mail_for(sc.provider.email) if "at risk" in flat_text(m)]
    text = flat_text(mail)
    assert booking["id"] in text and "moderate" not in text and "minimal" not in text
    assert api.get(f"/bookings/{booking['id']}", sc.provider).json["risk_flag"] is True
    client_view = api.get(f"/bookings/{booking['id']}", sc.client).json
    assert "risk_flag" not in client_view and client_view["rated"] is False
    assert api.get(f"/bookings/{booking['id']}/questionnaire", sc.client).json["crisis_resources"]


def test_no_risk_no_flag_no_alert_and_nothing_to_acknowledge(world, api):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    assert _put(api, sc, booking["id"], body(phq9=27 - 3, item9=0)).json["risk"] is False
    assert api.get(f"/bookings/{booking['id']}", sc.provider).json["risk_flag"] is False
    assert outbox("risk_questionnaire_provider") == []
    reply = api.post(f"/bookings/{booking['id']}/risk-acknowledgement", sc.provider)
    assert (reply.status, reply.code) == (409, "invalid_state")


def test_the_alert_is_recorded_with_the_answers_even_when_mail_is_down(world, api, clock):
    from chalicelib import wiring

    sc = scene(world, api)
    booking = confirmed(api, sc)
    ses = wiring.get("mailer")

    class Flaky:
        down = True

        def send(self, *args, **kwargs):
            if self.down:
                raise ConnectionError("SES is down")
            return ses.send(*args, **kwargs)

    mailer = Flaky()
    wiring.override("mailer", mailer)
    assert _put(api, sc, booking["id"], body(item9=2)).status == 201
    [alert] = outbox("risk_questionnaire_provider")
    assert alert.status == "pending" and alert.attempts == 1
    mailer.down = False
    run_sweep("deadlines", clock() + timedelta(minutes=5))
    [alert] = outbox("risk_questionnaire_provider")
    assert alert.status == "sent"


def test_the_provider_acknowledges_once_and_ops_are_never_told(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    _put(api, sc, booking["id"], body(item9=1))
    path = f"/bookings/{booking['id']}/risk-acknowledgement"
    assert api.post(path, sc.client).status == 403
    assert api.post(path, world.ops).status == 403
    assert api.post(path, world.provider()).status == 404
    clock.advance(minutes=59)
    first = api.post(path, sc.provider)
    assert first.status == 200 and first.json == {"booking_id": booking["id"],
                                                  "acknowledged_at": "2026-11-23T09:59:00Z"}
    clock.advance(minutes=5)
    assert api.post(path, sc.provider).json == first.json  # idempotent: the first acknowledgement
    assert run_sweep("deadlines", clock() + timedelta(hours=2))["risk_alerts_escalated"] == 0
    assert outbox("risk_unacknowledged_ops") == []


def test_unacknowledged_for_an_hour_ops_are_told_exactly_once(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    submitted = clock()
    _put(api, sc, booking["id"], body(item9=3))
    assert run_sweep("deadlines", submitted + timedelta(minutes=59, seconds=59))["risk_alerts_escalated"] == 0
    assert run_sweep("deadlines", submitted + timedelta(hours=1))["risk_alerts_escalated"] == 1
    assert run_sweep("deadlines", submitted + timedelta(hours=1))["risk_alerts_escalated"] == 0  # replayed
    assert run_sweep("deadlines", submitted + timedelta(hours=3))["risk_alerts_escalated"] == 0
    told = outbox("risk_unacknowledged_ops")
    assert len(told) == 1 and told[0].status == "sent" and told[0].params["booking_id"] == booking["id"]
    clock.at = submitted + timedelta(hours=4)  # acknowledging late still works
    assert api.post(f"/bookings/{booking['id']}/risk-acknowledgement", sc.provider).status == 200
    assert len(outbox("risk_unacknowledged_ops")) == 1


def test_an_acknowledgement_between_the_sweeps_read_and_its_write_wins(world, api, clock):
    """The sweep read the due item and saw no acknowledgement; the provider acknowledges before
    the sweep writes: its transaction is refused and ops hear nothing."""
    from chalicelib.services.clinical import questionnaires
    from chalicelib.store import clinical as store

    sc = scene(world, api)
    booking = confirmed(api, sc)
    _put(api, sc, booking["id"], body(item9=1))
    due_at = clock() + timedelta(hours=1)
    [seen] = store.due(store.RISK_ACK_KIND, due_at, 10)
    clock.at = due_at
    assert api.post(f"/bookings/{booking['id']}/risk-acknowledgement", sc.provider).status == 200
    assert questionnaires.escalate(seen, False, due_at) is False
    assert run_sweep("deadlines", due_at)["risk_alerts_escalated"] == 0
    assert outbox("risk_unacknowledged_ops") == []


# --- referral clients answer before joining -------------------------------------------------------

def test_referral_clients_answer_the_questionnaire_before_joining(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    set_referral_plan(sc.client)
    clock.at = WED_10_NY - timedelta(minutes=5)
    refused = api.post(f"/bookings/{booking['id']}/join", sc.client)
    assert (refused.status, refused.code) == (409, "questionnaire_required")
    assert api.post(f"/bookings/{booking['id']}/join", sc.provider).status == 200  # the provider may
    assert _put(api, sc, booking["id"]).status == 201
    assert api.post(f"/bookings/{booking['id']}/join", sc.client).status == 200


def test_other_plans_join_without_the_questionnaire(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    clock.at = WED_10_NY
    assert api.post(f"/bookings/{booking['id']}/join", sc.client).status == 200


# --- measures over time ----------------------------------------------------------------------------

def test_measures_show_reliable_improvement_and_recovery_over_several_sessions(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 10})
    scores = [(16, 12), (13, 9), (9, 7)]  # PHQ-9 down 7, GAD-7 down 5; both below caseness at the end
    ids = []
    for n, (phq, gad) in enumerate(scores):
        clock.at = WED_10_NY - timedelta(days=2) + timedelta(days=7 * n)
        b = confirmed(api, sc, WED_10_NY + timedelta(days=7 * n))
        assert _put(api, sc, b["id"], {"phq9": answers(phq, 9), "gad7": answers(gad, 7)}).status == 201
        ids.append(b["id"])
        if n == 0:
            one = api.get("/clients/me/measures", sc.client).json
            assert one["reliable_improvement"] is one["reliable_deterioration"] is one["recovery"] is None
    mine = api.get("/clients/me/measures", sc.client).json
    assert [i["booking_id"] for i in mine["items"]] == ids  # oldest first
    assert mine["items"][0] == {"booking_id": ids[0], "submitted_at": "2026-11-23T15:00:00Z", "phq9_score": 16,
                                "phq9_severity": "moderately_severe", "gad7_score": 12,
                                "gad7_severity": "moderate"}
    assert (mine["reliable_improvement"], mine["reliable_deterioration"], mine["recovery"]) == (True, False, True)
    theirs = api.get(f"/clients/{sc.client.id}/measures", sc.provider)
    assert theirs.status == 200 and theirs.json == mine


def test_reliable_deterioration_at_exactly_the_thresholds(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 10})
    for n, (phq, gad) in enumerate([(3, 2), (9, 6)]):  # PHQ-9 up 6, GAD-7 up 4
        b = confirmed(api, sc, WED_10_NY + timedelta(hours=n))
        _put(api, sc, b["id"], {"phq9": answers(phq, 9), "gad7": answers(gad, 7)})
        clock.advance(minutes=1)
    m = api.get("/clients/me/measures", sc.client).json
    assert (m["reliable_improvement"], m["reliable_deterioration"], m["recovery"]) == (False, True, False)


def test_who_may_read_measures(world, api):
    sc = scene(world, api)
    path = f"/clients/{sc.client.id}/measures"
    assert api.get(path, world.provider()).status == 404  # not their provider
    assert api.get(path, sc.client).status == 403  # clients read their own at /clients/me/measures
    assert api.get(path, world.ops).status == 403
    assert api.get("/clients/me/measures", world.ops).status == 403
    assert api.get("/clients/me/measures", sc.provider).status == 403
    assert api.get(path, sc.provider).json == {"items": [], "reliable_improvement": None,
                                               "reliable_deterioration": None, "recovery": None}


def test_provider_reads_of_questionnaires_and_measures_are_in_the_access_log(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc, questionnaire=body())
    api.get(f"/bookings/{booking['id']}/questionnaire", sc.client)  # the client's own read: not logged
    clock.advance(minutes=1)
    api.get(f"/bookings/{booking['id']}/questionnaire", sc.provider)
    clock.advance(minutes=1)
    api.get(f"/clients/{sc.client.id}/measures", sc.provider)
    log = api.get("/clients/me/access-log", sc.client).json["items"]
    assert [(e["what"], e["reader_id"], e["reader_role"], e["reader_name"]) for e in log] == [
        ("measures", sc.provider.id, "provider", "Dr. Sam Provider"),
        ("questionnaire", sc.provider.id, "provider", "Dr. Sam Provider")]
    assert log[1]["booking_id"] == booking["id"] and log[1]["room_id"] == sc.room_id
    assert log[0]["room_id"] == sc.room_id and "booking_id" not in log[0]
    assert log[0]["at"] == "2026-11-25T15:47:00Z"
