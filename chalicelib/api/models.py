"""Request models for every route: the one definition used for validation and for `/openapi.json`."""
from __future__ import annotations

from chalicelib import settings
from chalicelib.api.schema import Field, Model, Query, page_query
from chalicelib.domain import profiles

_s = settings.get()


def _timezone(value: str) -> str:
    if not profiles.valid_timezone(value):
        raise ValueError("not a known IANA time zone (e.g. Europe/London).")
    return value


def _region(value: str) -> str:
    if not profiles.valid_region(value):
        raise ValueError("not a region code like `US-NY` or `GB`.")
    return value


def _language(value: str) -> str:
    if not profiles.valid_language(value):
        raise ValueError("not a language code like `en` or `pt-BR`.")
    return value


def _clock_time(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (len(value) == 5 and hours.isdigit() and minutes.isdigit()):
        raise ValueError("must be a time like 09:00.")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59) and value != "24:00":
        raise ValueError("must be a time between 00:00 and 24:00.")
    return value


def _window_list(windows: list) -> list:
    for window in windows:
        if window["start"] >= window["end"]:
            raise ValueError(f"a window must end after it starts ({window['start']}–{window['end']}).")
    ordered = sorted(windows, key=lambda w: (w["weekday"], w["start"]))
    for a, b in zip(ordered, ordered[1:]):
        if a["weekday"] == b["weekday"] and b["start"] < a["end"]:
            raise ValueError("windows on the same weekday must not overlap.")
    return ordered


TIMEZONE = Field("string", max_len=64, check=_timezone, description="IANA time zone, e.g. Europe/London")
REGION = Field("string", max_len=10, check=_region, description="e.g. US-NY or GB")
LANGUAGES = Field("array", min_len=1, max_len=20, items=Field("string", max_len=20, check=_language))
NAME = Field("string", min_len=1, max_len=_s.name_max_chars)
ID = Field("string", min_len=1, max_len=128)

ClientProfile = Model(
    "ClientProfile",
    name=NAME,
    date_of_birth=Field("date", description="YYYY-MM-DD; clients must be 18 or older"),
    timezone=TIMEZONE,
    region=REGION,
    languages=LANGUAGES,
    referral_code=Field("string", required=False, min_len=1, max_len=64,
                        description="a referral code from the prescription email; a bad code refuses the registration"),
)

Plan = Model(
    "Plan",
    kind=Field("string", enum=("subscription", "insurance", "eap", "referral")),
    live_credits=Field("integer", min=0, max=1000,
                       description="per billing period for subscription, else in all"),
    messaging_credits=Field("integer", required=False, nullable=True, min=0, max=1000),
    session_price_cents=Field("integer", required=False, nullable=True, min=0, max=10_000_000),
    period_anchor=Field("date", required=False, nullable=True),
)

NewProvider = Model(
    "NewProvider",
    email=Field("string", min_len=3, max_len=254, pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+"),
    name=NAME,
    kind=Field("string", enum=("therapist", "psychiatrist")),
    licensed_regions=Field("array", min_len=1, max_len=60, items=REGION),
    languages=LANGUAGES,
    timezone=TIMEZONE,
    focus_areas=Field("array", required=False, max_len=30, items=Field("string", min_len=1, max_len=60)),
    bio=Field("string", required=False, nullable=True, max_len=5000),
    years_experience=Field("integer", required=False, nullable=True, min=0, max=80),
    capacity=Field("integer", required=False, nullable=True, min=0, max=1000),
    country=Field("string", required=False, nullable=True, pattern=r"[A-Z]{2}",
                  description="ISO 3166-1 alpha-2; its public holidays are not working days"),
    gender=Field("string", required=False, nullable=True, enum=("female", "male", "nonbinary")),
)

Assignment = Model(
    "Assignment", client_id=ID, provider_id=ID,
    force=Field("boolean", required=False, default=False,
                description="skip the licence, language and capacity checks (recorded with who and when)"),
)


# --- matching and continuity of care ---------------------------------------------------------------

PROVIDER_KIND = Field("string", enum=("therapist", "psychiatrist"))
GENDER = Field("string", required=False, nullable=True, enum=("female", "male", "nonbinary"))
FOCUS_AREAS = Field("array", max_len=30, items=Field("string", min_len=1, max_len=60))

Intake = Model(
    "Intake",
    region=REGION,
    languages=LANGUAGES,
    provider_kind=PROVIDER_KIND,
    focus_areas=FOCUS_AREAS,
    gender_preference=GENDER,
    provider_name=Field("string", required=False, nullable=True, max_len=_s.name_max_chars,
                        description="a provider asked for by name (chosen when they pass the filters)"),
)

ProviderChange = Model(
    "ProviderChange",
    provider_kind=PROVIDER_KIND,
    reason=Field("string", required=False, nullable=True, max_len=1000,
                 description="free text; not stored"),
)

ProviderPatch = Model(
    "ProviderPatch",
    gender=GENDER,
    accepting=Field("boolean", required=False),
    capacity=Field("integer", required=False, min=0, max=1000),
    licensed_regions=Field("array", required=False, min_len=1, max_len=60, items=REGION),
    languages=Field("array", required=False, min_len=1, max_len=20, items=LANGUAGES.items),
    focus_areas=Field("array", required=False, max_len=30, items=Field("string", min_len=1, max_len=60)),
)

OpsProvidersQuery = page_query(active=Field("boolean", required=False, description="true: active only; false: "
                                                                                     "deactivated only"))
OpsProvidersQuery.name = "OpsProvidersQuery"

ClientsByEmailQuery = Query("ClientsByEmailQuery", email=Field("string", min_len=3, max_len=254,
                                                               description="exact, ignoring case"))

_WINDOW = Model(
    "Window",
    weekday=Field("integer", min=0, max=6, description="0 = Monday … 6 = Sunday"),
    start=Field("string", check=_clock_time),
    end=Field("string", check=_clock_time, description="24:00 may end a window"),
)
WINDOWS = Field("array", max_len=70, items=Field("object", model=_WINDOW), check=_window_list)

Availability = Model(
    "Availability",
    # One time zone per provider: the profile's `timezone` (docs/decisions.md "One time zone per provider").
    timezone=Field("string", required=False, max_len=64, check=_timezone,
                   description="IANA time zone, e.g. Europe/London. The provider's one time zone: the same "
                               "field as the profile's `timezone`. Both `windows` and `working_hours` are "
                               "wall-clock times in it; a different zone changes the profile's time zone, "
                               "so availability and reply-promise working hours move together. Omitted: "
                               "the profile's time zone stays."),
    windows=WINDOWS,
    working_hours=Field("array", required=False, nullable=True, max_len=70,
                        items=Field("object", model=_WINDOW), check=_window_list,
                        description="reply-promise working hours; default Mon–Fri 09:00–17:00"),
)

NewMessage = Model(
    "NewMessage",
    kind=Field("string", enum=("text", "audio", "video")),
    text=Field("string", required=False, min_len=1, max_len=_s.text_max_chars),
    media_id=Field("string", required=False, min_len=1, max_len=128),
)

ReadMarker = Model("ReadMarker", message_id=Field("string", min_len=1, max_len=64))

DirectoryQuery = page_query(
    region=Field("string", required=False, max_len=10),
    language=Field("string", required=False, max_len=20),
    kind=Field("string", required=False, enum=("therapist", "psychiatrist")),
    focus=Field("string", required=False, max_len=60),
)
DirectoryQuery.name = "DirectoryQuery"

MessagesQuery = page_query()
MessagesQuery.name = "MessagesQuery"
RoomsQuery = page_query()
RoomsQuery.name = "RoomsQuery"

CrisisQuery = Query("CrisisQuery", region=Field("string", required=False, max_len=10))

NewUpload = Model(
    "NewUpload",
    kind=Field("string", enum=("audio", "video")),
    content_type=Field("string", min_len=3, max_len=200, description="compared without parameters"),
    size_bytes=Field("integer", min=1, max=_s.video_max_bytes * 4,
                     description="audio ≤ 25 MiB, video ≤ 200 MiB (413 beyond)"),
)


# --- live sessions -------------------------------------------------------------------------------

_BOOKING_STATUSES = ("pending", "confirmed", "declined", "cancelled", "late_cancelled", "completed",
                     "client_no_show", "provider_no_show", "expired", "unresolved", "rescheduled")

NewBooking = Model(
    "NewBooking",
    provider_id=Field("string", required=False, min_len=1, max_len=128, description="clients: whom to book"),
    client_id=Field("string", required=False, min_len=1, max_len=128, description="providers: for which client"),
    modality=Field("string", enum=("video", "audio", "chat")),
    starts_at=Field("datetime", description="UTC, on the provider's hour or half hour"),
    purchase=Field("boolean", required=False, default=False,
                   description="clients: buy a credit (session_price_cents) when none is left"),
)

RescheduleBooking = Model(
    "RescheduleBooking",
    starts_at=Field("datetime"),
    purchase=Field("boolean", required=False, default=False,
                   description="a late change by the client needs a new credit; buy one when none is left"),
)

CancelBooking = Model("CancelBooking", reason=Field("string", required=False, nullable=True, max_len=500))

BookingsQuery = page_query(
    status=Field("string", required=False, enum=_BOOKING_STATUSES),
    **{"from": Field("datetime", required=False, description="inclusive"),
       "to": Field("datetime", required=False, description="exclusive")},
)
BookingsQuery.name = "BookingsQuery"

SlotsQuery = Query("SlotsQuery", **{"from": Field("datetime", required=False, description="default now"),
                                    "to": Field("datetime", required=False, description="default from + 7 days")})

LinkAction = Query("LinkAction", action=Field("string", required=False, enum=("confirm", "decline")))


# --- the clinical record ------------------------------------------------------------------------

_ANSWER = Field("integer", min=0, max=3)

Questionnaire = Model(
    "Questionnaire",
    phq9=Field("array", min_len=9, max_len=9, items=_ANSWER, description="PHQ-9: 9 answers, each 0–3, in item order"),
    gad7=Field("array", min_len=7, max_len=7, items=_ANSWER, description="GAD-7: 7 answers, each 0–3, in item order"),
)

Rating = Model("Rating", score=Field("integer", min=1, max=5, description="1 (worst) to 5 (best)"))

RecordText = Model(
    "RecordText",
    text=Field("string", min_len=1, max_len=_s.record_text_max_chars,
               description="1..20,000 characters (Unicode code points), not only white space"),
)

AccessLogQuery = page_query()
AccessLogQuery.name = "AccessLogQuery"


# --- care pathways ---------------------------------------------------------------------------------

EMAIL = Field("string", min_len=3, max_len=254, pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+")
MODALITY = Field("string", enum=("video", "audio", "chat"))

NewReferral = Model(
    "NewReferral",
    email=EMAIL,
    sessions=Field("integer", min=_s.referral_min_sessions, max=_s.referral_max_sessions,
                   description="live sessions in the program"),
    modalities=Field("array", min_len=1, max_len=3, items=MODALITY),
    referrer=Field("string", required=False, nullable=True, min_len=1, max_len=200,
                   description="the referrer's name, shown in the email"),
)

RedeemReferral = Model("RedeemReferral", code=Field("string", min_len=1, max_len=64,
                                                    description="case, spaces and hyphens are ignored"))

_PREFERRED = Model(
    "PreferredTime",
    date=Field("date", description="a date in the client's time zone"),
    part=Field("string", enum=("morning", "afternoon", "evening"),
               description="morning 08:00–12:00, afternoon 12:00–17:00, evening 17:00–21:00 (client's zone)"),
)

NewSessionRequest = Model(
    "NewSessionRequest",
    provider_id=Field("string", min_len=1, max_len=128),
    modality=MODALITY,
    preferred=Field("array", min_len=_s.request_preferred_count, max_len=_s.request_preferred_count,
                    items=Field("object", model=_PREFERRED), description="exactly 3 distinct times"),
    note=Field("string", required=False, nullable=True, min_len=1, max_len=2000,
               description="for the provider; encrypted at rest"),
)

Proposals = Model(
    "Proposals",
    starts_at=Field("array", min_len=1, max_len=_s.request_max_proposals, items=Field("datetime"),
                    description="1–3 start times on your :00/:30 grid, inside the client's preferred times"),
)

DeclineRequest = Model("DeclineRequest", reason=Field("string", required=False, nullable=True, max_len=2000,
                                                      description="shown to the client in the app; encrypted at rest"))

AcceptProposal = Model(
    "AcceptProposal",
    starts_at=Field("datetime", description="one of the proposed times"),
    purchase=Field("boolean", required=False, default=False,
                   description="buy a credit when none is left (not on referral plans)"),
)

SessionRequestsQuery = page_query(status=Field("string", required=False, enum=(
    "requested", "proposed", "accepted", "declined", "expired", "lapsed", "withdrawn")))
SessionRequestsQuery.name = "SessionRequestsQuery"


# --- between sessions and data rights (issue 15) -------------------------------------------------

def _local_date(value: str):
    """A calendar date `YYYY-MM-DD` (the client's local date), strictly."""
    from chalicelib.domain.between_sessions import parse_local_date
    from chalicelib.errors import HavenError

    try:
        return parse_local_date(value, "date")
    except HavenError:
        raise ValueError("must be a date in the form YYYY-MM-DD.") from None


def _voices() -> str:
    from chalicelib.domain.between_sessions import DEFAULT_TALKCAST_VOICE, TALKCAST_VOICES

    listed = ", ".join(f"{v.id} ({v.language_code}, {v.gender.lower()})" for v in TALKCAST_VOICES.values())
    return f"Amazon Polly voice (neural), matched ignoring case; default {DEFAULT_TALKCAST_VOICE}. One of: {listed}"


_EMOTIONS = ("happy", "calm", "hopeful", "grateful", "tired", "anxious", "sad", "angry", "lonely",
             "stressed", "overwhelmed", "numb")  # domain.between_sessions.EMOTIONS (kept in step by a test)
LOCAL_DATE = Field("string", max_len=10, check=_local_date, description="a local date, YYYY-MM-DD")

JournalEntry = Model(
    "JournalEntry",
    text=Field("string", min_len=1, max_len=20_000, description="1..20,000 characters"),
    shared=Field("boolean", required=False, default=False, description="visible to your provider (default false)"),
)
JournalQuery = page_query()
JournalQuery.name = "JournalQuery"

MoodCheckIn = Model(
    "MoodCheckIn",
    score=Field("integer", min=1, max=10),
    emotions=Field("array", required=False, nullable=True, max_len=len(_EMOTIONS),
                   items=Field("string", enum=_EMOTIONS), description="distinct, from the fixed list"),
    note=Field("string", required=False, nullable=True, min_len=1, max_len=2_000),
)
MoodsQuery = page_query(**{
    "from": Field("string", required=False, max_len=10,
                  description="local date, inclusive (default: 28 days before `to`)"),
    "to": Field("string", required=False, max_len=10, description="local date, exclusive (default: tomorrow)"),
})
MoodsQuery.name = "MoodsQuery"

ClientSettings = Model("ClientSettings",
                       share_moods=Field("boolean", description="your provider sees your mood check-ins"))

NewGoal = Model(
    "NewGoal",
    title=Field("string", min_len=1, max_len=200),
    due=Field("string", required=False, nullable=True, max_len=10, check=_local_date,
              description="the client's local date, YYYY-MM-DD"),
)
GoalChange = Model(
    "GoalChange",
    status=Field("string", required=False, enum=("open", "done")),
    title=Field("string", required=False, min_len=1, max_len=200),
    due=Field("string", required=False, nullable=True, max_len=10, check=_local_date),
)
GoalsQuery = page_query()
GoalsQuery.name = "GoalsQuery"

NewHomework = Model(
    "NewHomework",
    title=Field("string", min_len=1, max_len=200),
    instructions=Field("string", min_len=1, max_len=5_000),
    due=Field("string", max_len=10, check=_local_date,
              description="the client's local date; reminder at 09:00 client time the day before"),
)
HomeworkQuery = page_query()
HomeworkQuery.name = "HomeworkQuery"

NewTalkcast = Model(
    "NewTalkcast",
    title=Field("string", min_len=1, max_len=200),
    script=Field("string", min_len=1, max_len=3_000, description="1..3,000 characters, plain text"),
    voice=Field("string", required=False, nullable=True, max_len=40, description=_voices()),
)
