"""Email promises under an SES outage (issue 9): never given up while the email means something,
retried within a sweep period once SES is back, dropped (counted, never sent late) once moot, and
a booking's timers gone from the due index as soon as the booking no longer needs them."""
from dataclasses import replace
from datetime import timedelta

from chalicelib import wiring
from chalicelib.clock import sortable
from chalicelib.store.models import TimerModel
from tests.functional.booking_world import WED_10_NY, book, outbox, run_sweep, scene


class Mailer:
    """A mail adapter that fails while `down`, and counts what it sent."""

    def __init__(self):
        self.down = True
        self.sent = []

    def send(self, to, subject, text, html, files=()):
        if self.down:
            raise ConnectionError("SES is down")
        self.sent.append((to, subject))


def _confirmed(api, sc, starts=WED_10_NY):
    booking = book(api, sc, starts)
    assert api.post(f"/bookings/{booking['id']}/confirm", sc.provider).status == 200
    return booking


def test_an_outage_of_a_day_loses_no_email_and_the_next_sweep_after_recovery_sends_it(world, api):
    mailer = Mailer()
    sc = scene(world, api)
    wiring.override("mailer", mailer)
    book(api, sc)
    outage_start = WED_10_NY - timedelta(hours=54)
    for minutes in range(5, 24 * 60, 5 * 12):  # a sweep an hour for a day, SES down throughout
        run_sweep("deadlines", outage_start + timedelta(minutes=minutes))
    [requested] = outbox("booking_requested")
    assert requested.status == "pending" and int(requested.attempts) >= 20
    # back off by sweep periods: never more than one period until the next try
    assert requested.retry_at <= sortable(outage_start + timedelta(minutes=5 + 23 * 60 + 5))
    mailer.down = False
    run_sweep("deadlines", outage_start + timedelta(hours=24, minutes=5))
    [requested] = outbox("booking_requested")
    assert requested.status == "sent"
    assert [to for to, _ in mailer.sent] == [sc.provider.email]


def test_a_join_now_email_that_could_not_go_out_before_the_session_ended_is_dropped_not_sent_late(world, api):
    mailer = Mailer()
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    wiring.override("mailer", mailer)
    assert run_sweep("reminders", WED_10_NY - timedelta(minutes=10))["reminders_sent"] == 1
    run_sweep("deadlines", WED_10_NY + timedelta(minutes=20))  # still down during the session
    mailer.down = False
    run_sweep("deadlines", WED_10_NY + timedelta(minutes=50))  # up again, after the session's end
    short = outbox("booking_reminder_short")
    assert len(short) == 2 and {n.status for n in short} == {"dropped"}
    assert not [s for _, s in mailer.sent if "join" in s.lower()]
    assert booking["id"] in short[0].id


def test_a_reminder_recorded_before_a_cancellation_is_dropped_on_retry(world, api):
    mailer = Mailer()
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    wiring.override("mailer", mailer)
    run_sweep("reminders", WED_10_NY - timedelta(hours=24))
    assert api.post(f"/bookings/{booking['id']}/cancel", sc.provider).status == 200
    mailer.down = False
    run_sweep("deadlines", WED_10_NY - timedelta(hours=23, minutes=50))
    assert {n.status for n in outbox("booking_reminder_long")} == {"dropped"}
    assert not [s for _, s in mailer.sent if s.startswith("Reminder")]
    assert {n.status for n in outbox("booking_cancelled")} == {"sent"}


def _due_timers(kind: str) -> list:
    return list(TimerModel.due.query(kind, TimerModel.due_at <= sortable(WED_10_NY + timedelta(days=30))))


def test_a_cancelled_booking_leaves_nothing_in_the_due_index(world, api):
    sc = scene(world, api, plan={"live_credits": 4})
    kept = _confirmed(api, sc)
    gone = _confirmed(api, sc, WED_10_NY + timedelta(hours=2))
    pending = book(api, sc, WED_10_NY + timedelta(hours=4))
    assert api.post(f"/bookings/{gone['id']}/cancel", sc.provider).status == 200
    assert api.post(f"/bookings/{pending['id']}/decline", sc.provider).status == 200
    refs = {t.ref_id for kind in ("booking_reminder", "booking_outcome", "booking_confirm") for t in _due_timers(kind)}
    assert refs == {kept["id"]}


def test_a_backlog_of_reminders_drains_in_one_run(world, api):
    sc = scene(world, api, plan={"live_credits": 40})
    starts = [WED_10_NY + timedelta(hours=h) for h in range(0, 7)]  # 10:00–16:00 New York
    for at in starts:
        b = book(api, sc, at)
        assert api.post(f"/bookings/{b['id']}/confirm", sc.provider).status == 200
    # the batch is the size of a page the sweep reads, not a cap on what one run does
    wiring.override("settings", replace(wiring.settings(), sweep_batch=3))
    done = run_sweep("reminders", starts[-1] - timedelta(hours=24))
    assert done["reminders_sent"] == len(starts) == 7
