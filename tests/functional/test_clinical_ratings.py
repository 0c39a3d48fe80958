"""Ratings no one can trace: the booking keeps only `rated`; scores wait without author and are
folded by the daily sweep once at least 3 wait; the public rating shows from 5 (SPEC §2 Ratings)."""
from datetime import timedelta

from tests.functional.booking_world import WED_10_NY, run_sweep, scene
from tests.functional.clinical_world import ENDS, completed, confirmed, flat_text, raw_tables

DAY_AFTER_2AM = ENDS.replace(hour=2, minute=0) + timedelta(days=1)


def _rate(api, who, booking_id, score=5, **kw):
    return api.post(f"/bookings/{booking_id}/rating", who, {"score": score}, **kw)


def _sessions(api, clock, sc, n):
    """`n` completed sessions of the pair, Wednesday 15:00Z onwards, one an hour."""
    done = [confirmed(api, sc, WED_10_NY + timedelta(hours=h)) for h in range(n)]
    clock.at = WED_10_NY + timedelta(hours=n)
    for b in done:
        reply = api.post(f"/bookings/{b['id']}/complete", sc.provider)
        assert reply.status == 200, reply.json
    return done


def test_a_client_rates_a_completed_session_once(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    reply = _rate(api, sc.client, booking["id"], 4)
    assert reply.status == 201 and reply.json == {"booking_id": booking["id"], "rated": True}
    again = _rate(api, sc.client, booking["id"], 5)
    assert (again.status, again.code) == (409, "already_rated")
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["rated"] is True
    assert "rated" not in api.get(f"/bookings/{booking['id']}", sc.provider).json  # the client's field only


def test_the_window_is_from_the_end_for_30_days(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 10})
    d = confirmed(api, sc, WED_10_NY + timedelta(days=1))
    a, b, _c = _sessions(api, clock, sc, 3)
    # a session marked completed before its end cannot be rated yet
    clock.at = WED_10_NY + timedelta(days=1, minutes=10)
    api.post(f"/bookings/{d['id']}/complete", sc.provider)
    early = _rate(api, sc.client, d["id"])
    assert (early.status, early.code) == (409, "invalid_state")
    clock.at = ENDS + timedelta(days=30) - timedelta(seconds=1)
    assert _rate(api, sc.client, a["id"]).status == 201
    clock.at = WED_10_NY + timedelta(hours=1, minutes=45) + timedelta(days=30)  # b's end + 30 d exactly
    late = _rate(api, sc.client, b["id"])
    assert (late.status, late.code) == (409, "invalid_state")


def test_only_completed_sessions_can_be_rated(world, api, clock):
    sc = scene(world, api)
    booking = confirmed(api, sc)
    clock.at = ENDS + timedelta(minutes=1)
    reply = _rate(api, sc.client, booking["id"])
    assert (reply.status, reply.code) == (409, "invalid_state") and "confirmed" in reply.json["error"]["message"]


def test_scores_are_checked_and_only_the_client_rates(world, api, clock):
    sc = scene(world, api)
    booking = completed(api, clock, sc)
    for bad in (0, 6, 4.5, "5", True, None):
        reply = _rate(api, sc.client, booking["id"], bad)
        assert (reply.status, reply.code) == (400, "validation_error"), bad
    assert _rate(api, sc.provider, booking["id"]).status == 403
    assert _rate(api, world.ops, booking["id"]).status == 403
    assert _rate(api, world.client(), booking["id"]).status == 404
    assert _rate(api, None, booking["id"]).status == 401


def test_scores_fold_only_once_three_wait_and_the_rating_shows_from_five(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 10})
    sessions = _sessions(api, clock, sc, 6)
    profile = f"/providers/{sc.provider.id}"
    for b, score in zip(sessions[:2], (5, 4)):
        _rate(api, sc.client, b["id"], score)
    assert run_sweep("discharges", DAY_AFTER_2AM)["ratings_folded"] == 0  # 2 waiting: they wait on
    assert api.get(profile, sc.client).json["rating"] is None
    _rate(api, sc.client, sessions[2]["id"], 4)
    assert run_sweep("discharges", DAY_AFTER_2AM + timedelta(days=1))["ratings_folded"] == 3
    assert run_sweep("discharges", DAY_AFTER_2AM + timedelta(days=1))["ratings_folded"] == 0  # replayed
    assert api.get(profile, sc.client).json["rating"] is None  # 3 folded: below 5
    for b, score in zip(sessions[3:], (4, 4, 5)):
        _rate(api, sc.client, b["id"], score)
    assert run_sweep("discharges", DAY_AFTER_2AM + timedelta(days=2))["ratings_folded"] == 3
    # 5+4+4+4+4+5 = 26 / 6 = 4.333… → 4.3
    assert api.get(profile, sc.client).json["rating"] == {"average": 4.3, "count": 6}


def test_the_average_rounds_half_up(world, api, clock):
    from chalicelib.store.models import UserModel

    sc = scene(world, api)
    user = UserModel.get(sc.provider.id)
    user.update(actions=[UserModel.rating_sum.set(17), UserModel.rating_count.set(4)])
    assert api.get(f"/providers/{sc.provider.id}", sc.client).json["rating"] is None  # below 5 ratings
    user.update(actions=[UserModel.rating_sum.set(21), UserModel.rating_count.set(5)])
    assert api.get(f"/providers/{sc.provider.id}", sc.client).json["rating"] == {"average": 4.2, "count": 5}
    user.update(actions=[UserModel.rating_sum.set(85), UserModel.rating_count.set(20)])  # 4.25 exactly
    assert api.get(f"/providers/{sc.provider.id}", sc.client).json["rating"] == {"average": 4.3, "count": 20}


def test_no_table_ties_a_score_to_its_author(world, api, clock):
    """After ratings, read every table raw: the queue holds only the provider and the score; no
    item anywhere holds a score beside the client or the booking; nothing records when."""
    sc = scene(world, api, plan={"live_credits": 10})
    sessions = _sessions(api, clock, sc, 4)
    scores = {sessions[0]["id"]: 2, sessions[1]["id"]: 5, sessions[2]["id"]: 3}
    before = {i["id"]["S"]: i for name, items in raw_tables().items() if name.endswith("-bookings") for i in items}
    for booking_id, score in scores.items():
        clock.advance(minutes=7)
        assert _rate(api, sc.client, booking_id, score, headers={"Idempotency-Key": f"k-{booking_id}"}).status == 201
    tables = raw_tables()
    queue = next(items for name, items in tables.items() if name.endswith("-rating_queue"))
    assert len(queue) == 3
    for item in queue:
        assert set(item) == {"shard", "id", "provider_id", "score"}
        assert item["provider_id"]["S"] == sc.provider.id
        assert item["id"]["S"].startswith(sc.provider.id + "#")
        text = flat_text(item)
        assert sc.client.id not in text and not any(b in text for b in scores)
    assert sorted(int(i["score"]["N"]) for i in queue) == sorted(scores.values())
    for name, items in tables.items():
        if name.endswith("-rating_queue"):
            continue
        for item in items:
            # no other item holds a score, or any trace of when a session was rated
            assert not {n for n in item if "score" in n or n.startswith("rat")} - {"rated", "rating_sum",
                                                                                   "rating_count"}, (name, item)
            if name.endswith("-bookings") and item["id"]["S"] in scores:  # rating added `rated`, nothing else
                assert item == {**before[item["id"]["S"]], "rated": {"BOOL": True}}
    idempotency = next(items for name, items in tables.items() if name.endswith("-idempotency"))
    assert not [i for i in idempotency if "rating" in flat_text(i)]  # the route takes no Idempotency-Key
    # folding keeps nothing but the provider's totals
    run_sweep("discharges", DAY_AFTER_2AM)
    tables = raw_tables()
    assert next(items for name, items in tables.items() if name.endswith("-rating_queue")) == []
    provider = next(i for name, items in tables.items() if name.endswith("-users") for i in items
                    if i["id"]["S"] == sc.provider.id)
    assert (provider["rating_sum"], provider["rating_count"]) == ({"N": "10"}, {"N": "3"})


def test_ratings_reach_no_log(world, api, clock, caplog, capfd):
    caplog.set_level("DEBUG")
    sc = scene(world, api, plan={"live_credits": 10})
    sessions = _sessions(api, clock, sc, 3)
    for b, score in zip(sessions, (1, 2, 3)):
        _rate(api, sc.client, b["id"], score)
    run_sweep("discharges", DAY_AFTER_2AM)
    out, err = capfd.readouterr()
    logs = out + err + "\n".join(repr(vars(r)) for r in caplog.records)
    assert sessions[0]["id"] in logs  # ids are logged (the complete calls), so the check means something
    assert "score" not in logs
