"""Request and response models of every route: the one definition for validation and `/openapi.json`."""
from __future__ import annotations

import re

from chalicelib import settings
from chalicelib.api.schema import Field, Model, Query, Variant, page_query
from chalicelib.domain import profiles

_s = settings.get()


_CLOCK_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00"  # HH:MM; 24:00 may end a window


def _window_list(windows: list) -> list:
    for window in windows:
        if window["start"] >= window["end"]:
            raise ValueError(f"a window must end after it starts ({window['start']}–{window['end']}).")
    ordered = sorted(windows, key=lambda w: (w["weekday"], w["start"]))
    for a, b in zip(ordered, ordered[1:]):
        if a["weekday"] == b["weekday"] and b["start"] < a["end"]:
            raise ValueError("windows on the same weekday must not overlap.")
    return ordered


# The rules `domain.profiles` enforces, as enum and patterns: checked here and listed in the document.
TIMEZONE = Field("string", max_len=64, enum=profiles.timezone_names,
                 message="not a known IANA time zone (e.g. Europe/London).",
                 description="IANA time zone, e.g. Europe/London, exactly as spelt")
REGION = Field("string", max_len=10, pattern=profiles.REGION_PATTERN, message="not a region code like `US-NY` or `GB`.",
               description="an ISO 3166-1 country, optionally with a subdivision: e.g. US-NY or GB")
LANGUAGE = Field("string", max_len=20, pattern=profiles.LANGUAGE_PATTERN,
                 message="not a language code like `en` or `pt-BR`.", description="e.g. en, pt-BR, zh-Hant")
LANGUAGES = Field("array", min_len=1, max_len=20, items=LANGUAGE)
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
    start=Field("string", pattern=_CLOCK_TIME, message="must be a time like 09:00 (00:00 to 24:00)."),
    end=Field("string", pattern=_CLOCK_TIME, message="must be a time like 09:00 (00:00 to 24:00).",
              description="24:00 may end a window"),
)
WINDOWS = Field("array", max_len=70, items=Field("object", model=_WINDOW), check=_window_list)

Availability = Model(
    "Availability",
    # One time zone per provider: the profile's `timezone` (docs/decisions.md "One time zone per provider").
    timezone=Field("string", required=False, max_len=64, enum=profiles.timezone_names,
                   message="not a known IANA time zone (e.g. Europe/London).",
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
    one_of=(
        Variant("A text message needs `text` (and no `media_id`).", "text", title="text",
                when=(("kind", ("text",)),), required=("text",), absent=("media_id",)),
        Variant("A voice or video message needs `media_id` (and no `text`).", "media_id", title="voice or video",
                when=(("kind", ("audio", "video")),), required=("media_id",), absent=("text",)),
    ),
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

def _media_variant(kind: str, types: tuple[str, ...], max_bytes: int) -> Variant:
    listed = "|".join(re.escape(t) for t in types)
    return Variant("", "kind", title=kind, when=(("kind", (kind,)),), fields=(
        ("content_type", Field("string", pattern=f"\\s*(?:{listed})\\s*(?:;.*)?",
                               description=f"one of {', '.join(types)}, compared without parameters and "
                                           "ignoring case (400 `media_mismatch` otherwise)")),
        ("size_bytes", Field("integer", min=1, max=max_bytes, description="413 `too_large` beyond")),
    ))


NewUpload = Model(
    "NewUpload",
    one_of=(_media_variant("audio", _s.audio_types, _s.audio_max_bytes),
            _media_variant("video", _s.video_types, _s.video_max_bytes)),
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
    one_of=(
        Variant("Send `provider_id` (clients) or `client_id` (providers), not both.", "provider_id",
                title="a client books with their provider", required=("provider_id",), absent=("client_id",)),
        Variant("Send `provider_id` (clients) or `client_id` (providers), not both.", "client_id",
                title="a provider books for their client", required=("client_id",), absent=("provider_id",)),
    ),
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
LOCAL_DATE = Field("string", max_len=10, check=_local_date, format="date", description="a local date, YYYY-MM-DD")

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
    "from": Field("string", required=False, max_len=10, format="date",
                  description="local date, inclusive (default: 28 days before `to`)"),
    "to": Field("string", required=False, max_len=10, format="date",
                description="local date, exclusive (default: tomorrow)"),
})
MoodsQuery.name = "MoodsQuery"

ClientSettings = Model("ClientSettings",
                       share_moods=Field("boolean", description="your provider sees your mood check-ins"))

NewGoal = Model(
    "NewGoal",
    title=Field("string", min_len=1, max_len=200),
    due=Field("string", required=False, nullable=True, max_len=10, check=_local_date, format="date",
              description="the client's local date, YYYY-MM-DD"),
)
GoalChange = Model(
    "GoalChange",
    status=Field("string", required=False, enum=("open", "done")),
    title=Field("string", required=False, min_len=1, max_len=200),
    due=Field("string", required=False, nullable=True, max_len=10, check=_local_date, format="date"),
)
GoalsQuery = page_query()
GoalsQuery.name = "GoalsQuery"

NewHomework = Model(
    "NewHomework",
    title=Field("string", min_len=1, max_len=200),
    instructions=Field("string", min_len=1, max_len=5_000),
    due=Field("string", max_len=10, check=_local_date, format="date",
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


# --- responses -----------------------------------------------------------------------------------
# What each route answers on success, for `/openapi.json` (`RESPONSES` below; a test keeps it in
# step with the route table, and the schemathesis run checks real answers against it). Response
# objects are open: a later version may add fields, so clients must ignore the ones they do not know.

def _out(kind: str = "string", **kw) -> Field:
    """A response field that is always present (null only when `nullable`)."""
    return Field(kind, **kw)


def _opt(kind: str = "string", **kw) -> Field:
    """A response field present only for some callers or states."""
    return Field(kind, required=False, **kw)


def _obj(model: Model, **kw) -> Field:
    return Field("object", model=model, **kw)


def _list_of(model: Model, **kw) -> Field:
    return Field("array", items=Field("object", model=model), **kw)


def _page(name: str, item: Model, **extra: Field) -> Model:
    """A page of a list (SPEC §3): `{"items": [...], "next": <cursor or null>}`."""
    return Model(name, extensible=True, items=_list_of(item), next=_out(nullable=True, description="pass as `?next=`"),
                 **extra)


_STRINGS = Field("array", items=Field("string"))
_WHEN = _out("datetime")
_WHEN_OR_NULL = _out("datetime", nullable=True)
_KINDS = ("therapist", "psychiatrist")
_BOOKING_STATUS = Field("string", enum=_BOOKING_STATUSES)
_REQUEST_STATUSES = ("requested", "proposed", "accepted", "declined", "expired", "lapsed", "withdrawn")

Health = Model("Health", extensible=True, status=_out(enum=("ok",)))
OpenApiDocument = Model("OpenApiDocument", extensible=True, openapi=_out(), info=_out("object"), paths=_out("object"))

_RESOURCE = Model("CrisisResource", extensible=True, name=_out(), phone=_opt(nullable=True), text=_opt(nullable=True),
                  url=_opt(nullable=True, format="uri"),
                  description=_opt(nullable=True))
CrisisResources = Model("CrisisResources", extensible=True,
                        region=_out(nullable=True, description="the country whose list this is; null: the default"),
                        resources=_list_of(_RESOURCE, min_len=1))

_ROOM_SUMMARY = Model("RoomSummary", extensible=True, id=_out(), client_id=_out(), provider_id=_out(nullable=True),
                      provider_kind=_out(enum=_KINDS), client_name=_opt(nullable=True, description="providers only"))
PlanView = Model("PlanView", extensible=True, kind=_out(enum=("subscription", "insurance", "eap", "referral")),
                 live_credits=_out("integer"), messaging_credits=_out("integer", nullable=True),
                 session_price_cents=_opt("integer", nullable=True), period_anchor=_opt("date", nullable=True),
                 updated_at=_opt("datetime"))
ClientView = Model(
    "ClientView", extensible=True,
    id=_out(), email=_out(), name=_out(nullable=True), date_of_birth=_out("date", nullable=True),
    timezone=_out(nullable=True), region=_out(nullable=True), languages=_STRINGS,
    plan=_obj(PlanView, nullable=True),
    credits=_obj(Model("CreditsLeft", extensible=True, live=_out("integer", nullable=True),
                       messaging=_out("integer", nullable=True, description="null: unlimited or no plan"))),
    status=_out(enum=("active", "waiting", "discharged")),
    discharge=_obj(Model("Discharge", extensible=True, reason=_out(), at=_WHEN), nullable=True),
    rooms=_list_of(_ROOM_SUMMARY),
)
MatchAnswer = Model("MatchAnswer", extensible=True, status=_out(enum=("matched", "waiting")), provider_id=_opt(),
                    room_id=_opt(), reasons=_STRINGS)

_WINDOW_VIEW = Model("WindowView", extensible=True, weekday=_out("integer", min=0, max=6), start=_out(), end=_out())
ProviderPublic = Model(
    "ProviderPublic", extensible=True,
    id=_out(), name=_out(), kind=_out(enum=_KINDS), licensed_regions=_STRINGS, languages=_STRINGS,
    focus_areas=_STRINGS, bio=_out(nullable=True), years_experience=_out("integer", nullable=True),
    timezone=_out(nullable=True), gender=_out(nullable=True, enum=("female", "male", "nonbinary")),
    accepting=_out("boolean"), active=_out("boolean"),
    rating=_obj(Model("ProviderRating", extensible=True, average=_out("number"), count=_out("integer")), nullable=True,
                description="null below 5 ratings"),
)
_PRIVATE = dict(
    email=_out(), country=_out(nullable=True), capacity=_out("integer", nullable=True),
    availability=_obj(Model("AvailabilityView", extensible=True, timezone=_out(nullable=True),
                            windows=_list_of(_WINDOW_VIEW))),
    working_hours=_list_of(_WINDOW_VIEW),
)
ProviderPrivate = Model("ProviderPrivate", extensible=True, **ProviderPublic.fields, **_PRIVATE)
ProviderOps = Model("ProviderOps", extensible=True, **ProviderPublic.fields,
                    **{**_PRIVATE, "capacity": _out("integer")},
                    active_clients=_out("integer"), deactivated_at=_out("datetime", nullable=True))
Directory = _page("Directory", ProviderPublic)
OpsProviders = _page("OpsProviders", ProviderOps)
AssignmentAnswer = Model("AssignmentAnswer", extensible=True, room_id=_out(), client_id=_opt(), provider_id=_opt(),
                         provider_kind=_opt(enum=_KINDS), forced=_opt("boolean"))
FoundClients = _page("FoundClients", Model("FoundClient", extensible=True, id=_out(), email=_out(),
                                           name=_out(nullable=True), status=_out(), plan=_obj(PlanView, nullable=True)))

# rooms and messages
Rooms = _page("Rooms", _ROOM_SUMMARY)
_SESSION = Model("MessagingSession", extensible=True, id=_out(), started_at=_WHEN, ends_at=_WHEN)
_NEXT_SESSION = Model("NextSession", extensible=True, id=_out(), status=_BOOKING_STATUS, modality=_out(),
                      starts_at=_WHEN, ends_at=_WHEN)
RoomView = Model("RoomView", extensible=True, **_ROOM_SUMMARY.fields, unread_count=_out("integer", min=0),
                 messaging_session=_obj(_SESSION, nullable=True), reply_due_at=_WHEN_OR_NULL,
                 next_session=_obj(_NEXT_SESSION, nullable=True))
Message = Model(
    "Message", extensible=True,
    id=_out(), room_id=_out(), kind=_out(enum=("text", "audio", "video", "system")),
    sender_id=_out(nullable=True, description="null for system messages"), created_at=_WHEN,
    text=_opt(description="text and system messages"), media_id=_opt(description="audio and video"),
    media_url=_opt(nullable=True, format="uri", description="a short-lived playback URL"),
    talkcast=_opt("boolean"), title=_opt(nullable=True), voice=_opt(nullable=True),
)
Messages = _page("Messages", Message)
ReadAnswer = Model("ReadAnswer", extensible=True, room_id=_out(), read_up_to=_out(),
                   unread_count=_out("integer", min=0))
UploadSlot = Model("UploadSlot", extensible=True, media_id=_out(),
                   upload=_obj(Model("PresignedPost", extensible=True, url=_out(format="uri"),
                                     fields=_out("object", description="form fields to send with the file"))),
                   expires_in=_out("integer", description="seconds"))
MessagingSessionView = _SESSION

# live sessions
Booking = Model(
    "Booking", extensible=True,
    id=_out(), status=_BOOKING_STATUS, client_id=_out(), provider_id=_out(), room_id=_out(nullable=True),
    modality=_out(enum=("video", "audio", "chat")), starts_at=_WHEN, ends_at=_WHEN, confirm_by=_WHEN_OR_NULL,
    rescheduled_to=_out(nullable=True), rescheduled_from=_out(nullable=True), created_at=_WHEN,
    created_by=_out(nullable=True), purchased=_out("boolean"), client_joined_at=_WHEN_OR_NULL,
    provider_joined_at=_WHEN_OR_NULL,
    client_name=_opt(nullable=True, description="providers only"),
    risk_flag=_opt("boolean", nullable=True, description="providers only"),
    rated=_opt("boolean", description="clients only"),
)
Bookings = _page("Bookings", Booking)
JoinAnswer = Model(
    "JoinAnswer", extensible=True, join_url=_out(format="uri"),
    meeting=_opt("object", description="video and audio: Chime SDK's `Meeting` (MeetingId, MediaPlacement...)",
                 model=Model("ChimeMeeting", extensible=True, MeetingId=_out(), MediaRegion=_opt(),
                             MediaPlacement=_opt("object"))),
    attendee=_opt("object", description="video and audio: Chime SDK's `Attendee` for the caller",
                  model=Model("ChimeAttendee", extensible=True, AttendeeId=_out(), ExternalUserId=_opt(),
                              JoinToken=_out())),
)
_TIMES = Model("Times", extensible=True, starts_at=_WHEN, ends_at=_WHEN)
Slots = Model("Slots", extensible=True, items=_list_of(_TIMES))

# the clinical record
_SCORE = Model("Score", extensible=True, score=_out("integer", min=0), severity=_out())
QuestionnaireAnswer = Model("QuestionnaireAnswer", extensible=True, booking_id=_out(), submitted_at=_WHEN,
                            phq9=_obj(_SCORE), gad7=_obj(_SCORE), risk=_out("boolean"),
                            crisis_resources=_opt("object", model=CrisisResources, description="when `risk`"))
RiskAcknowledgement = Model("RiskAcknowledgement", extensible=True, booking_id=_out(), acknowledged_at=_WHEN)
Measures = Model(
    "Measures", extensible=True,
    items=_list_of(Model("Measure", extensible=True, booking_id=_out(), submitted_at=_WHEN,
                         phq9_score=_out("integer"), phq9_severity=_out(),
                         gad7_score=_out("integer"), gad7_severity=_out())),
    reliable_improvement=_out("boolean", nullable=True), reliable_deterioration=_out("boolean", nullable=True),
    recovery=_out("boolean", nullable=True),
)
RatingAnswer = Model("RatingAnswer", extensible=True, booking_id=_out(), rated=_out("boolean"))
SessionRecord = Model(
    "SessionRecord", extensible=True, booking_id=_out(), visible_from=_WHEN,
    entries=_list_of(Model("RecordEntry", extensible=True, id=_out(),
                           kind=_out(enum=("record", "amendment", "member_note")),
                           author_id=_out(), text=_out(), created_at=_WHEN)),
)
AccessLog = _page("AccessLog", Model("AccessLogEntry", extensible=True, at=_WHEN, reader_id=_out(), reader_role=_out(),
                                     reader_name=_out(nullable=True), what=_out(), room_id=_opt(),
                                     booking_id=_opt()))

# care pathways
Referral = Model("Referral", extensible=True, id=_out(), email=_out(), sessions=_out("integer"),
                 modalities=Field("array", items=Field("string", enum=("video", "audio", "chat"))),
                 referrer=_out(nullable=True), status=_out(), issued_at=_WHEN, redeem_by=_WHEN)
SessionRequest = Model(
    "SessionRequest", extensible=True,
    id=_out(), status=_out(enum=_REQUEST_STATUSES), client_id=_out(), provider_id=_out(),
    modality=_out(enum=("video", "audio", "chat")),
    preferred=_list_of(Model("PreferredTimeView", extensible=True, date=_out("date"), part=_out())),
    note=_opt(nullable=True, description="one request only, not in lists"), created_at=_WHEN,
    respond_by=_WHEN_OR_NULL, proposals=_list_of(_TIMES),
    accept_by=_WHEN_OR_NULL, booking_id=_out(nullable=True), reason=_out(nullable=True),
    client_name=_opt(nullable=True, description="providers only"),
)
SessionRequests = _page("SessionRequests", SessionRequest)

# between sessions
JournalEntryView = Model("JournalEntryView", extensible=True, id=_out(), text=_out(), shared=_out("boolean"),
                         created_at=_WHEN)
Journal = _page("Journal", JournalEntryView)
MoodView = Model("MoodView", extensible=True, id=_out(), score=_out("integer", min=1, max=10), emotions=_STRINGS,
                 note=_out(nullable=True), created_at=_WHEN, date=_out(format="date"))
Moods = _page("Moods", MoodView,
              weekly=_list_of(Model("WeeklyMood", extensible=True, week=_out(format="date"), mean=_out("number"),
                                    count=_out("integer"))),
              **{"from": _out(format="date"), "to": _out(format="date")}, timezone=_out())
SettingsView = Model("SettingsView", extensible=True, share_moods=_out("boolean"))
Goal = Model("Goal", extensible=True, id=_out(), room_id=_out(), title=_out(nullable=True),
             due=_out(nullable=True, format="date"), status=_out(enum=("open", "done")), created_by=_out(),
             created_at=_WHEN, updated_at=_WHEN_OR_NULL, done_at=_WHEN_OR_NULL)
Goals = _page("Goals", Goal)
Homework = Model("Homework", extensible=True, id=_out(), room_id=_out(), title=_out(nullable=True),
                 instructions=_out(nullable=True), due=_out(format="date"), status=_out(), assigned_by=_out(),
                 created_at=_WHEN, done_at=_WHEN_OR_NULL, reminder_at=_WHEN_OR_NULL)
Homeworks = _page("Homeworks", Homework)
ExportView = Model("ExportView", extensible=True, id=_out(), status=_out(enum=("preparing", "ready")),
                   created_at=_opt("datetime"), url=_opt(format="uri", description="when ready: valid 15 minutes"),
                   expires_at=_opt("datetime"), ready_at=_opt("datetime", nullable=True),
                   available_until=_opt("datetime", nullable=True), size_bytes=_opt("integer"))

HTML = "text/html"  # an emailed link's page
NO_CONTENT = "no content"  # 204

# Answers other than success and refusals that a route documents: (path, method) -> {status: code}.
OTHER_ANSWERS: dict[tuple[str, str], dict[int, str]] = {
    ("/rooms/{room_id}/talkcasts", "POST"): {502: "speech_unavailable"},  # Amazon Polly could not answer
    ("/bookings/{booking_id}/join", "POST"): {502: "meeting_unavailable"},  # Chime could not start the meeting
}

# (path, method) -> what a success answers: a response model, HTML, NO_CONTENT, or None (never succeeds).
RESPONSES: dict[tuple[str, str], object] = {
    ("/health", "GET"): Health,
    ("/openapi.json", "GET"): OpenApiDocument,
    ("/crisis-resources", "GET"): CrisisResources,
    ("/sign-out", "POST"): NO_CONTENT,
    ("/clients/me", "POST"): ClientView,
    ("/clients/me", "GET"): ClientView,
    ("/clients/me/intake", "PUT"): MatchAnswer,
    ("/clients/me/provider-change", "POST"): MatchAnswer,
    ("/providers", "GET"): Directory,
    ("/providers/me", "GET"): ProviderPrivate,
    ("/providers/me/availability", "PUT"): ProviderPrivate,
    ("/providers/{provider_id}", "GET"): ProviderPublic,
    ("/ops/providers", "POST"): ProviderPrivate,
    ("/ops/clients/{client_id}/plan", "PUT"): PlanView,
    ("/ops/assignments", "PUT"): AssignmentAnswer,
    ("/ops/providers", "GET"): OpsProviders,
    ("/ops/providers/{provider_id}", "PATCH"): ProviderOps,
    ("/ops/providers/{provider_id}/deactivate", "POST"): ProviderOps,
    ("/ops/clients", "GET"): FoundClients,
    ("/rooms", "GET"): Rooms,
    ("/rooms/{room_id}", "GET"): RoomView,
    ("/rooms/{room_id}/messages", "POST"): Message,
    ("/rooms/{room_id}/messages", "GET"): Messages,
    ("/rooms/{room_id}/read", "POST"): ReadAnswer,
    ("/rooms/{room_id}/media", "POST"): UploadSlot,
    ("/rooms/{room_id}/messaging-sessions", "POST"): MessagingSessionView,
    ("/rooms/{room_id}/messaging-sessions/{session_id}", "DELETE"): None,
    ("/bookings", "POST"): Booking,
    ("/bookings", "GET"): Bookings,
    ("/bookings/{booking_id}", "GET"): Booking,
    ("/bookings/{booking_id}/confirm", "POST"): Booking,
    ("/bookings/{booking_id}/decline", "POST"): Booking,
    ("/bookings/{booking_id}/reschedule", "POST"): Booking,
    ("/bookings/{booking_id}/cancel", "POST"): Booking,
    ("/bookings/{booking_id}/join", "POST"): JoinAnswer,
    ("/bookings/{booking_id}/complete", "POST"): Booking,
    ("/bookings/{booking_id}/no-show", "POST"): Booking,
    ("/providers/{provider_id}/slots", "GET"): Slots,
    ("/links/{token}", "GET"): HTML,
    ("/links/{token}", "POST"): HTML,
    ("/bookings/{booking_id}/questionnaire", "PUT"): QuestionnaireAnswer,
    ("/bookings/{booking_id}/questionnaire", "GET"): QuestionnaireAnswer,
    ("/bookings/{booking_id}/risk-acknowledgement", "POST"): RiskAcknowledgement,
    ("/clients/me/measures", "GET"): Measures,
    ("/clients/{client_id}/measures", "GET"): Measures,
    ("/bookings/{booking_id}/rating", "POST"): RatingAnswer,
    ("/bookings/{booking_id}/record", "PUT"): SessionRecord,
    ("/bookings/{booking_id}/record/amendments", "POST"): SessionRecord,
    ("/bookings/{booking_id}/record/notes", "POST"): SessionRecord,
    ("/bookings/{booking_id}/record", "GET"): SessionRecord,
    ("/clients/me/access-log", "GET"): AccessLog,
    ("/ops/referrals", "POST"): Referral,
    ("/ops/referrals/{referral_id}/reissue", "POST"): Referral,
    ("/clients/me/referral", "POST"): ClientView,
    ("/session-requests", "POST"): SessionRequest,
    ("/session-requests", "GET"): SessionRequests,
    ("/session-requests/{request_id}", "GET"): SessionRequest,
    ("/session-requests/{request_id}/proposals", "POST"): SessionRequest,
    ("/session-requests/{request_id}/decline", "POST"): SessionRequest,
    ("/session-requests/{request_id}/accept", "POST"): Booking,
    ("/session-requests/{request_id}/withdraw", "POST"): SessionRequest,
    ("/clients/me/journal", "POST"): JournalEntryView,
    ("/clients/me/journal", "GET"): Journal,
    ("/rooms/{room_id}/journal", "GET"): Journal,
    ("/clients/me/moods", "POST"): MoodView,
    ("/clients/me/moods", "GET"): Moods,
    ("/rooms/{room_id}/moods", "GET"): Moods,
    ("/clients/me/settings", "PATCH"): SettingsView,
    ("/rooms/{room_id}/goals", "POST"): Goal,
    ("/rooms/{room_id}/goals", "GET"): Goals,
    ("/rooms/{room_id}/goals/{goal_id}", "PATCH"): Goal,
    ("/rooms/{room_id}/homework", "POST"): Homework,
    ("/rooms/{room_id}/homework", "GET"): Homeworks,
    ("/rooms/{room_id}/homework/{homework_id}/done", "POST"): Homework,
    ("/rooms/{room_id}/talkcasts", "POST"): Message,
    ("/clients/me/exports", "POST"): ExportView,
    ("/clients/me/exports/{export_id}", "GET"): ExportView,
}
