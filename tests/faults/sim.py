"""A stretch of Haven's life under faults, simulated against the real store (the emulator) and the
real services, and judged by an oracle that knows only the scenario and SPEC.

    scenario   people (providers in New York, São Paulo with Brazil's holidays, London; their
               clients), bookings with what happens to each (confirmed, declined or left to expire;
               cancelled early or late, by either side; rescheduled; the session completed, left
               without outcome, missed), bookings made by providers, two clients racing for one
               slot, messages and replies. Generated from a seed, before anything runs.
    faults     the mail service down for windows of time, the scheduler down for a window, runs
               missed, replayed for the same moment, replayed for an old moment, and run twice at
               once (two threads).
    run        the scenario's actions at their times (the services called directly, as the routes
               call them) and the sweeps every 5 minutes as EventBridge would call them (as of
               the event's `time`), with the faults.
    judge      every promise against the oracle (see `Judge`): each email the scenario calls for
               went out exactly once, within one sweep period of its first chance (the mail
               service up and a run or request to send it), or was dropped because it became moot
               first; none after its booking was cancelled or moved; credits conserved; no
               double booking; reply deadlines on the provider's working clock.

`python -m tests.faults.soak` runs a week; `tests/faults/test_week_under_faults.py` runs two days.
"""
from __future__ import annotations

import random
import threading
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.faults.faults import FlakyMailer
from tests.faults.oracle import BOOKING_KINDS, overlaps, period_start, read_email, reply_due

UTC = timezone.utc
PERIOD = timedelta(minutes=5)
SESSION = timedelta(minutes=45)
ANCHOR = date(2026, 10, 1)
LIVE_CREDITS = 4
# The scenario's providers: zone, country (holidays), and the holidays in the simulated weeks,
# written down by hand from the countries' calendars (not computed by Haven's holiday code).
ZONES = [("America/New_York", None, frozenset()), ("America/New_York", None, frozenset()),
         ("America/Sao_Paulo", "BR", frozenset({date(2026, 11, 2)})),  # Finados
         ("America/New_York", None, frozenset()), ("Europe/London", "GB", frozenset())]
DAY_START, DAY_END = time(8), time(20)  # every provider's availability, every day, local time


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the scenario -----------------------------------------------------------------------------------

@dataclass
class Person:
    key: str
    role: str
    email: str
    tz: str
    id: str = ""
    country: str | None = None
    holidays: frozenset = frozenset()
    provider: "Person | None" = None  # a client's provider
    room_id: str = ""


@dataclass
class Booking:
    """One booking as the scenario means it: who, when, and what happens to it."""
    key: str
    client: Person | None
    provider: Person
    start: datetime
    made_at: datetime
    by: str = "client"  # client | provider
    decision: tuple | None = None  # ("confirm" | "decline", at)
    ending: tuple | None = None  # ("cancel", actor, at) | ("reschedule", at, Booking)
    conduct: str | None = None  # complete | joined | absent | no_show
    rescheduled_from: "Booking | None" = None
    race: tuple = ()  # the two clients racing for this slot
    # facts of the run
    id: str | None = None
    done: dict = field(default_factory=dict)  # action -> True when the service accepted it

    @property
    def confirm_by(self) -> datetime:
        return self.start - timedelta(hours=24)

    @property
    def end(self) -> datetime:
        return self.start + SESSION


@dataclass
class Message:
    room: Person  # the client whose room it is
    sender: str  # client | provider
    at: datetime
    done: bool = False


@dataclass
class Action:
    at: datetime
    seq: int
    kind: str
    args: tuple


@dataclass
class Faults:
    ses_outages: list = field(default_factory=list)  # [(start, end)] half-open
    scheduler_outages: list = field(default_factory=list)
    missed: set = field(default_factory=set)  # marks with no run
    replays: set = field(default_factory=set)  # marks whose runs happen twice
    old_replays: dict = field(default_factory=dict)  # mark -> how far back a replayed event's time is
    overlaps: set = field(default_factory=set)  # marks run twice at once


@dataclass
class Config:
    clients: int
    start: datetime  # the first scheduled run
    end: datetime  # the last
    faults: Faults
    seed: int = 9
    history: timedelta = timedelta(0)  # bookings made before the scheduler starts (nothing falls due then)
    messages: bool = True
    # sessions a provider books at a given moment for a given client (index), on top of the random ones:
    # [(client index, made at, starts at)], so a short run surely has sessions inside its outages
    pinned: list = field(default_factory=list)
    # when clients write ([from, to)); default: the whole run but its last 2 hours
    message_window: tuple | None = None


class Scenario:
    def __init__(self, config: Config):
        self.config = config
        self.rng = random.Random(config.seed)
        self.providers: list[Person] = []
        self.clients: list[Person] = []
        self.bookings: list[Booking] = []
        self.messages: list[Message] = []
        self.actions: list[Action] = []
        self._taken: dict[str, list] = {}  # person key -> [(start, end)]
        self._credits: dict[tuple, int] = {}  # (client key, period) -> credits the plan may need
        self._seq = 0
        self._make_people()
        self._make_bookings()
        if config.messages:
            self._make_messages()
        self.actions.sort(key=lambda a: (a.at, a.seq))

    # people ---------------------------------------------------------------------------------
    def _make_people(self) -> None:
        seed = self.config.seed
        n_providers = max(2, self.config.clients // 20)
        for i in range(n_providers):
            zone, country, holidays = ZONES[i % len(ZONES)]
            self.providers.append(Person(f"p{i}", "provider", f"sim-p{i}-{seed}@example.com", zone,
                                         country=country, holidays=holidays))
        for j in range(self.config.clients):
            provider = self.providers[j % n_providers]
            self.clients.append(Person(f"c{j}", "client", f"sim-c{j}-{seed}@example.com", provider.tz,
                                       provider=provider))

    # time ------------------------------------------------------------------------------------
    def _add(self, at: datetime, kind: str, *args) -> None:
        self._seq += 1
        self.actions.append(Action(at, self._seq, kind, args))

    def _minute(self, a: datetime, b: datetime) -> datetime:
        """A random whole minute in [a, b)."""
        span = int((b - a).total_seconds() // 60)
        return (a + timedelta(minutes=self.rng.randrange(max(1, span)))).replace(second=0, microsecond=0)

    def _free(self, who: list[Person], start: datetime, end: datetime) -> bool:
        return not any(overlaps((start, end), other) for p in who for other in self._taken.get(p.key, ()))

    def _slot(self, provider: Person, client: Person | None, earliest: datetime, latest: datetime) -> datetime | None:
        """A start on the provider's local :00/:30 grid inside their availability, free for both
        (never reused, even after a cancel, so each email names one booking), with a credit left."""
        tz = ZoneInfo(provider.tz)
        candidates = []
        day = earliest.astimezone(tz).date()
        while datetime.combine(day, time(0), tz) <= latest + timedelta(days=1):
            for half_hours in range(DAY_START.hour * 2, DAY_END.hour * 2):
                local = datetime.combine(day, time(half_hours // 2, 30 * (half_hours % 2)), tz)
                start = local.astimezone(UTC)
                if start.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
                    continue  # not a real wall time (a spring-forward gap)
                if not (earliest <= start <= latest) or (start + SESSION).astimezone(tz).time() > DAY_END:
                    continue
                if (start + SESSION).astimezone(tz).date() != day:
                    continue
                candidates.append(start)
            day += timedelta(days=1)
        self.rng.shuffle(candidates)
        people = [provider] + ([client] if client else [])
        for start in candidates:
            # a whole hour apart: two sessions 30 minutes apart overlap, 45 minutes apart may share a
            # 30-minute claim granule when zones are offset; an hour never does
            if not self._free(people, start - timedelta(minutes=15), start + timedelta(hours=1)):
                continue
            if client is not None and self._credits.get((client.key, period_start(start, client.tz, ANCHOR)), 0) \
                    >= LIVE_CREDITS:
                continue
            for p in people:
                self._taken.setdefault(p.key, []).append((start, start + SESSION))
            if client is not None:
                bucket = (client.key, period_start(start, client.tz, ANCHOR))
                self._credits[bucket] = self._credits.get(bucket, 0) + 1
            return start
        return None

    # bookings --------------------------------------------------------------------------------
    def _make_bookings(self) -> None:
        c = self.config
        first, last = c.start - c.history, c.end
        n = 0
        for client in self.clients:
            for _ in range(self.rng.choice((1, 2, 2, 3))):
                made = self._minute(first, max(first + timedelta(minutes=1), last - timedelta(hours=50)))
                earliest = made + timedelta(hours=48, minutes=30)
                if made < c.start:  # history: nothing may fall due before the scheduler starts
                    earliest = max(earliest, c.start + timedelta(hours=24, minutes=30))
                start = self._slot(client.provider, client, earliest, earliest + timedelta(hours=40))
                if start is None:
                    continue
                n += 1
                self._client_booking(Booking(f"b{n}", client, client.provider, start, made))
            if self.rng.random() < 0.3:  # a booking the provider makes: confirmed at once
                made = self._minute(c.start, c.end - timedelta(hours=6))
                start = self._slot(client.provider, client, made + timedelta(hours=2), made + timedelta(hours=30))
                if start is not None:
                    n += 1
                    b = Booking(f"b{n}", client, client.provider, start, made, by="provider")
                    self.bookings.append(b)
                    self._add(made, "book", b)
                    self._conduct(b)
        for index, made, start in c.pinned:
            client = self.clients[index % len(self.clients)]
            people = [client.provider, client]
            if not self._free(people, start - timedelta(minutes=15), start + timedelta(hours=1)):
                continue
            for p in people:
                self._taken.setdefault(p.key, []).append((start, start + SESSION))
            n += 1
            b = Booking(f"b{n}", client, client.provider, start, made, by="provider")
            self.bookings.append(b)
            self._add(made, "book", b)
            self._conduct(b)
        # two clients of one provider race for one slot (two requests at once; one must win)
        for r in range(max(2, c.clients // 25)):
            provider = self.providers[r % len(self.providers)]
            pair = [p for p in self.clients if p.provider is provider][:2]
            if len(pair) < 2:
                continue
            made = self._minute(c.start, c.end - timedelta(hours=52))
            start = self._slot(provider, None, made + timedelta(hours=49), made + timedelta(hours=60))
            if start is None:
                continue
            for p in pair:
                self._taken.setdefault(p.key, []).append((start, start + SESSION))
                bucket = (p.key, period_start(start, p.tz, ANCHOR))
                self._credits[bucket] = self._credits.get(bucket, 0) + 1
            n += 1
            b = Booking(f"b{n}", None, provider, start, made, race=tuple(pair))
            self.bookings.append(b)
            self._add(made, "race", b)

    def _client_booking(self, b: Booking) -> None:
        rng = self.rng
        self.bookings.append(b)
        self._add(b.made_at, "book", b)
        roll = rng.random()
        latest_decision = min(b.made_at + timedelta(hours=20), b.confirm_by - timedelta(minutes=30))
        if roll < 0.72:
            b.decision = ("confirm", self._minute(b.made_at + timedelta(minutes=5), latest_decision))
        elif roll < 0.8:
            b.decision = ("decline", self._minute(b.made_at + timedelta(minutes=5), latest_decision))
        if b.decision:
            self._add(b.decision[1], b.decision[0], b)
        if not b.decision or b.decision[0] != "confirm":
            return
        confirmed_at = b.decision[1]
        roll = rng.random()
        if roll < 0.08:  # the client cancels, early or late
            b.ending = ("cancel", "client", self._minute(confirmed_at + timedelta(minutes=1),
                                                         b.start - timedelta(minutes=15)))
        elif roll < 0.12:
            b.ending = ("cancel", "provider", self._minute(confirmed_at + timedelta(minutes=1),
                                                           b.start - timedelta(minutes=15)))
        elif roll < 0.22 and b.start - confirmed_at > timedelta(hours=26):
            at = self._minute(confirmed_at + timedelta(minutes=1), b.start - timedelta(hours=25))
            new_start = self._slot(b.provider, b.client, at + timedelta(hours=48, minutes=30),
                                   at + timedelta(hours=70))
            if new_start is not None:
                new = Booking(b.key + "r", b.client, b.provider, new_start, at, rescheduled_from=b)
                self.bookings.append(new)
                b.ending = ("reschedule", at, new)
                latest = min(at + timedelta(hours=10), new.confirm_by - timedelta(minutes=30))
                new.decision = ("confirm", self._minute(at + timedelta(minutes=10), latest))
                self._add(new.decision[1], "confirm", new)
                self._conduct(new)
        if b.ending:
            self._add(b.ending[-1] if b.ending[0] == "cancel" else b.ending[1], b.ending[0], b)
            return
        self._conduct(b)

    def _conduct(self, b: Booking) -> None:
        roll = self.rng.random()
        b.conduct = "complete" if roll < 0.5 else "joined" if roll < 0.7 else "absent" if roll < 0.9 else "no_show"
        if b.conduct in ("complete", "joined"):
            self._add(b.start - timedelta(minutes=5), "join", b, "client")
            self._add(b.start - timedelta(minutes=3), "join", b, "provider")
        if b.conduct == "complete":
            self._add(b.start + timedelta(minutes=50), "complete", b)
        if b.conduct == "no_show":
            self._add(b.start + timedelta(minutes=1), "join", b, "provider")
            self._add(b.start + timedelta(minutes=15), "no_show", b)

    # messages --------------------------------------------------------------------------------
    def _make_messages(self) -> None:
        c = self.config
        first, last = c.message_window or (c.start, c.end - timedelta(hours=2))
        for client in self.clients:
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                at = self._minute(first, last)
                m = Message(client, "client", at)
                self.messages.append(m)
                self._add(at, "message", m)
                if self.rng.random() < 0.6:
                    reply = Message(client, "provider", self._minute(at + timedelta(minutes=20),
                                                                     at + timedelta(hours=40)))
                    self.messages.append(reply)
                    self._add(reply.at, "message", reply)


# --- the run ------------------------------------------------------------------------------------------

class Runner:
    """Runs a scenario against the services and the store, with the scheduler and the mail service
    misbehaving as `faults` says. `wall` is the simulated clock (what the mail service stamps)."""

    def __init__(self, scenario: Scenario, *, progress=None):
        from chalicelib import bootstrap, wiring
        from chalicelib.clock import FixedClock

        self.s = scenario
        self.c = scenario.config
        self.wall = FixedClock(self.c.start - self.c.history - timedelta(minutes=5))
        self.mailer = FlakyMailer(clock=self.wall, outages=list(self.c.faults.ses_outages))
        wiring.override("clock", self.wall)
        wiring.override("mailer", self.mailer)
        bootstrap.start()
        self.runs: list[tuple[datetime, datetime, str]] = []  # (wall, event time, sweep)
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.races: list[tuple[Booking, list]] = []
        self.progress = progress
        self._lock = threading.Lock()

    # people ---------------------------------------------------------------------------------
    def setup(self) -> None:
        import uuid

        from chalicelib.identity import Caller
        from chalicelib.services import assignments, clients, ops, providers

        from chalicelib.store.models import ALL_MODELS

        # Every table's client made here, in the main thread: PynamoDB makes a model's botocore client
        # on first use, from that thread's session, and two threads (a race, two runs at once) making
        # their first clients at the same moment have failed inside botocore ("Unable to load data for:
        # endpoints") under the in-process emulator. A Lambda serves one request at a time.
        from chalicelib.store import base

        for model in ALL_MODELS:
            model._get_connection().connection.client  # noqa: B018 (made, not used)
        base._shared_connection().client  # noqa: B018 (transactions and batch reads)
        now = self.wall()
        windows = [{"weekday": d, "start": DAY_START.strftime("%H:%M"), "end": DAY_END.strftime("%H:%M")}
                   for d in range(7)]
        for p in self.s.providers:
            made = providers.create({"email": p.email, "name": f"Dr. {p.key}", "kind": "therapist",
                                     "licensed_regions": ["US-NY", "GB", "BR"], "languages": ["en"],
                                     "timezone": p.tz, "country": p.country, "capacity": 500}, now)
            p.id = made["id"]
            providers.set_availability(Caller(p.id, p.email, "provider"), {"timezone": p.tz, "windows": windows}, now)
        for c in self.s.clients:
            c.id = str(uuid.UUID(int=self.s.rng.getrandbits(128)))
            clients.register(Caller(c.id, c.email, "client"),
                             {"name": f"Client {c.key}", "date_of_birth": date(1990, 4, 21), "timezone": c.tz,
                              "region": "US-NY", "languages": ["en"]}, now)
            c.room_id = assignments.assign(Caller("ops-sim", "ops@haven.example", "ops"),
                                        {"client_id": c.id, "provider_id": c.provider.id}, now)["room_id"]
            ops.set_plan(c.id, {"kind": "subscription", "live_credits": LIVE_CREDITS, "period_anchor": ANCHOR}, now)

    # actions --------------------------------------------------------------------------------
    def _caller(self, p: Person):
        from chalicelib.identity import Caller

        return Caller(p.id, p.email, p.role)

    def act(self, a: Action) -> None:
        from chalicelib.errors import HavenError
        from chalicelib.services import bookings as svc
        from chalicelib.services import rooms

        self.wall.at = a.at
        now = a.at
        try:
            if a.kind == "book":
                (b,) = a.args
                if b.by == "client":
                    command = svc.NewBookingCommand(modality="video", starts_at=b.start, provider_id=b.provider.id)
                    made = svc.create(self._caller(b.client), command, now)
                else:
                    command = svc.NewBookingCommand(modality="video", starts_at=b.start, client_id=b.client.id)
                    made = svc.create(self._caller(b.provider), command, now)
                b.id = made["id"]
            elif a.kind == "race":
                self._race(a.args[0], now)
                return
            elif a.kind in ("confirm", "decline", "complete", "no_show"):
                (b,) = a.args
                if b.id is None:
                    return
                fn = {"confirm": svc.confirm, "decline": svc.decline, "complete": svc.complete,
                      "no_show": svc.no_show}[a.kind]
                fn(self._caller(b.provider), b.id, now)
            elif a.kind == "cancel":
                (b,) = a.args
                if b.id is None:
                    return
                actor = b.client if b.ending[1] == "client" else b.provider
                svc.cancel(self._caller(actor), b.id, None, now)
            elif a.kind == "reschedule":
                (b,) = a.args
                new = b.ending[2]
                if b.id is None:
                    return
                made = svc.reschedule(self._caller(b.client), b.id, svc.RescheduleCommand(starts_at=new.start), now)
                new.id = made["id"]
                new.done["book"] = True
            elif a.kind == "join":
                b, who = a.args
                if b.id is None:
                    return
                svc.join(self._caller(b.client if who == "client" else b.provider), b.id, now)
            elif a.kind == "message":
                (m,) = a.args
                sender = m.room if m.sender == "client" else m.room.provider
                rooms.post_text(self._caller(sender), m.room.room_id, f"message at {z(m.at)}", now)
                m.done = True
                return
            else:  # pragma: no cover
                raise ValueError(a.kind)
            a.args[0].done[a.kind if a.kind != "join" else f"join_{a.args[1]}"] = True
        except HavenError as error:
            self.refused.append(f"{a.kind} {getattr(a.args[0], 'key', '')} at {z(a.at)}: {error.code}")
        except Exception:
            self.errors.append(f"{a.kind} at {z(a.at)}:\n{traceback.format_exc()}")

    def _race(self, b: Booking, now: datetime) -> None:
        from chalicelib.errors import HavenError
        from chalicelib.services import bookings as svc

        barrier = threading.Barrier(len(b.race))
        results: list = []

        def attempt(client: Person):
            command = svc.NewBookingCommand(modality="video", starts_at=b.start, provider_id=b.provider.id)
            try:
                barrier.wait(timeout=30)
                made = svc.create(self._caller(client), command, now)
                results.append((client, made["id"], None))
            except HavenError as error:
                results.append((client, None, error.code))
            except BaseException:  # pragma: no cover - reported
                results.append((client, None, traceback.format_exc()))

        threads = [threading.Thread(target=attempt, args=(c,)) for c in b.race]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        winners = [r for r in results if r[1]]
        self.races.append((b, results))
        if len(winners) == 1:
            b.client, b.id = winners[0][0], winners[0][1]
            b.done["book"] = True

    # the scheduler --------------------------------------------------------------------------
    def _run(self, name: str, event_time: datetime) -> None:
        from chalicelib.sweeps import run

        try:
            run(name, {"time": z(event_time)})
        except Exception:
            self.errors.append(f"{name} as of {z(event_time)}:\n{traceback.format_exc()}")
        with self._lock:
            self.runs.append((self.wall(), event_time, name))

    def _both(self, mark: datetime, event_time: datetime) -> None:
        names = ["reminders", "deadlines"]
        if self.s.rng.random() < 0.5:
            names.reverse()  # EventBridge starts the two rules in no particular order
        for name in names:
            self._run(name, event_time)

    def _overlapping(self, mark: datetime) -> None:
        for name in ("reminders", "deadlines"):
            barrier = threading.Barrier(2)

            def go(name=name, barrier=barrier):
                barrier.wait(timeout=30)
                self._run(name, mark)

            threads = [threading.Thread(target=go) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)

    def tick(self, mark: datetime) -> None:
        f = self.c.faults
        self.wall.at = mark
        if any(a <= mark < b for a, b in f.scheduler_outages) or mark in f.missed:
            return
        if mark in f.overlaps:
            self._overlapping(mark)
        else:
            self._both(mark, mark)
        if mark in f.replays:
            self._both(mark, mark)
        if mark in f.old_replays:
            self._both(mark, mark - f.old_replays[mark])
        if mark.hour == 2 and mark.minute == 0:
            self._run("discharges", mark)

    def run(self) -> None:
        self.setup()
        actions = list(self.s.actions)
        i = 0
        mark = self.c.start
        while i < len(actions) and actions[i].at < mark:  # history: before the scheduler starts
            self.act(actions[i])
            i += 1
        n_marks = int((self.c.end - self.c.start) / PERIOD) + 1
        for k in range(n_marks):
            mark = self.c.start + k * PERIOD
            while i < len(actions) and actions[i].at <= mark:
                self.act(actions[i])
                i += 1
            self.tick(mark)
            if self.progress and k % 288 == 0:
                self.progress(mark, k, n_marks)
        while i < len(actions) and actions[i].at <= self.c.end:
            self.act(actions[i])
            i += 1
        self.wall.at = self.c.end


# --- the oracle -----------------------------------------------------------------------------------------

@dataclass
class Expect:
    """An email the scenario calls for: to whom, about what, from when it is due, until when it
    still means something, and how it first gets its chance (a request, or a sweep's run)."""
    to: str
    kind: str
    due: datetime
    origin: str  # request | reminders | deadlines
    start: datetime | None = None
    booking_id: str | None = None
    room_id: str | None = None
    due_at: datetime | None = None  # the reply deadline the email names
    moot: datetime | None = None
    cancelled: datetime | None = None  # its booking was cancelled or moved then (guarded reminders)
    void: bool = False  # never to be sent at all (its timer was gone before its moment)

    def matches(self, e) -> bool:
        if e.to != self.to or e.kind != self.kind:
            return False
        if self.kind in ("unresolved", "provider_no_show"):
            return e.booking_id == self.booking_id
        if self.kind in ("reply_overdue", "reply_overdue_ops"):
            return e.room_id == self.room_id and e.due_at == self.due_at
        return self.start in e.starts


@dataclass
class Verdict:
    clients: int = 0
    expected: int = 0
    sent: int = 0
    lost: int = 0
    duplicated: int = 0
    after_cancel: int = 0
    after_moot: int = 0
    late: int = 0
    dropped_moot: int = 0  # what Haven counted (notices it dropped)
    dropped_expected: int = 0  # recorded, and moot before the mail service was back: to be dropped
    skipped_expected: int = 0  # moot before any run after its moment (missed runs): never recorded
    max_recovery_minutes: float = 0.0
    credit_drift: int = 0
    double_bookings: int = 0
    races: int = 0
    race_failures: int = 0
    unexpected: int = 0
    refused: int = 0
    errors: int = 0
    runs: int = 0
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.after_cancel or self.after_moot or self.late
                    or self.dropped_moot != self.dropped_expected or self.credit_drift or self.double_bookings
                    or self.race_failures or self.unexpected
                    or self.refused or self.errors or self.max_recovery_minutes > PERIOD.total_seconds() / 60)

    def problems(self) -> str:
        return "\n".join(f"{k}: {v[:8]}" for k, v in self.details.items() if v)


class Judge:
    def __init__(self, runner: Runner):
        from chalicelib import wiring

        self.r = runner
        self.s = runner.s
        self.c = runner.c
        self.ops_email = wiring.settings().ops_email
        self._runs: dict[str, list] = {}
        for wall, event, name in sorted(runner.runs):
            self._runs.setdefault(name, []).append((wall, event))
        self._walls = {name: [w for w, _ in runs] for name, runs in self._runs.items()}

    # when things can happen --------------------------------------------------------------
    def ses_up(self, at: datetime) -> bool:
        return not any(a <= at < b for a, b in self.c.faults.ses_outages)

    def recovery(self, at: datetime) -> datetime | None:
        for a, b in self.c.faults.ses_outages:
            if a <= at < b:
                return b
        return None

    def first_run(self, name: str, at: datetime) -> datetime | None:
        """The first run of `name` that happened at or after `at`, as of a moment at or after it."""
        import bisect

        runs = self._runs.get(name, [])
        for wall, event in runs[bisect.bisect_left(self._walls.get(name, []), at):]:
            if event >= at:
                return wall
        return None

    def opportunity(self, x: Expect) -> tuple[datetime | None, datetime | None, datetime | None]:
        """(first chance to send it, the recovery it waited for or None, the first attempt: the
        request, or the first run of the sweep that makes it, whether or not the mail service was up)."""
        first = x.due if x.origin == "request" else self.first_run(x.origin, x.due)
        if first is None:
            return None, None, None
        if self.ses_up(first):
            return first, None, first
        back = self.recovery(first)
        return self.first_run("deadlines", back), back, first

    # what the scenario calls for ------------------------------------------------------------
    def expectations(self) -> list[Expect]:
        out: list[Expect] = []
        for b in self.s.bookings:
            if not b.done.get("book"):
                continue
            out += self._booking(b)
        out += self._replies()
        return out

    def _booking(self, b: Booking) -> list[Expect]:
        out = []
        client, provider = b.client.email, b.provider.email
        confirmed_at = None
        if b.by == "client":
            made = b.rescheduled_from.ending[1] if b.rescheduled_from else b.made_at
            out.append(Expect(provider, "requested", made, "request", b.start, moot=b.confirm_by))
            if b.decision and b.done.get(b.decision[0]):
                kind, at = b.decision
                if kind == "confirm":
                    confirmed_at = at
                    out += [Expect(w, "confirmed", at, "request", b.start) for w in (client, provider)]
                else:
                    out.append(Expect(client, "declined", at, "request", b.start))
            elif not b.decision:
                out.append(Expect(client, "expired", b.confirm_by, "deadlines", b.start))
        else:
            confirmed_at = b.made_at
            out += [Expect(w, "confirmed", b.made_at, "request", b.start) for w in (client, provider)]
        ended_at = None
        if b.ending and (b.done.get(b.ending[0])):
            if b.ending[0] == "cancel":
                ended_at = b.ending[2]
                out += [Expect(w, "cancelled", ended_at, "request", b.start) for w in (client, provider)]
            else:
                ended_at, new = b.ending[1], b.ending[2]
                out += [Expect(w, "rescheduled", ended_at, "request", new.start) for w in (client, provider)]
        if confirmed_at is not None:
            for kind, lead, moot in (("remind_long", timedelta(hours=24), b.start - timedelta(hours=1)),
                                     ("remind_short", timedelta(minutes=10), b.end)):
                due = b.start - lead
                if due < confirmed_at:
                    continue  # its moment passed before the booking was confirmed: skipped
                for w in (client, provider):
                    out.append(Expect(w, kind, due, "reminders", b.start, moot=moot, cancelled=ended_at,
                                      void=ended_at is not None and ended_at <= due))
            if b.conduct == "absent" and ended_at is None:
                out.append(Expect(self.ops_email, "unresolved", b.end + timedelta(hours=24), "deadlines",
                                  booking_id=b.id))
        return out

    def _replies(self) -> list[Expect]:
        """SPEC reply promise per room: a client message while none is owed opens a deadline one
        working day of the provider's time later; a provider message settles it; overdue: the
        provider once at the deadline, ops once a further working day later."""
        out = []
        by_room: dict[str, list[Message]] = {}
        for m in self.s.messages:
            if m.done:
                by_room.setdefault(m.room.key, []).append(m)
        for messages in by_room.values():
            messages.sort(key=lambda m: m.at)
            room = messages[0].room
            provider = room.provider
            opened = []  # [due, escalate, settled_at]
            current = None
            for m in messages:
                if m.sender == "client" and current is None:
                    due = reply_due(m.at, provider.tz, holidays=provider.holidays)
                    current = [due, reply_due(due, provider.tz, holidays=provider.holidays), None]
                    opened.append(current)
                elif m.sender == "provider" and current is not None:
                    current[2] = m.at
                    current = None
            for due, escalate, settled in opened:
                first = self.first_run("deadlines", due)
                if first is None or (settled is not None and settled <= first):
                    continue
                out.append(Expect(provider.email, "reply_overdue", first, "request", room_id=room.room_id,
                                  due_at=due))
                second = self.first_run("deadlines", escalate)
                if second is None or (settled is not None and settled <= second):
                    continue
                out.append(Expect(self.ops_email, "reply_overdue_ops", second, "request", room_id=room.room_id,
                                  due_at=due))
        return out

    # the verdict ------------------------------------------------------------------------------
    def verdict(self) -> Verdict:
        v = Verdict(clients=len(self.s.clients), refused=len(self.r.refused), errors=len(self.r.errors),
                    runs=len(self.r.runs))
        d = {k: [] for k in ("lost", "duplicated", "after_cancel", "after_moot", "late", "unexpected", "refused",
                             "errors", "credit_drift", "double_bookings", "races", "dropped")}
        d["refused"], d["errors"] = list(self.r.refused), list(self.r.errors)
        sent = [read_email(m.to, m.subject, m.text, m.at) for m in self.r.mailer.sent]
        judged = [e for e in sent if e.kind in BOOKING_KINDS or e.kind.startswith("reply_overdue")]
        used = [False] * len(judged)
        by_address: dict[tuple, list[int]] = {}
        for i, e in enumerate(judged):
            by_address.setdefault((e.to, e.kind), []).append(i)
        end = self.c.end
        for x in self.expectations():
            hits = [i for i in by_address.get((x.to, x.kind), ()) if not used[i] and x.matches(judged[i])]
            for i in hits:
                used[i] = True
            emails = [judged[i] for i in hits]
            label = f"{x.kind} to {x.to} ({z(x.start) if x.start else x.booking_id or x.room_id})"
            if x.void:
                if emails:
                    v.after_cancel += 1
                    d["after_cancel"].append(label)
                continue
            opp, back, attempt = self.opportunity(x)
            deadline = min([t for t in (x.moot, x.cancelled) if t is not None], default=None)
            must = opp is not None and (deadline is None or opp < deadline) and opp + PERIOD <= end
            if must:
                v.expected += 1
            elif not emails:
                if opp is None or opp + PERIOD > end:
                    continue  # not yet due when the run ended
                if attempt is not None and attempt < deadline:
                    v.dropped_expected += 1  # recorded, then moot while the mail service was down
                else:
                    v.skipped_expected += 1  # the first run after its moment came after it was moot
                continue
            if not emails:
                v.lost += 1
                d["lost"].append(f"{label}, due {z(x.due)}")
                continue
            v.sent += 1
            if len(emails) > 1:
                v.duplicated += len(emails) - 1
                d["duplicated"].append(f"{label} x{len(emails)} at {[z(e.at) for e in emails]}")
            first = min(e.at for e in emails)
            if x.cancelled is not None and any(e.at >= x.cancelled for e in emails):
                v.after_cancel += 1
                d["after_cancel"].append(f"{label}, cancelled {z(x.cancelled)}, sent {z(first)}")
            if x.moot is not None and any(e.at >= x.moot for e in emails):
                v.after_moot += 1
                d["after_moot"].append(f"{label}, moot {z(x.moot)}, sent {z(first)}")
            if must and first > opp + PERIOD:
                v.late += 1
                d["late"].append(f"{label}, first chance {z(opp)}, sent {z(first)}")
            if back is not None and first >= back:
                v.max_recovery_minutes = max(v.max_recovery_minutes, (first - back).total_seconds() / 60)
        for i, e in enumerate(judged):
            if not used[i]:
                v.unexpected += 1
                d["unexpected"].append(f"{e.kind} to {e.to}: {e.subject} at {z(e.at)}")
        dropped = self._dropped()
        v.dropped_moot = len(dropped)
        if v.dropped_moot != v.dropped_expected:
            d["dropped"] = [f"Haven dropped {v.dropped_moot}, the oracle expects {v.dropped_expected}"] + dropped
        v.credit_drift = self._credits(d["credit_drift"])
        v.double_bookings = self._double_bookings(d["double_bookings"])
        v.races = len(self.r.races)
        for b, results in self.r.races:
            if sum(1 for r in results if r[1]) != 1 or any(r[2] not in (None, "slot_taken") for r in results):
                v.race_failures += 1
                d["races"].append(f"{b.key}: {results}")
        v.details = d
        return v

    def _dropped(self) -> list[str]:
        """The emails Haven dropped as moot (test-only read of the outbox)."""
        from chalicelib.store.models import NotificationModel

        return [f"{n.id} (created {n.created_at}, dropped {n.sent_at})"
                for n in NotificationModel.scan(NotificationModel.status == "dropped") if n.template != "room_message"]

    def _credits(self, details: list) -> int:
        """Credits conserved: for every client and billing period, the credits Haven counts as used
        equal those the scenario's bookings hold (pending, confirmed), consumed (completed,
        unresolved) or forfeited (late cancel, client no-show): left + held + forfeited = plan."""
        from chalicelib.store.models import LedgerModel

        last_deadlines = max((w for w, e, n in self.r.runs if n == "deadlines" and w == e), default=self.c.end)
        oracle: dict[tuple, int] = {}
        for b in self.s.bookings:
            if not b.done.get("book") or b.client is None:
                continue
            if self._holds_credit(b, last_deadlines):
                key = (b.client.key, period_start(b.start, b.client.tz, ANCHOR).isoformat())
                oracle[key] = oracle.get(key, 0) + 1
        drift = 0
        for c in self.s.clients:
            counted = {item.key[len("usage#live#"):]: int(item.used or 0)
                       for item in LedgerModel.query(c.id, LedgerModel.key.startswith("usage#live#"))}
            buckets = set(counted) | {p for (k, p) in oracle if k == c.key}
            for bucket in buckets:
                want = oracle.get((c.key, bucket), 0)
                have = counted.get(bucket, 0)
                if want != have:
                    drift += abs(want - have)
                    details.append(f"{c.key} {bucket}: Haven counts {have} used, the scenario {want}")
        return drift

    @staticmethod
    def _holds_credit(b: Booking, last_deadlines: datetime) -> bool:
        if b.by == "client" and b.decision is None and b.confirm_by <= last_deadlines:
            return False  # expired: returned
        if b.decision and b.decision[0] == "decline" and b.done.get("decline"):
            return False
        if b.ending and b.done.get(b.ending[0]):
            if b.ending[0] == "reschedule":
                return False  # an early move: the credit went with the new booking
            actor, at = b.ending[1], b.ending[2]
            if actor == "provider":
                return False
            return b.start - at < timedelta(hours=24)  # late: forfeited; early: returned
        return True  # held (pending, confirmed) or consumed (completed, unresolved, client no-show)

    def _double_bookings(self, details: list) -> int:
        from chalicelib.store.models import BookingModel

        holding = {"pending", "confirmed", "completed", "unresolved", "client_no_show", "provider_no_show"}
        by_member: dict[str, list] = {}
        for b in BookingModel.scan():  # test-only read of every booking
            if b.status not in holding:
                continue
            span = (datetime.fromisoformat(b.starts_at.replace("Z", "+00:00")),
                    datetime.fromisoformat(b.ends_at.replace("Z", "+00:00")))
            for member in (b.client_id, b.provider_id):
                by_member.setdefault(member, []).append((span, b.id))
        count = 0
        for member, spans in by_member.items():
            spans.sort()
            for (a, ida), (b, idb) in zip(spans, spans[1:]):
                if overlaps(a, b):
                    count += 1
                    details.append(f"{member}: {ida} and {idb}")
        return count


def simulate(config: Config, *, progress=None) -> Verdict:
    scenario = Scenario(config)
    runner = Runner(scenario, progress=progress)
    runner.run()
    return Judge(runner).verdict()


# --- the fault schedules ---------------------------------------------------------------------------------

def _marks(start: datetime, end: datetime) -> list[datetime]:
    out, t = [], start
    while t <= end:
        out.append(t)
        t += PERIOD
    return out


def week(clients: int, seed: int = 9) -> Config:
    """Wed 2026-10-28 to Thu 2026-11-05 (8 days: the sessions of a week and the day after them),
    with the New York DST change on Sun 1 Nov 06:00Z and Brazil's Finados on Mon 2 Nov."""
    start = datetime(2026, 10, 28, tzinfo=UTC)
    end = datetime(2026, 11, 5, tzinfo=UTC)
    rng = random.Random(seed + 1)
    marks = _marks(start, end)
    f = Faults(
        # 6 h and 30 min; they end between two runs, as a real recovery would
        ses_outages=[(datetime(2026, 10, 30, 12, 57, tzinfo=UTC), datetime(2026, 10, 30, 18, 57, tzinfo=UTC)),
                     (datetime(2026, 11, 3, 14, 47, tzinfo=UTC), datetime(2026, 11, 3, 15, 17, tzinfo=UTC))],
        scheduler_outages=[(datetime(2026, 11, 2, 14, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC))],  # 2 h
        missed={m for m in marks if rng.random() < 0.01}
        | set(_marks(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 25, tzinfo=UTC))),
        replays={m for m in marks if rng.random() < 0.02},
        old_replays={m: timedelta(hours=1 if m.hour % 12 else 6) for m in marks if m.minute == 35 and m.hour % 6 == 0},
        overlaps={m for m in marks if rng.random() < 0.02},
    )
    return Config(clients=clients, start=start, end=end, faults=f, seed=seed)


def two_days(clients: int = 8, seed: int = 3) -> Config:
    """The short version for `make test`: Fri 30 Oct 18:00Z to Sun 1 Nov 18:00Z, across the New York
    DST change, with bookings made up to two days before (their sessions fall inside), a 6 h and a
    30 min mail outage, a 2 h scheduler outage, a missed hour, replays, old replays and overlaps."""
    start = datetime(2026, 10, 30, 18, tzinfo=UTC)
    end = datetime(2026, 11, 1, 18, tzinfo=UTC)
    marks = _marks(start, end)
    f = Faults(
        ses_outages=[(datetime(2026, 10, 31, 11, 58, tzinfo=UTC), datetime(2026, 10, 31, 17, 58, tzinfo=UTC)),
                     (datetime(2026, 11, 1, 13, 37, tzinfo=UTC), datetime(2026, 11, 1, 14, 7, tzinfo=UTC))],
        scheduler_outages=[(datetime(2026, 10, 31, 20, tzinfo=UTC), datetime(2026, 10, 31, 22, tzinfo=UTC))],
        missed=set(_marks(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 25, tzinfo=UTC))),
        replays={m for m in marks if m.minute in (15, 45) and m.hour % 3 == 0},
        old_replays={m: timedelta(hours=1) for m in marks if m.minute == 35 and m.hour % 8 == 0},
        overlaps={m for m in marks if m.minute == 20 and m.hour % 4 == 1},
    )
    pinned = [(0, datetime(2026, 10, 31, 6, tzinfo=UTC), datetime(2026, 10, 31, 14, tzinfo=UTC)),  # ends in the outage
              (1, datetime(2026, 10, 31, 6, 7, tzinfo=UTC), datetime(2026, 10, 31, 15, 30, tzinfo=UTC)),
              (2, datetime(2026, 10, 31, 7, 3, tzinfo=UTC), datetime(2026, 10, 31, 17, 30, tzinfo=UTC)),  # ends after
              (3, datetime(2026, 10, 31, 2, 11, tzinfo=UTC), datetime(2026, 11, 1, 14, tzinfo=UTC))]  # in the 30 min
    # clients write from Thursday on, so reply deadlines (8 working hours) fall due on Friday, in the run
    return Config(clients=clients, start=start, end=end, faults=f, seed=seed, history=timedelta(hours=44),
                  pinned=pinned, message_window=(datetime(2026, 10, 29, 12, tzinfo=UTC), start + timedelta(hours=2)))
