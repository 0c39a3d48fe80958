"""Live sessions on Chime SDK meetings (SPEC §2 "Live sessions on real media"): the join answer,
one meeting per booking under concurrency, attendance from Chime's EventBridge events (and the
outcome and no-show rules that follow it), meetings Chime ended, and the sweep that ends them.

Two adapters: the local stand-in (what `make run` uses: it reports each attendee-joined event to
the same handler), and the Chime adapter on a fake `chime-sdk-meetings` client, which reports
nothing: there, only the events a test delivers through the `meeting_events` function count."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from chalicelib import wiring
from chalicelib.adapters import meetings as adapter
from tests.functional.booking_world import WED_10_NY, book, scene, z

EVENTS = Path(__file__).resolve().parents[2] / "events"
MEETING_KEYS = {"MeetingId", "ExternalMeetingId", "MediaRegion", "MediaPlacement", "MeetingFeatures",
                "MeetingArn"}
PLACEMENT_KEYS = {"AudioHostUrl", "AudioFallbackUrl", "SignalingUrl", "TurnControlUrl", "ScreenDataUrl",
                  "ScreenViewingUrl", "ScreenSharingUrl", "EventIngestionUrl"}


def _not_found(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "NotFoundException", "Message": "The meeting is not found."}}, operation)


class FakeChime:
    """A `chime-sdk-meetings` client as far as the adapter uses it, keeping what it was asked.
    `idempotent=False` makes each CreateMeeting a new meeting even for the same token, so a test
    proves that the booking's conditional write (not Chime) decides which meeting wins."""

    def __init__(self, idempotent: bool = True):
        self.idempotent = idempotent
        self.calls: list[tuple[str, dict]] = []
        self.by_token: dict[str, str] = {}
        self.gone: set[str] = set()
        self.fail_deletes = 0
        self._shapes = adapter.LocalMeetings("us-east-1")

    def create_meeting(self, **request):
        self.calls.append(("CreateMeeting", request))
        token = request["ClientRequestToken"]
        if not self.idempotent or token not in self.by_token:
            self.by_token[token] = f"{uuid.uuid4()}"
        meeting = self._shapes.create_meeting(request["ExternalMeetingId"], token)
        meeting["MeetingId"] = self.by_token[token]
        meeting["MediaRegion"] = request["MediaRegion"]
        return {"Meeting": meeting}

    def create_attendee(self, **request):
        self.calls.append(("CreateAttendee", request))
        if request["MeetingId"] in self.gone:
            raise _not_found("CreateAttendee")
        return {"Attendee": {"ExternalUserId": request["ExternalUserId"],
                             "AttendeeId": str(uuid.uuid5(uuid.NAMESPACE_URL, request["MeetingId"] + request["ExternalUserId"])),
                             "JoinToken": "chime-join-token",
                             "Capabilities": request.get("Capabilities", dict(adapter.SEND_RECEIVE))}}

    def delete_meeting(self, **request):
        self.calls.append(("DeleteMeeting", request))
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DeleteMeeting")
        if request["MeetingId"] in self.gone:
            raise _not_found("DeleteMeeting")
        self.gone.add(request["MeetingId"])

    def called(self, operation: str) -> list[dict]:
        return [request for name, request in self.calls if name == operation]


@pytest.fixture
def chime():
    """The Chime adapter on a fake client: nothing reports attendance but the events a test sends."""
    fake = FakeChime()
    wiring.override("meetings", adapter.ChimeMeetings(lambda: fake, "eu-central-1"))
    return fake


@pytest.fixture
def deliver(chalice_client):
    """Deliver a Chime event to the `meeting_events` function, as EventBridge would."""
    def send(kind, booking_id, meeting_id, at, user=None):
        attendee = {"AttendeeId": str(uuid.uuid5(uuid.NAMESPACE_URL, meeting_id + user.id)),
                    "ExternalUserId": user.id} if user is not None else None
        event = adapter.meeting_state_event(kind, at, meeting_id=meeting_id, external_meeting_id=booking_id,
                                            attendee=attendee)
        return chalice_client.lambda_.invoke("meeting_events", event).payload
    return send


def _confirmed(api, sc, modality="video", starts_at=WED_10_NY):
    booking = book(api, sc, starts_at, modality=modality)
    assert api.post(f"/bookings/{booking['id']}/confirm", sc.provider).status == 200
    return booking


def _join(api, user, booking):
    reply = api.post(f"/bookings/{booking['id']}/join", user)
    assert reply.status == 200, reply.json
    return reply.json


def _view(api, user, booking):
    return api.get(f"/bookings/{booking['id']}", user).json


def _stored(booking_id):
    from chalicelib.store import bookings as store

    return store.find(booking_id)


def _meeting_timers(booking_id):
    from chalicelib.store.models import TimerModel

    return [t for t in TimerModel.scan() if t.kind == "booking_meeting_end" and t.ref_id == booking_id]


# --- the join answer -------------------------------------------------------------------------------

def test_a_video_join_answers_the_chime_meeting_and_the_callers_attendee(world, api, clock):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY - timedelta(minutes=10)
    mine = _join(api, sc.client, booking)
    theirs = _join(api, sc.provider, booking)
    assert list(mine) == ["join_url", "meeting", "attendee"]
    meeting, attendee = mine["meeting"], mine["attendee"]
    assert set(meeting) == MEETING_KEYS and set(meeting["MediaPlacement"]) == PLACEMENT_KEYS
    assert meeting["ExternalMeetingId"] == booking["id"]
    uuid.UUID(meeting["MeetingId"])
    # the stand-in's media cannot be reached: every URL names a host that never resolves
    assert all(".invalid" in url for url in meeting["MediaPlacement"].values())
    assert set(attendee) == {"ExternalUserId", "AttendeeId", "JoinToken", "Capabilities"}
    assert attendee["ExternalUserId"] == sc.client.id and attendee["JoinToken"]
    assert attendee["Capabilities"] == {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
    assert theirs["meeting"] == meeting  # one meeting per booking
    assert theirs["attendee"]["ExternalUserId"] == sc.provider.id
    assert theirs["attendee"]["AttendeeId"] != attendee["AttendeeId"]
    again = _join(api, sc.client, booking)  # a second join (another device, a reload): the same attendee
    assert again["meeting"] == meeting and again["attendee"] == attendee


def test_an_audio_join_gets_an_audio_only_attendee(world, api, clock, chime):
    sc = scene(world, api)
    booking = _confirmed(api, sc, modality="audio")
    clock.at = WED_10_NY
    answer = _join(api, sc.client, booking)
    assert answer["attendee"]["Capabilities"] == {"Audio": "SendReceive", "Video": "None", "Content": "None"}
    [request] = chime.called("CreateAttendee")
    assert request == {"MeetingId": answer["meeting"]["MeetingId"], "ExternalUserId": sc.client.id,
                       "Capabilities": {"Audio": "SendReceive", "Video": "None", "Content": "None"}}
    [create] = chime.called("CreateMeeting")
    assert create == {"ClientRequestToken": f"{booking['id']}-g1", "ExternalMeetingId": booking["id"],
                      "MediaRegion": "eu-central-1"}


def test_a_chat_join_answers_only_the_join_url_and_records_the_join(world, api, clock, chime):
    sc = scene(world, api)
    booking = _confirmed(api, sc, modality="chat")
    clock.at = WED_10_NY
    answer = _join(api, sc.client, booking)
    assert list(answer) == ["join_url"] and answer["join_url"].endswith(f"/rooms/{sc.room_id}")
    assert chime.calls == []
    assert _view(api, sc.client, booking)["client_joined_at"] == z(WED_10_NY)


def test_the_stand_in_reports_each_join_so_a_local_session_ends_completed(world, api, clock, run_sweep):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY - timedelta(minutes=2)
    _join(api, sc.client, booking)
    clock.at = WED_10_NY + timedelta(minutes=1)
    _join(api, sc.provider, booking)
    view = _view(api, sc.client, booking)
    assert view["client_joined_at"] == z(WED_10_NY - timedelta(minutes=2))
    assert view["provider_joined_at"] == z(WED_10_NY + timedelta(minutes=1))
    run_sweep("deadlines", WED_10_NY + timedelta(minutes=45, hours=24))
    assert _view(api, sc.client, booking)["status"] == "completed"


# --- one meeting per booking -------------------------------------------------------------------------

def test_two_concurrent_first_joins_end_with_one_meeting(world, api, clock):
    """The provider's join commits its meeting between the client's CreateMeeting and the client's
    write; Chime here answers a NEW meeting for each call, so only the conditional write decides."""
    fake = FakeChime(idempotent=False)
    wiring.override("meetings", adapter.ChimeMeetings(lambda: fake, "us-east-1"))
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    seen = []

    def provider_joins_first(stage, **info):
        if stage == "meeting" and not seen:
            seen.append(stage)
            seen.append(_join(api, sc.provider, booking))

    wiring.override("before_booking_commit", provider_joins_first)
    client = _join(api, sc.client, booking)
    provider = seen[1]
    assert len(fake.called("CreateMeeting")) == 2  # both asked Chime...
    assert client["meeting"]["MeetingId"] == provider["meeting"]["MeetingId"]  # ...one meeting won
    stored = _stored(booking["id"])
    assert stored.meeting_id == provider["meeting"]["MeetingId"] and stored.meeting_generation == 1
    assert {r["MeetingId"] for r in fake.called("CreateAttendee")} == {stored.meeting_id}
    assert [t.data["meeting_id"] for t in _meeting_timers(booking["id"])] == [stored.meeting_id]


def test_joins_racing_in_threads_end_with_one_meeting(world, api, clock):
    from concurrent.futures import ThreadPoolExecutor

    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda user: _join(api, user, booking), [sc.client, sc.provider]))
    assert answers[0]["meeting"]["MeetingId"] == answers[1]["meeting"]["MeetingId"] \
        == _stored(booking["id"]).meeting_id
    assert len(_meeting_timers(booking["id"])) == 1


def test_a_meeting_chime_ended_is_created_again_on_the_next_join(world, api, clock, chime, deliver):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY - timedelta(minutes=5)
    first = _join(api, sc.client, booking)["meeting"]["MeetingId"]
    chime.gone.add(first)  # nobody came in for minutes: Chime ended it
    clock.at = WED_10_NY + timedelta(minutes=3)
    second = _join(api, sc.provider, booking)["meeting"]["MeetingId"]
    assert second != first
    assert [r["ClientRequestToken"] for r in chime.called("CreateMeeting")] == [f"{booking['id']}-g1",
                                                                               f"{booking['id']}-g2"]
    assert _join(api, sc.client, booking)["meeting"]["MeetingId"] == second
    # Chime's late MeetingEnded for the old meeting changes nothing; for the current one it is forgotten
    deliver(adapter.MEETING_ENDED, booking["id"], first, WED_10_NY + timedelta(minutes=4))
    assert _stored(booking["id"]).meeting_id == second
    deliver(adapter.MEETING_ENDED, booking["id"], second, WED_10_NY + timedelta(minutes=5))
    assert _stored(booking["id"]).meeting_id is None
    third = _join(api, sc.client, booking)["meeting"]["MeetingId"]
    assert third not in (first, second)
    assert chime.called("CreateMeeting")[-1]["ClientRequestToken"] == f"{booking['id']}-g3"
    assert len(_meeting_timers(booking["id"])) == 3


def test_a_chime_failure_is_a_502_and_stores_nothing(world, api, clock):
    class Down(FakeChime):
        def create_meeting(self, **request):
            raise ClientError({"Error": {"Code": "ServiceUnavailableException", "Message": "down"}}, "CreateMeeting")

    wiring.override("meetings", adapter.ChimeMeetings(lambda: Down(), "us-east-1"))
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    reply = api.post(f"/bookings/{booking['id']}/join", sc.client)
    assert (reply.status, reply.code) == (502, "meeting_unavailable")
    assert _stored(booking["id"]).meeting_id is None and _meeting_timers(booking["id"]) == []


# --- attendance from Chime's events ---------------------------------------------------------------------

def test_asking_for_a_link_is_not_joining(world, api, clock, chime):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    _join(api, sc.client, booking)
    _join(api, sc.provider, booking)
    view = _view(api, sc.client, booking)
    assert view["client_joined_at"] is None and view["provider_joined_at"] is None


def test_duplicate_and_out_of_order_attendee_events_keep_the_earliest_join(world, api, clock, chime, deliver):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY - timedelta(minutes=5)
    meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]
    _join(api, sc.provider, booking)
    at = WED_10_NY
    assert deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, at + timedelta(minutes=2), sc.client)["recorded"]
    # a rejoin, then the first join delivered late, then a repeat of the rejoin
    deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, at + timedelta(minutes=20), sc.client)
    assert deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, at - timedelta(minutes=1), sc.client)["recorded"]
    assert not deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, at + timedelta(minutes=2), sc.client)["recorded"]
    # the provider's Left arrives before their Joined: it erases nothing and the join still counts
    deliver(adapter.ATTENDEE_LEFT, booking["id"], meeting, at + timedelta(minutes=40), sc.provider)
    assert _view(api, sc.client, booking)["provider_joined_at"] is None
    deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, at + timedelta(minutes=3), sc.provider)
    deliver(adapter.ATTENDEE_LEFT, booking["id"], meeting, at + timedelta(minutes=41), sc.client)
    view = _view(api, sc.client, booking)
    assert view["client_joined_at"] == z(at - timedelta(minutes=1))
    assert view["provider_joined_at"] == z(at + timedelta(minutes=3))


def test_events_for_strangers_unknown_bookings_and_chat_sessions_change_nothing(world, api, clock, chime, deliver):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    chat = _confirmed(api, sc, modality="chat", starts_at=WED_10_NY + timedelta(hours=2))
    clock.at = WED_10_NY
    meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]
    stranger = world.client()
    assert not deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, WED_10_NY, stranger)["recorded"]
    assert not deliver(adapter.ATTENDEE_JOINED, "bk_nothing", meeting, WED_10_NY, sc.client)["recorded"]
    assert not deliver(adapter.ATTENDEE_JOINED, chat["id"], meeting, WED_10_NY, sc.client)["recorded"]
    assert _view(api, sc.client, booking)["client_joined_at"] is None
    assert _view(api, sc.client, chat)["client_joined_at"] is None


def test_the_sample_events_drive_the_meeting_events_function(world, api, clock, chime, chalice_client):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]

    def sample(name, **detail):
        event = json.loads((EVENTS / f"{name}.json").read_text())
        event["detail"].update(detail)
        return chalice_client.lambda_.invoke("meeting_events", event).payload

    ids = {"externalMeetingId": booking["id"], "meetingId": meeting}
    assert sample("chime_attendee_left", externalUserId=sc.client.id, **ids)["recorded"] is False
    assert sample("chime_attendee_joined", externalUserId=sc.client.id, **ids)["recorded"] is True
    assert _view(api, sc.client, booking)["client_joined_at"] == "2026-11-25T14:52:07Z"
    assert sample("chime_meeting_ended", **ids)["recorded"] is True
    assert _stored(booking["id"]).meeting_id is None


# --- outcomes and no-shows follow real attendance ------------------------------------------------------------

def test_the_outcome_follows_who_really_joined(world, api, clock, chime, deliver, run_sweep):
    sc = scene(world, api, plan={"live_credits": 4})
    one = _confirmed(api, sc)
    both = _confirmed(api, sc, starts_at=WED_10_NY + timedelta(hours=1))
    for booking, starts in ((one, WED_10_NY), (both, WED_10_NY + timedelta(hours=1))):
        clock.at = starts
        meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]
        _join(api, sc.provider, booking)  # both asked for their link
        deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, starts, sc.client)
        if booking is both:
            deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, starts + timedelta(minutes=1), sc.provider)
    run_sweep("deadlines", WED_10_NY + timedelta(hours=1, minutes=45) + timedelta(hours=24))
    assert _view(api, sc.client, one)["status"] == "unresolved"  # the provider never joined per Chime
    assert _view(api, sc.client, both)["status"] == "completed"


def test_no_shows_follow_attendance_events(world, api, clock, chime, deliver):
    sc = scene(world, api, plan={"live_credits": 4})
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]
    _join(api, sc.provider, booking)
    deliver(adapter.ATTENDEE_JOINED, booking["id"], meeting, WED_10_NY, sc.client)
    clock.at = WED_10_NY + timedelta(minutes=15)
    # the client joined per Chime: the provider cannot mark them absent
    refused = api.post(f"/bookings/{booking['id']}/no-show", sc.provider)
    assert (refused.status, refused.code) == (409, "invalid_state")
    # the provider asked for a link but never joined: the client's report stands
    reply = api.post(f"/bookings/{booking['id']}/no-show", sc.client)
    assert reply.status == 200 and reply.json["status"] == "provider_no_show"


# --- the deadlines sweep ends the meeting after the session --------------------------------------------------

def test_the_deadlines_sweep_ends_the_meeting_once_after_the_session(world, api, clock, chime, run_sweep):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]
    ends = WED_10_NY + timedelta(minutes=45)
    assert run_sweep("deadlines", ends - timedelta(minutes=1))["meetings_ended"] == 0
    assert chime.called("DeleteMeeting") == []
    chime.fail_deletes = 1  # Chime throttles the first try: the item waits for the next run
    assert run_sweep("deadlines", ends)["meetings_ended"] == 0
    assert run_sweep("deadlines", ends + timedelta(minutes=5))["meetings_ended"] == 1
    assert run_sweep("deadlines", ends + timedelta(minutes=5))["meetings_ended"] == 0
    assert run_sweep("deadlines", ends + timedelta(minutes=10))["meetings_ended"] == 0
    assert chime.called("DeleteMeeting") == [{"MeetingId": meeting}] * 2  # the throttled try, then the one
    assert meeting in chime.gone
    [timer] = _meeting_timers(booking["id"])
    assert timer.outcome == "ended" and timer.due_at is None


def test_the_stand_in_meeting_is_ended_by_the_sweep_and_forgotten(world, api, clock, run_sweep):
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY
    _join(api, sc.client, booking)
    assert run_sweep("deadlines", WED_10_NY + timedelta(minutes=45))["meetings_ended"] == 1
    stored = _stored(booking["id"])
    assert stored.meeting_id is None and stored.meeting_generation == 1  # its MeetingEnded was reported


def test_malformed_or_far_off_chime_events_record_nothing_and_never_fail(world, api, clock, chime, chalice_client):
    """A join recorded from a bad event would stand for good (the earliest is kept): events with
    no usable time, odd field types, or a moment outside the session's join window record nothing."""
    sc = scene(world, api)
    booking = _confirmed(api, sc)
    clock.at = WED_10_NY - timedelta(minutes=5)
    meeting = _join(api, sc.client, booking)["meeting"]["MeetingId"]

    def send(**changes):
        event = adapter.meeting_state_event(adapter.ATTENDEE_JOINED, WED_10_NY, meeting_id=meeting,
                                            external_meeting_id=booking["id"],
                                            attendee={"AttendeeId": "a-1", "ExternalUserId": sc.client.id})
        for key, value in changes.items():
            if key == "time":
                event["time"] = value
            else:
                event["detail"][key] = value
        return chalice_client.lambda_.invoke("meeting_events", event).payload

    for changes in ({"timestamp": True, "time": None}, {"timestamp": 10 ** 20, "time": "not a time"},
                    {"timestamp": 0, "time": None}, {"externalMeetingId": 12345}, {"externalMeetingId": ["x"]},
                    {"meetingId": None}, {"externalUserId": {"id": sc.client.id}},
                    {"timestamp": int((WED_10_NY - timedelta(days=400)).timestamp() * 1000)},  # long before
                    {"timestamp": int((WED_10_NY + timedelta(days=2)).timestamp() * 1000)}):  # long after
        answer = send(**changes)
        assert answer["recorded"] is False, (changes, answer)
    assert _view(api, sc.client, booking)["client_joined_at"] is None
    assert send()["recorded"] is True  # the same event, well formed, inside the window
    assert _view(api, sc.client, booking)["client_joined_at"] == z(WED_10_NY)
