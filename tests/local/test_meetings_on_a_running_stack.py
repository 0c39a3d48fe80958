"""Live sessions on `make run` (SPEC §2 "Live sessions on real media"), over HTTP: the join answer
carries the stand-in's Chime meeting and attendee, the stand-in reports both joins to the events
handler inside `chalice local` (so the booking shows who joined), the sample Chime events drive
`make invoke FN=meeting_events`, and `make invoke FN=deadlines` ends the meeting after the session."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.local.test_make_targets_on_a_running_stack import Stack, pair

pytestmark = pytest.mark.local


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("make-run-meetings"))
    try:
        yield running
    finally:
        running.stop()


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_video_session_on_the_local_stack_joins_the_stand_in_meeting_and_records_who_joined(stack):
    provider, client, _ = pair(stack)
    starts = (datetime.now(timezone.utc) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    made = stack.call("POST", "/bookings", provider["id_token"],
                      {"client_id": client["id"], "modality": "video", "starts_at": _z(starts)})
    assert made.status_code == 201 and made.json()["status"] == "confirmed", made.text
    booking_id = made.json()["id"]
    try:
        stack.make("clock", f"TIME={_z(starts - timedelta(minutes=5))}")
        mine = stack.call("POST", f"/bookings/{booking_id}/join", client["id_token"])
        theirs = stack.call("POST", f"/bookings/{booking_id}/join", provider["id_token"])
        assert mine.status_code == 200 and theirs.status_code == 200, mine.text + theirs.text
        meeting, attendee = mine.json()["meeting"], mine.json()["attendee"]
        assert meeting["ExternalMeetingId"] == booking_id and theirs.json()["meeting"] == meeting
        assert attendee["ExternalUserId"] == client["id"] and attendee["JoinToken"]
        assert "chime-standin.invalid" in meeting["MediaPlacement"]["SignalingUrl"]
        view = stack.call("GET", f"/bookings/{booking_id}", client["id_token"]).json()
        assert view["client_joined_at"] and view["provider_joined_at"]

        # a sample event through `make invoke`: Chime ended the meeting, the next join starts another
        ended = stack.make("invoke", "FN=meeting_events", "EVENT=events/chime_meeting_ended.json",
                           f"SET=externalMeetingId={booking_id} meetingId={meeting['MeetingId']}")
        assert json.loads(ended.stdout)["recorded"] is True, ended.stdout + ended.stderr
        again = stack.call("POST", f"/bookings/{booking_id}/join", client["id_token"]).json()
        assert again["meeting"]["MeetingId"] != meeting["MeetingId"]

        # after the session, the deadlines sweep ends the meeting (once)
        swept = stack.make("invoke", "FN=deadlines", f"TIME={_z(starts + timedelta(minutes=45))}")
        assert json.loads(swept.stdout)["meetings_ended"] >= 1, swept.stdout
    finally:
        stack.make("clock", "TIME=now")
