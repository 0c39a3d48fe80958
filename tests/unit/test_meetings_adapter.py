"""The meetings adapter: exactly the Chime SDK Meetings requests it makes (botocore's Stubber, no
network), how it reads Chime's errors, the stand-in's answers checked against Chime's own output
shapes, and which adapter each stage gets."""
from __future__ import annotations

from datetime import datetime, timezone

import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from chalicelib import settings
from chalicelib.adapters import meetings

AUDIO_ONLY = {"Audio": "SendReceive", "Video": "None", "Content": "None"}
MEETING_ID = "1f5d5a6e-7b8c-4d9e-8f01-23456789abcd"


def _client():
    return botocore.session.get_session().create_client(
        "chime-sdk-meetings", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def stubbed():
    client = _client()
    with Stubber(client) as stubber:
        yield meetings.ChimeMeetings(lambda: client, "eu-central-1"), stubber
        stubber.assert_no_pending_responses()


def _meeting(booking_id="bk_1", token="bk_1-g1") -> dict:
    meeting = meetings.LocalMeetings("eu-central-1").create_meeting(booking_id, token)
    return {**meeting, "MeetingId": MEETING_ID}


def test_create_meeting_names_the_booking_the_token_and_the_media_region(stubbed):
    chime, stubber = stubbed
    stubber.add_response("create_meeting", {"Meeting": _meeting()},
                         {"ClientRequestToken": "bk_1-g1", "ExternalMeetingId": "bk_1", "MediaRegion": "eu-central-1"})
    assert chime.create_meeting("bk_1", meetings.request_token("bk_1", 1))["MeetingId"] == MEETING_ID


def test_audio_attendees_are_audio_only_and_video_attendees_get_chimes_default(stubbed):
    chime, stubber = stubbed
    audio = {"ExternalUserId": "client-1", "AttendeeId": "a-1", "JoinToken": "join-token", "Capabilities": AUDIO_ONLY}
    stubber.add_response("create_attendee", {"Attendee": audio},
                         {"MeetingId": MEETING_ID, "ExternalUserId": "client-1", "Capabilities": AUDIO_ONLY})
    video = {"ExternalUserId": "client-1", "AttendeeId": "a-1", "JoinToken": "join-token"}
    stubber.add_response("create_attendee", {"Attendee": video}, {"MeetingId": MEETING_ID, "ExternalUserId": "client-1"})
    assert chime.create_attendee(MEETING_ID, "client-1", True)["Capabilities"] == AUDIO_ONLY
    assert chime.create_attendee(MEETING_ID, "client-1", False, booking_id="bk_1") == video


def test_a_meeting_chime_ended_is_a_typed_error_and_other_errors_pass_through(stubbed):
    chime, stubber = stubbed
    stubber.add_client_error("create_attendee", "NotFoundException", http_status_code=404)
    stubber.add_client_error("create_attendee", "ThrottlingException", http_status_code=429)
    with pytest.raises(meetings.MeetingGone) as gone:
        chime.create_attendee(MEETING_ID, "client-1", False)
    assert gone.value.meeting_id == MEETING_ID
    with pytest.raises(Exception) as other:
        chime.create_attendee(MEETING_ID, "client-1", False)
    assert not isinstance(other.value, meetings.MeetingGone)


def test_delete_meeting_treats_an_already_ended_meeting_as_done(stubbed):
    chime, stubber = stubbed
    stubber.add_response("delete_meeting", {}, {"MeetingId": MEETING_ID})
    stubber.add_client_error("delete_meeting", "NotFoundException", http_status_code=404)
    assert chime.delete_meeting(MEETING_ID) is True
    assert chime.delete_meeting(MEETING_ID) is False


def test_the_stand_in_answers_chimes_own_shapes():
    model = botocore.session.get_session().get_service_model("chime-sdk-meetings")
    standin = meetings.LocalMeetings("us-east-1")
    meeting = standin.create_meeting("bk_1", "bk_1-g1")
    attendee = standin.create_attendee(meeting["MeetingId"], "client-1", True, booking_id="bk_1")
    validator = ParamValidator()
    for operation, answer in (("CreateMeeting", {"Meeting": meeting}), ("CreateAttendee", {"Attendee": attendee})):
        report = validator.validate(answer, model.operation_model(operation).output_shape)
        assert not report.has_errors(), report.generate_report()
    assert set(meeting) == set(model.shape_for("Meeting").members) - {"MeetingHostId", "PrimaryMeetingId", "TenantIds"}
    assert set(meeting["MediaPlacement"]) == set(model.shape_for("MediaPlacement").members)
    assert set(attendee) == set(model.shape_for("Attendee").members)


def test_the_stand_in_is_idempotent_like_chime_and_keeps_no_state_a_restart_loses():
    one, two = meetings.LocalMeetings("us-east-1"), meetings.LocalMeetings("us-east-1")
    assert one.create_meeting("bk_1", "bk_1-g1") == two.create_meeting("bk_1", "bk_1-g1")
    assert one.create_meeting("bk_1", "bk_1-g1")["MeetingId"] != one.create_meeting("bk_1", "bk_1-g2")["MeetingId"]
    meeting_id = one.create_meeting("bk_1", "bk_1-g1")["MeetingId"]
    assert one.create_attendee(meeting_id, "client-1", False) == two.create_attendee(meeting_id, "client-1", False)
    assert one.create_attendee(meeting_id, "client-1", False) != one.create_attendee(meeting_id, "provider-1", False)


def test_the_stand_in_reports_the_join_and_the_end_as_chime_events():
    at = datetime(2026, 11, 25, 14, 55, 3, tzinfo=timezone.utc)
    seen = []
    standin = meetings.LocalMeetings("us-east-1", report=seen.append, clock=lambda: at)
    meeting_id = standin.create_meeting("bk_1", "bk_1-g1")["MeetingId"]
    attendee = standin.create_attendee(meeting_id, "client-1", False, booking_id="bk_1")
    assert standin.delete_meeting(meeting_id, booking_id="bk_1") is True
    assert standin.delete_meeting(meeting_id, booking_id="bk_1") is False
    with pytest.raises(meetings.MeetingGone):
        standin.create_attendee(meeting_id, "provider-1", False, booking_id="bk_1")
    joined, ended = seen
    assert (joined["source"], joined["detail-type"], joined["time"]) == (
        "aws.chime", "Chime Meeting State Change", "2026-11-25T14:55:03Z")
    assert joined["detail"] == {"version": "0", "eventType": "chime:AttendeeJoined", "timestamp": 1795618503000,
                                "meetingId": meeting_id, "attendeeId": attendee["AttendeeId"],
                                "externalUserId": "client-1", "externalMeetingId": "bk_1",
                                "mediaRegion": "us-east-1"}
    assert ended["detail"]["eventType"] == "chime:MeetingEnded" and "externalUserId" not in ended["detail"]


def test_a_failing_handler_never_fails_the_stand_ins_answer():
    errors = []

    def broken(event):
        raise RuntimeError("handler down")

    standin = meetings.LocalMeetings("us-east-1", report=broken, on_report_error=lambda e, ev: errors.append(e))
    meeting_id = standin.create_meeting("bk_1", "bk_1-g1")["MeetingId"]
    assert standin.create_attendee(meeting_id, "client-1", False, booking_id="bk_1")["JoinToken"]
    assert [type(e) for e in errors] == [RuntimeError]


@pytest.mark.parametrize("env, expected", [
    ({"HAVEN_STAGE": "local"}, "standin"),
    ({"HAVEN_STAGE": "test", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, "standin"),
    ({"HAVEN_STAGE": "prod"}, "chime"),
    ({"HAVEN_STAGE": "local", "HAVEN_MEETINGS": "chime"}, "chime"),
    ({"HAVEN_STAGE": "prod", "HAVEN_MEETINGS": "standin"}, "standin"),
])
def test_the_stage_chooses_the_adapter_and_an_env_var_overrides_it(monkeypatch, env, expected):
    for name in ("HAVEN_STAGE", "AWS_ENDPOINT_URL", "HAVEN_MEETINGS", "HAVEN_MEETINGS_REGION",
                 "HAVEN_MEETINGS_MEDIA_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    loaded = settings.load()
    assert loaded.meetings == expected
    assert (loaded.meetings_region, loaded.meetings_media_region) == ("eu-west-1", "eu-west-1")


def test_an_unknown_meetings_setting_is_refused(monkeypatch):
    monkeypatch.setenv("HAVEN_MEETINGS", "zoom")
    with pytest.raises(ValueError):
        settings.load()
