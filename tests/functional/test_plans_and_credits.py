"""Plans, credits left, and free slots as the client apps see them."""
from datetime import timedelta

from tests.functional.booking_world import WED_10_NY, book, credits, scene, z


def test_credits_are_per_period_and_do_not_carry_over(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 2, "period_anchor": "2026-11-01"})
    book(api, sc)
    assert api.get("/clients/me", sc.client).json["credits"] == {"live": 1, "messaging": None}
    clock.at = WED_10_NY.replace(month=12, day=2)  # December: a fresh period, November's unused one is gone
    assert credits(api, sc.client) == 2


def test_setting_the_plan_again_keeps_the_usage(world, api):
    sc = scene(world, api, plan={"live_credits": 2})
    book(api, sc)
    world.plan(sc.client, live_credits=3)
    assert credits(api, sc.client) == 2


def test_counted_plans_count_in_all_and_messaging_is_shown(world, api):
    sc = scene(world, api, plan={"kind": "eap", "live_credits": 2, "messaging_credits": 3, "period_anchor": None})
    book(api, sc)
    book(api, sc, WED_10_NY + timedelta(days=20))
    assert api.get("/clients/me", sc.client).json["credits"] == {"live": 0, "messaging": 3}
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY + timedelta(days=40))})
    assert (reply.status, reply.code) == (402, "no_credit")


def test_slots_list_free_starts_after_the_48h_notice_minus_booked_time(world, api):
    sc = scene(world, api, windows=[{"weekday": 2, "start": "09:00", "end": "11:00"}])  # Wednesdays, New York
    reply = api.get(f"/providers/{sc.provider.id}/slots?from={z(WED_10_NY - timedelta(days=1))}"
                    f"&to={z(WED_10_NY + timedelta(days=1))}", sc.client)
    assert reply.status == 200, reply.json
    assert [s["starts_at"] for s in reply.json["items"]] == [
        "2026-11-25T14:00:00Z", "2026-11-25T14:30:00Z", "2026-11-25T15:00:00Z"]
    book(api, sc)  # 15:00Z (10:00 New York) is now held, and so are the starts overlapping it
    items = api.get(f"/providers/{sc.provider.id}/slots?from={z(WED_10_NY - timedelta(days=1))}"
                    f"&to={z(WED_10_NY + timedelta(days=1))}", sc.client).json["items"]
    assert [s["starts_at"] for s in items] == ["2026-11-25T14:00:00Z"]
    assert items[0]["ends_at"] == "2026-11-25T14:45:00Z"


def test_slots_follow_the_providers_clock_across_dst(world, api, clock):
    sc = scene(world, api, windows=[{"weekday": 0, "start": "09:00", "end": "10:00"}], plan=False)
    clock.at = WED_10_NY.replace(year=2027, month=3, day=1)
    reply = api.get(f"/providers/{sc.provider.id}/slots?from=2027-03-07T00:00:00Z&to=2027-03-16T00:00:00Z",
                    sc.client)
    # New York moves from UTC−5 to UTC−4 on Sun 2027-03-14: Monday 09:00 is 14:00Z, then 13:00Z.
    assert [s["starts_at"] for s in reply.json["items"]] == ["2027-03-08T14:00:00Z", "2027-03-15T13:00:00Z"]


def test_slot_ranges_are_limited_and_checked(world, api):
    sc = scene(world, api)
    path = f"/providers/{sc.provider.id}/slots"
    assert api.get(f"{path}?from=2026-11-24T00:00:00Z&to=2027-01-24T00:00:00Z", sc.client).code == "range_too_large"
    assert api.get(f"{path}?from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", sc.client).code == "validation_error"
    assert api.get(f"{path}?from=2026-11-24T00:00:00", sc.client).code == "validation_error"
    assert api.get("/providers/nobody/slots", sc.client).status == 404
    assert api.get(path, sc.provider).status == 403
    assert len(api.get(path, sc.client).json["items"]) > 0
