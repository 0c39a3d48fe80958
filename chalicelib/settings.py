"""Every number from SPEC §2 and every resource name, read once from the environment.

One definition: routes, services, sweeps, the local stack and the tests all read these.
Resource names come from environment variables that the deployed template (and the local
stack) set; numbers are defaults a deployment may override the same way.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _list(name: str, default: str = "") -> tuple[str, ...]:
    return tuple(item.strip() for item in (_env(name, default) or "").split(",") if item.strip())


TABLE_NAMES = (
    "users", "rooms", "messages", "media", "timers", "notifications",
    "bookings", "claims", "ledger", "links", "idempotency", "access_log", "revocations",
    "clinical", "rating_queue", "listings", "referrals", "session_requests",
    # between sessions and data rights (issue 15)
    "between", "room_work", "exports",
)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    endpoint_url: str | None
    bucket: str
    kms_key_id: str
    user_pool_id: str
    user_pool_client_id: str
    jwks_url: str
    issuer: str
    signing_key_parameter: str
    mail_sender: str
    ops_email: str
    public_base_url: str
    cors_origins: tuple[str, ...]
    exports_queue_url: str = ""
    # Live sessions on real media (SPEC §2 "Amazon Chime SDK"): `meetings` is `chime` (the Chime SDK
    # Meetings API) or `standin` (adapters/meetings.LocalMeetings: same shapes, no media). Default:
    # the stand-in on the local stage and against the emulator, Chime everywhere else.
    meetings: str = "chime"
    meetings_region: str = "us-east-1"        # the Chime SDK Meetings control region (API and events)
    meetings_media_region: str = "us-east-1"  # where the meetings' media are hosted
    meetings_profile: str = ""                # local stack on a real Chime account: that account's profile
    # Identity
    require_staff_mfa: bool = True
    mfa_cache_seconds: int = 300
    jwks_cache_seconds: int = 3600
    # Profiles
    minimum_age_years: int = 18
    name_max_chars: int = 200
    # Messaging (SPEC §2)
    text_max_chars: int = 20_000
    audio_max_mib: int = 25
    video_max_mib: int = 200
    audio_types: tuple[str, ...] = ("audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/webm", "audio/wav")
    video_types: tuple[str, ...] = ("video/mp4", "video/webm", "video/quicktime")
    upload_url_seconds: int = 15 * 60
    playback_url_seconds: int = 15 * 60
    new_message_alert_interval_seconds: int = 3600
    data_key_cache_seconds: int = 300
    data_key_cache_rooms: int = 1000
    reply_working_day_hours: int = 8
    default_working_hours: tuple[tuple[int, str, str], ...] = tuple((d, "09:00", "17:00") for d in range(5))
    default_provider_timezone: str = "UTC"
    messaging_session_days: int = 7
    # Pagination
    page_default: int = 50
    page_max: int = 100
    # Live sessions (SPEC §2)
    session_minutes: int = 45
    client_booking_min_hours: int = 48
    provider_booking_min_hours: int = 1
    confirm_before_start_hours: int = 24
    late_change_hours: int = 24
    join_opens_minutes: int = 10
    no_show_after_minutes: int = 10
    outcome_grace_hours: int = 24
    meeting_end_after_minutes: int = 0  # the deadlines sweep ends a session's meeting this long after its end
    reminder_long_hours: int = 24
    reminder_long_skip_within_hours: int = 1
    reminder_short_minutes: int = 10
    slots_max_range_days: int = 31
    link_token_days: int = 7
    idempotency_ttl_hours: int = 24
    # Clinical record (SPEC §2 "Clinical record")
    risk_ack_minutes: int = 60                       # a questionnaire risk alert unacknowledged this long: ops told
    risk_alert_interval_seconds: int = 3600          # flagged messages: at most one urgent provider email per room
    risk_notice_interval_seconds: int = 24 * 3600    # ...and one crisis-resources system message per room
    risk_unread_minutes: int = 60                    # a flagged message the provider has not read: ops told
    rating_window_days: int = 30
    rating_fold_min: int = 3                         # scores wait until at least this many, per provider
    rating_display_min: int = 5                      # the public rating shows from this many folded ratings
    rating_queue_shards: int = 8
    record_visible_after_hours: int = 72
    record_text_max_chars: int = 20_000
    # Matching and continuity of care (SPEC §2)
    default_provider_capacity: int = 25
    match_focus_points: int = 3
    match_near_zone_points: int = 1
    match_near_zone_hours: int = 3
    match_retry_minutes: int = 5  # a waiting client is tried again on each deadlines run
    waiting_ops_notice_hours: int = 48
    handover_followup_minutes: int = 2  # the sweep finishes a handover whose request died
    # Care pathways (SPEC §2): referral programs, session requests, discharges
    referral_redeem_days: int = 30
    referral_min_sessions: int = 1
    referral_max_sessions: int = 20
    referral_provider_kind: str = "therapist"
    program_months: int = 6
    request_preferred_count: int = 3
    request_min_notice_hours: int = 24
    request_max_days: int = 60
    request_respond_hours: int = 48
    request_max_proposals: int = 3
    proposal_min_notice_hours: int = 12
    proposal_accept_hours: int = 48
    proposal_accept_before_start_hours: int = 1
    request_provider_nudge_hours: int = 24
    request_client_nudge_hours: int = 12
    discharge_first_booking_days: int = 30
    discharge_follow_up_days: int = 28
    discharge_notice_days: int = 7
    # Between sessions and data rights (SPEC §2; rules in domain/between_sessions.py)
    mood_default_days: int = 28  # GET .../moods without `from`: the 28 local days up to today
    talkcast_output_format: str = "mp3"  # Polly's mp3 is audio/mpeg, an allowed audio type
    export_url_seconds: int = 15 * 60
    export_days: int = 7
    export_stale_hours: int = 24  # an export still `preparing` after this no longer blocks a new one
    export_prefix: str = "exports/"
    # Sweeps
    revocation_refresh_seconds: int = 60  # each container reads the revocations at most this often
    sweep_batch: int = 100  # items per index page a sweep reads (it reads on while its budget lasts)
    sweep_budget_seconds: int = 240  # of the sweeps' 300 s Lambda timeout
    # `due` index shards per timer kind (docs/scale.md). Raise it only: items already written sit
    # in shards below the old number, which the sweeps keep reading as long as it is not lowered.
    due_shards: int = 8
    notification_retry_cap_minutes: int = 5  # at most one sweep period between retries
    notification_alarm_minutes: int = 30  # an email unsent this long raises the alarm

    def table(self, name: str) -> str:
        if name not in TABLE_NAMES:
            raise KeyError(name)
        return f"haven-{self.stage}-{name}"

    @property
    def audio_max_bytes(self) -> int:
        return self.audio_max_mib * 1024 * 1024

    @property
    def video_max_bytes(self) -> int:
        return self.video_max_mib * 1024 * 1024


def load() -> Settings:
    region = _env("AWS_REGION") or _env("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = _env("AWS_ENDPOINT_URL")
    pool = _env("HAVEN_USER_POOL_ID", "") or ""
    jwks = _env("HAVEN_JWKS_URL")
    if not jwks:
        base = endpoint.rstrip("/") if endpoint else f"https://cognito-idp.{region}.amazonaws.com"
        jwks = f"{base}/{pool}/.well-known/jwks.json"
    stage = _env("HAVEN_STAGE", "dev")
    meetings = (_env("HAVEN_MEETINGS") or ("standin" if stage == "local" or endpoint else "chime")).lower()
    if meetings not in ("chime", "standin"):
        raise ValueError(f"HAVEN_MEETINGS must be `chime` or `standin`, not {meetings!r}")
    meetings_region = _env("HAVEN_MEETINGS_REGION", region)
    return Settings(
        stage=stage,
        region=region,
        endpoint_url=endpoint,
        bucket=_env("HAVEN_BUCKET", "haven-dev-media"),
        kms_key_id=_env("HAVEN_KMS_KEY_ID", "") or "",
        user_pool_id=pool,
        user_pool_client_id=_env("HAVEN_USER_POOL_CLIENT_ID", "") or "",
        jwks_url=jwks,
        # Cognito always issues tokens with the real AWS issuer, even in the emulator.
        issuer=_env("HAVEN_ISSUER", f"https://cognito-idp.{region}.amazonaws.com/{pool}"),
        signing_key_parameter=_env("HAVEN_SIGNING_KEY_PARAMETER", "/aws/reference/secretsmanager/haven-dev-signing-key"),
        mail_sender=_env("HAVEN_MAIL_SENDER", "no-reply@haven.example"),
        ops_email=_env("HAVEN_OPS_EMAIL", "ops@haven.example"),
        public_base_url=(_env("HAVEN_PUBLIC_BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/"),
        cors_origins=_list("HAVEN_CORS_ORIGINS", "http://localhost:3000"),
        exports_queue_url=_env("HAVEN_EXPORTS_QUEUE_URL", "") or "",
        meetings=meetings,
        meetings_region=meetings_region,
        meetings_media_region=_env("HAVEN_MEETINGS_MEDIA_REGION", meetings_region),
        meetings_profile=_env("HAVEN_MEETINGS_AWS_PROFILE", "") or "",
        reply_working_day_hours=_int("HAVEN_REPLY_WORKING_DAY_HOURS", 8),
        due_shards=max(1, _int("HAVEN_DUE_SHARDS", 8)),
        require_staff_mfa=(_env("HAVEN_REQUIRE_STAFF_MFA", "true") or "true").lower() != "false",
    )


@lru_cache(maxsize=1)
def get() -> Settings:
    """The settings of this container, read once."""
    return load()
