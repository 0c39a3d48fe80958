"""Meetings for live video and audio sessions (SPEC §2 "Live sessions on real media"):
`wiring.get("meetings")`, chosen by the `meetings` setting (`HAVEN_MEETINGS`).

`ChimeMeetings` calls the Amazon Chime SDK Meetings API (`chime-sdk-meetings`): CreateMeeting
(`ExternalMeetingId` = the booking, `ClientRequestToken` = booking and generation, so a retried or
concurrent create answers the same meeting), CreateAttendee (`ExternalUserId` = the participant;
audio sessions get audio-only capabilities; Chime answers the existing attendee for the same user)
and DeleteMeeting. A meeting Chime ended (after minutes without attendees) answers CreateAttendee
with NotFound: that becomes `MeetingGone`, and the service creates the next one.

`LocalMeetings` is the documented stand-in (moto has no Chime SDK): it answers the same shapes,
derives every id from the request (uuid5 of the token, of the meeting and user), so it keeps no
state a restart of `make run` could lose and is idempotent like Chime, and its URLs point at
`chime-standin.invalid`, which never resolves: media cannot connect locally. Chime reports who
joined through EventBridge; the stand-in, which has no media server to be joined, reports the
attendee-joined event to the same handler as soon as it answers the participant's join (and
MeetingEnded when a meeting is deleted), through the `report` callback the container gives it.
"""
from __future__ import annotations

import base64
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

AUDIO_ONLY = {"Audio": "SendReceive", "Video": "None", "Content": "None"}
SEND_RECEIVE = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
STANDIN_HOST = "chime-standin.invalid"  # RFC 2606: never resolves
EVENT_SOURCE = "aws.chime"
EVENT_DETAIL_TYPE = "Chime Meeting State Change"
ATTENDEE_JOINED = "chime:AttendeeJoined"
ATTENDEE_LEFT = "chime:AttendeeLeft"
MEETING_ENDED = "chime:MeetingEnded"


class MeetingGone(Exception):
    """Chime no longer has this meeting (it ended it, or it was deleted)."""

    def __init__(self, meeting_id: str):
        super().__init__(f"meeting {meeting_id} has ended")
        self.meeting_id = meeting_id


def request_token(booking_id: str, generation: int) -> str:
    """CreateMeeting's idempotency token: one per booking and generation (`[-_a-zA-Z0-9]`, ≤ 64)."""
    return f"{booking_id}-g{int(generation)}"


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None) or {}
    return (response.get("Error") or {}).get("Code")


class ChimeMeetings:
    """The Amazon Chime SDK Meetings API. `client()` gives the boto3 `chime-sdk-meetings` client
    (built lazily by the container)."""

    def __init__(self, client: Callable[[], Any], media_region: str):
        self._client = client
        self.media_region = media_region

    def create_meeting(self, booking_id: str, token: str) -> dict:
        answer = self._client().create_meeting(ClientRequestToken=token, ExternalMeetingId=booking_id,
                                               MediaRegion=self.media_region)
        return answer["Meeting"]

    def create_attendee(self, meeting_id: str, external_user_id: str, audio_only: bool,
                        booking_id: str | None = None, at: datetime | None = None) -> dict:
        """`booking_id` and `at` (the join's moment) are for the stand-in's event; Chime knows both."""
        options = {"Capabilities": dict(AUDIO_ONLY)} if audio_only else {}
        try:
            answer = self._client().create_attendee(MeetingId=meeting_id, ExternalUserId=external_user_id, **options)
        except Exception as error:
            if _error_code(error) == "NotFoundException":
                raise MeetingGone(meeting_id) from None
            raise
        return answer["Attendee"]

    def delete_meeting(self, meeting_id: str, booking_id: str | None = None) -> bool:
        """End a meeting for everyone. False when Chime had already ended it (nothing to do)."""
        try:
            self._client().delete_meeting(MeetingId=meeting_id)
        except Exception as error:
            if _error_code(error) == "NotFoundException":
                return False
            raise
        return True


_NAMESPACE = uuid.UUID("6f1d3c2e-9a57-4b8e-8d1c-2f0e6c7a5b10")  # the stand-in's ids, stable across restarts


class LocalMeetings:
    """The stand-in for Chime (see the module docstring and README "Live sessions")."""

    def __init__(self, media_region: str, region: str = "us-east-1", account: str = "000000000000",
                 report: Callable[[dict], None] | None = None, clock: Callable[[], datetime] | None = None,
                 on_report_error: Callable[[Exception, dict], None] | None = None):
        self.media_region = media_region
        self.region = region
        self.account = account
        self._report = report
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._on_report_error = on_report_error
        self._ended: set[str] = set()  # deleted here (this process only: Chime's own idle end is not imitated)
        self._lock = threading.Lock()

    # --- the API's answers -----------------------------------------------------------------------

    def create_meeting(self, booking_id: str, token: str) -> dict:
        meeting_id = str(uuid.uuid5(_NAMESPACE, f"meeting:{token}"))
        wss = f"wss://{STANDIN_HOST}"
        return {
            "MeetingId": meeting_id,
            "ExternalMeetingId": booking_id,
            "MediaRegion": self.media_region,
            "MediaPlacement": {
                "AudioHostUrl": f"{STANDIN_HOST}:3478",
                "AudioFallbackUrl": f"{wss}/calls/{meeting_id}",
                "SignalingUrl": f"{wss}/control/{meeting_id}",
                "TurnControlUrl": f"https://{STANDIN_HOST}/v2/turn_sessions",
                "ScreenDataUrl": f"{wss}/v2/screen/{meeting_id}",
                "ScreenViewingUrl": f"{wss}/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id={meeting_id}",
                "ScreenSharingUrl": f"{wss}/v2/screen/{meeting_id}",
                "EventIngestionUrl": f"https://{STANDIN_HOST}/v1/client-events",
            },
            "MeetingFeatures": {"Audio": {"EchoReduction": "UNAVAILABLE"}},
            "MeetingArn": f"arn:aws:chime:{self.region}:{self.account}:meeting/{meeting_id}",
        }

    def create_attendee(self, meeting_id: str, external_user_id: str, audio_only: bool,
                        booking_id: str | None = None, at: datetime | None = None) -> dict:
        with self._lock:
            if meeting_id in self._ended:
                raise MeetingGone(meeting_id)
        attendee_id = str(uuid.uuid5(_NAMESPACE, f"attendee:{meeting_id}:{external_user_id}"))
        token = base64.urlsafe_b64encode(f"standin:{attendee_id}".encode()).decode().rstrip("=")
        attendee = {"ExternalUserId": external_user_id, "AttendeeId": attendee_id, "JoinToken": token,
                    "Capabilities": dict(AUDIO_ONLY if audio_only else SEND_RECEIVE)}
        # No media server will see this attendee arrive: report the join now, as Chime would.
        self._emit(meeting_state_event(ATTENDEE_JOINED, at or self._clock(), meeting_id=meeting_id,
                                       external_meeting_id=booking_id, attendee=attendee,
                                       region=self.region, account=self.account, media_region=self.media_region))
        return attendee

    def delete_meeting(self, meeting_id: str, booking_id: str | None = None) -> bool:
        with self._lock:
            if meeting_id in self._ended:
                return False
            self._ended.add(meeting_id)
        self._emit(meeting_state_event(MEETING_ENDED, self._clock(), meeting_id=meeting_id,
                                       external_meeting_id=booking_id,
                                       region=self.region, account=self.account, media_region=self.media_region))
        return True

    # --- helpers ---------------------------------------------------------------------------------

    def _emit(self, event: dict) -> None:
        if self._report is None:
            return
        try:
            self._report(event)
        except Exception as error:  # like EventBridge: a failed handler never fails the API call
            if self._on_report_error is not None:
                self._on_report_error(error, event)


def meeting_state_event(event_type: str, at: datetime, *, meeting_id: str, external_meeting_id: str | None,
                        attendee: dict | None = None, region: str = "us-east-1", account: str = "000000000000",
                        media_region: str | None = None) -> dict:
    """A "Chime Meeting State Change" EventBridge event, as Chime sends it (events/chime_*.json)."""
    at = at.astimezone(timezone.utc)
    detail: dict[str, Any] = {"version": "0", "eventType": event_type,
                              "timestamp": int(at.timestamp() * 1000), "meetingId": meeting_id}
    if attendee is not None:
        detail["attendeeId"] = attendee["AttendeeId"]
        detail["externalUserId"] = attendee["ExternalUserId"]
    if external_meeting_id is not None:
        detail["externalMeetingId"] = external_meeting_id
    detail["mediaRegion"] = media_region or region
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": EVENT_DETAIL_TYPE, "source": EVENT_SOURCE,
            "account": account, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region, "resources": [],
            "detail": detail}
