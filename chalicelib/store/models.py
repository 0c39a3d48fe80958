"""The tables. Each model knows its keys and indexes; `ALL_MODELS` is the one list the
template generator, the local stack and the tests create tables from.

Sweeps read only what is due through sparse `due` indexes (an item leaves the index when
its due attributes are removed), never a Scan.
"""
from __future__ import annotations

import heapq
import itertools
import random

from pynamodb.attributes import (
    BinaryAttribute, BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute,
    TTLAttribute, UnicodeAttribute, VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import settings
from chalicelib.store.base import index_meta, meta


# --- people -------------------------------------------------------------------------------

class DirectoryIndex(GlobalSecondaryIndex):
    Meta = index_meta("directory", AllProjection())
    directory = UnicodeAttribute(hash_key=True)  # "provider" on providers only (sparse)
    id = UnicodeAttribute(range_key=True)


class DirectoryOrderIndex(GlobalSecondaryIndex):
    """The directory as a person reads it (accepting first, then by name, then id): `directory`
    partitions, `directory_order` (domain.profiles.directory_order) sorts within them."""
    Meta = index_meta("directory_order", AllProjection())
    directory = UnicodeAttribute(hash_key=True)
    directory_order = UnicodeAttribute(range_key=True)


class ByEmailIndex(GlobalSecondaryIndex):
    """Clients by lower-cased email (`GET /ops/clients?email=`); providers carry no `email_key`."""
    Meta = index_meta("by_email", AllProjection())
    email_key = UnicodeAttribute(hash_key=True)


class UserModel(Model):
    """A client or a provider; `id` is the Cognito `sub`."""
    Meta = meta("users")
    id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()  # client | provider
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    # clients
    date_of_birth = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # active | waiting | discharged
    plan = JSONAttribute(null=True)
    email_key = UnicodeAttribute(null=True)  # the email, lower case (the `by_email` index)
    intake = JSONAttribute(null=True)  # {provider kind: {"focus_areas","gender_preference","provider_name","at"}}
    waiting = JSONAttribute(null=True)  # {provider kind: {"since","reason"}}: kinds waiting with no provider
    # providers
    kind = UnicodeAttribute(null=True)  # therapist | psychiatrist
    licensed_regions = ListAttribute(of=UnicodeAttribute, null=True)
    focus_areas = ListAttribute(of=UnicodeAttribute, null=True)
    bio = UnicodeAttribute(null=True)
    years_experience = NumberAttribute(null=True)
    capacity = NumberAttribute(null=True)
    country = UnicodeAttribute(null=True)
    active = BooleanAttribute(null=True)
    availability = JSONAttribute(null=True)  # {"timezone", "windows": [...]}
    working_hours = JSONAttribute(null=True)  # [{"weekday","start","end"}]
    rating_sum = NumberAttribute(null=True)
    rating_count = NumberAttribute(null=True)
    gender = UnicodeAttribute(null=True)  # female | male | nonbinary
    accepting = BooleanAttribute(null=True)  # not stored (older items) counts as true
    active_clients = NumberAttribute(null=True)  # moved only in the transaction that moves a client
    deactivated_at = UnicodeAttribute(null=True)
    share_moods = BooleanAttribute(null=True)  # clients: their provider sees their moods (default off)
    directory = UnicodeAttribute(null=True)  # "provider" while active, "inactive_provider" after
    directory_index = DirectoryIndex()
    # the directory's order (accepting, name, id); written with `accepting` and at creation
    directory_order = UnicodeAttribute(null=True)
    directory_order_index = DirectoryOrderIndex()
    by_email = ByEmailIndex()
    version = VersionAttribute()
    # referral programs: a persisted discharge {"reason", "at"} (status `discharged`)
    discharge = JSONAttribute(null=True)


# --- rooms and messages ----------------------------------------------------------------------

class RoomsByClient(GlobalSecondaryIndex):
    Meta = index_meta("by_client", AllProjection())
    client_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class RoomsByProvider(GlobalSecondaryIndex):
    Meta = index_meta("by_provider", AllProjection())
    provider_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class RoomModel(Model):
    """One client with one provider of a kind. Counters make unread counts O(1):
    `seq` numbers messages; `sent_client`/`sent_provider`/`sent_system` count them by author
    (`sent_system`: Haven's notices to both members; `sent_system_client`/`sent_system_provider`:
    Haven's notices to one member only); `read_client`/`read_provider` hold how many of the
    messages addressed to each member (the other side's and Haven's to them) they have read."""
    Meta = meta("rooms")
    id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    provider_id = UnicodeAttribute(null=True)  # none while the client waits for a new provider
    provider_kind = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # who had the room and why, oldest first: [{"provider_id","at","by","reason","reasons","forced"?}]
    history = ListAttribute(null=True)
    key_blob = BinaryAttribute(null=True, legacy_encoding=False)  # the room's data key, KMS-encrypted
    seq = NumberAttribute(default=0)
    sent_client = NumberAttribute(default=0)
    sent_provider = NumberAttribute(default=0)
    sent_system = NumberAttribute(default=0)
    sent_system_client = NumberAttribute(default=0)
    sent_system_provider = NumberAttribute(default=0)
    read_client = NumberAttribute(default=0)
    read_client_seq = NumberAttribute(default=0)
    read_provider = NumberAttribute(default=0)
    read_provider_seq = NumberAttribute(default=0)
    last_message_at = UnicodeAttribute(null=True)
    # new-message alerts: when the last alert went to each side
    alert_client_at = UnicodeAttribute(null=True)
    alert_provider_at = UnicodeAttribute(null=True)
    # the client's plan kind, copied here so each message needs no user read (reply promise)
    plan_kind = UnicodeAttribute(null=True)
    # messaging session banner, its end (sortable text, for conditions) and the open reply deadline
    messaging_session = JSONAttribute(null=True)
    session_ends = UnicodeAttribute(null=True)
    alert_client_seq = NumberAttribute(null=True)
    alert_provider_seq = NumberAttribute(null=True)
    reply_due_at = UnicodeAttribute(null=True)
    reply_timer_id = UnicodeAttribute(null=True)
    # risk language in client messages: the last urgent provider email and crisis-resources notice
    risk_alert_at = UnicodeAttribute(null=True)
    risk_notice_at = UnicodeAttribute(null=True)
    # the last keyed post of each member: "<request digest>#<seq>", so a retry of a request that
    # committed and died answers the message it made (chalicelib.request_key)
    last_post_client = UnicodeAttribute(null=True)
    last_post_provider = UnicodeAttribute(null=True)
    last_post_system = UnicodeAttribute(null=True)  # the same for the outbox notice a system message delivered
    by_client = RoomsByClient()
    by_provider = RoomsByProvider()


class MessageModel(Model):
    """A message; `body` is envelope-encrypted (KMS, context bound to the room)."""
    Meta = meta("messages")
    room_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    id = UnicodeAttribute()
    kind = UnicodeAttribute()  # text | audio | video | system
    sender_id = UnicodeAttribute(null=True)
    sender_role = UnicodeAttribute()  # client | provider | system
    created_at = UnicodeAttribute()
    body = BinaryAttribute(null=True, legacy_encoding=False)
    media_id = UnicodeAttribute(null=True)
    talkcast = BooleanAttribute(null=True)  # an audio message Haven synthesized; `body` holds its script
    join_booking_id = UnicodeAttribute(null=True)  # a system reminder: each reader sees their own join link
    join_provider_id = UnicodeAttribute(null=True)  # ... if they are that booking's client or this provider
    # the room's per-author message counts right after this message (for read markers)
    count_client = NumberAttribute(default=0)
    count_provider = NumberAttribute(default=0)
    count_system = NumberAttribute(default=0)
    count_system_client = NumberAttribute(default=0)
    count_system_provider = NumberAttribute(default=0)
    to = UnicodeAttribute(null=True)  # a system notice for one member only: client | provider
    # a client text message the risk-language detector flagged: {"category", "version"}, never words
    flag = JSONAttribute(null=True)
    # ids of the outbox notices recorded with it (alert, out-of-hours notice): a keyed retry of a
    # request that committed and died delivers those still pending
    notices = ListAttribute(null=True)


class MediaModel(Model):
    """An upload slot handed out by POST /rooms/{id}/media; `used_by` once a message carries it."""
    Meta = meta("media")
    id = UnicodeAttribute(hash_key=True)
    room_id = UnicodeAttribute()
    uploader_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    used_by = UnicodeAttribute(null=True)  # "claimed" while a message is being made, then its id
    claimed_at = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


# --- time-driven work -----------------------------------------------------------------------

SHARD = "#"


def due_partitions(kind: str) -> list[str]:
    """Every `due` index partition a kind's items may sit in: its shards `<kind>#0` …
    `<kind>#<N-1>` (N = `settings.due_shards`), after the bare `<kind>` where items written
    before the index was sharded wait until they are acted on (docs/scale.md)."""
    return [kind] + [f"{kind}{SHARD}{n}" for n in range(settings.get().due_shards)]


class DueIndex(GlobalSecondaryIndex):
    """Sharded (issue 16): a pending item's `due_kind` is stored as `<kind>#<shard>`, so no timer
    kind is one hot partition. `query(kind, ...)` reads every shard of the kind and yields their
    items merged oldest first; `query("<kind>#<n>", ...)` reads that one partition."""
    Meta = index_meta("due", AllProjection())
    due_kind = UnicodeAttribute(hash_key=True)  # the stored value, as is
    due_at = UnicodeAttribute(range_key=True)

    def query(self, hash_key, range_key_condition=None, filter_condition=None, *args, limit=None, **kwargs):
        if SHARD in hash_key:
            return super().query(hash_key, range_key_condition, filter_condition, *args, limit=limit, **kwargs)
        if kwargs.get("last_evaluated_key") is not None or args:
            raise TypeError("a sharded due query is read through, never resumed from a key")
        shards = [super(DueIndex, self).query(partition, range_key_condition, filter_condition, limit=limit, **kwargs)
                  for partition in due_partitions(hash_key)]
        merged = heapq.merge(*shards, key=lambda item: item.due_at)
        return itertools.islice(merged, limit) if limit is not None else merged


class ShardedKindAttribute(UnicodeAttribute):
    """`due_kind`: written as `<kind>#<shard>` with a random shard below `settings.due_shards`
    (write sharding with a random suffix: the sweeps read every shard, nothing ever looks an item
    up by its shard); read back as the kind. A value that already names a shard is kept."""

    def serialize(self, value):
        if SHARD not in value:
            value = f"{value}{SHARD}{random.randrange(settings.get().due_shards)}"
        return super().serialize(value)

    def deserialize(self, value):
        return super().deserialize(value).split(SHARD, 1)[0]


class TimerModel(Model):
    """Something that must happen at `due_at` (reply deadlines, reminders, expiries...).
    While pending it carries `due_kind`/`due_at` and so sits in the sparse `due` index;
    acting on it removes them (conditionally), so two sweeps never act twice."""
    Meta = meta("timers")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    ref_id = UnicodeAttribute()
    data = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    stage = NumberAttribute(default=0)
    settled_at = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)  # what settling it did: sent | skipped | expired | ...
    due_kind = ShardedKindAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    due = DueIndex()
    version = VersionAttribute()


class PendingIndex(GlobalSecondaryIndex):
    Meta = index_meta("pending", AllProjection())
    pending = UnicodeAttribute(hash_key=True)
    retry_at = UnicodeAttribute(range_key=True)


class NotificationModel(Model):
    """The outbox: every email is recorded here before it is sent. `id` is a deterministic
    dedupe key, so recording the same notice twice is a no-op. Pending ones sit in the sparse
    `pending` index until sent; the deadlines sweep retries them."""
    Meta = meta("notifications")
    id = UnicodeAttribute(hash_key=True)
    template = UnicodeAttribute()
    to = UnicodeAttribute()  # an address; never logged
    params = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")  # pending | sent | dropped (moot)
    attempts = NumberAttribute(default=0)
    sent_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    pending = UnicodeAttribute(null=True)
    retry_at = UnicodeAttribute(null=True)
    moot_at = UnicodeAttribute(null=True)  # from then on it means nothing: dropped, never sent late
    guard = JSONAttribute(null=True)  # {"kind": "booking", "id", "version"}: checked before a retry
    pending_index = PendingIndex()


# --- credits and money ----------------------------------------------------------------------

class LedgerModel(Model):
    """Per client: credit usage counters (`usage#live#<period>`, `usage#messaging#all`) that are
    spent with conditions, and billing charges (`charge#<id>`)."""
    Meta = meta("ledger")
    client_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    used = NumberAttribute(null=True)
    amount_cents = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    ref_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)


class RevocationModel(Model):
    """Access that ended (SPEC Safety): tokens of `subject` (`sub:<sub>` or `user:<username>`)
    issued before `before` (epoch seconds) are refused. One small partition, read whole by each
    container at most once a minute; an item expires once every token it refuses has expired."""
    Meta = meta("revocations")
    scope = UnicodeAttribute(hash_key=True)  # "all"
    subject = UnicodeAttribute(range_key=True)
    before = NumberAttribute()
    reason = UnicodeAttribute()  # sign_out | AdminDisableUser | AdminDeleteUser | ...
    expires = TTLAttribute(null=True)


class IdempotencyModel(Model):
    """Powertools idempotency records (its own attribute names)."""
    Meta = meta("idempotency")
    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


# --- live sessions ---------------------------------------------------------------------------

class BookingsByClient(GlobalSecondaryIndex):
    Meta = index_meta("by_client", AllProjection())
    client_id = UnicodeAttribute(hash_key=True)
    starts_at = UnicodeAttribute(range_key=True)  # clock.sortable


class BookingsByProvider(GlobalSecondaryIndex):
    Meta = index_meta("by_provider", AllProjection())
    provider_id = UnicodeAttribute(hash_key=True)
    starts_at = UnicodeAttribute(range_key=True)


class BookingModel(Model):
    """A live session. `version` is bumped by every status change and is the optimistic lock
    each transition is conditioned on (a plain number, managed by the bookings store, so it can
    sit in transactions without PynamoDB's implicit version conditions). `series_id` is shared by
    a booking and its reschedules (the calendar UID); `sequence` is the last calendar SEQUENCE.
    `credit` says what the booking holds: `{"bucket"}` (a usage counter) or `{"purchased": true}`.
    Emails and zones are copied from the profiles so sweeps need no further reads."""
    Meta = meta("bookings")
    id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    modality = UnicodeAttribute()
    status = UnicodeAttribute()
    starts_at = UnicodeAttribute()  # clock.sortable (fixed width)
    ends_at = UnicodeAttribute()
    confirm_by = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()  # client | provider
    updated_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)
    last_request = UnicodeAttribute(null=True)  # the keyed request of its last change (request_key)
    series_id = UnicodeAttribute()
    sequence = NumberAttribute(default=0)
    rescheduled_to = UnicodeAttribute(null=True)
    rescheduled_from = UnicodeAttribute(null=True)
    plan_kind = UnicodeAttribute(null=True)
    price_cents = NumberAttribute(null=True)
    credit = JSONAttribute(null=True)
    claims = ListAttribute(of=UnicodeAttribute, default=list)
    client_email = UnicodeAttribute(null=True)
    provider_email = UnicodeAttribute(null=True)
    client_tz = UnicodeAttribute(null=True)
    provider_tz = UnicodeAttribute(null=True)
    client_joined_at = UnicodeAttribute(null=True)
    provider_joined_at = UnicodeAttribute(null=True)
    ended_by = UnicodeAttribute(null=True)
    cancel_reason = BinaryAttribute(null=True, legacy_encoding=False)  # sealed with the room's key; never logged, never emailed
    # clinical record: when the questionnaire was submitted, whether it raised risk (the provider
    # sees `risk_flag`), and whether the client rated the session (never the score, never when)
    questionnaire_at = UnicodeAttribute(null=True)
    risk_flag = BooleanAttribute(null=True)
    rated = BooleanAttribute(null=True)
    # a video or audio session's current Chime meeting: id, Chime's `Meeting` object, generation
    meeting_id = UnicodeAttribute(null=True)
    meeting = JSONAttribute(null=True)
    meeting_generation = NumberAttribute(null=True)
    by_client = BookingsByClient()
    by_provider = BookingsByProvider()


class ClaimModel(Model):
    """One member's 30-minute granule, taken by one booking (`<member id>#<granule>`). Created
    with `attribute_not_exists` in the same transaction as the booking: the one guard against
    double booking for create, reschedule and accept."""
    Meta = meta("claims")
    id = UnicodeAttribute(hash_key=True)
    booking_id = UnicodeAttribute()
    expires = TTLAttribute(null=True)


class LinkModel(Model):
    """An emailed action link. `id` is the SHA-256 of the token; the token itself is never stored."""
    Meta = meta("links")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # booking_response
    booking_id = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    used_at = UnicodeAttribute(null=True)
    used_action = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)


class AccessLogModel(Model):
    """Append-only record of every read of a client's clinical data by a provider (SPEC §2 Safety):
    who read what, when. Written with a condition and never updated or deleted (the IAM policy
    denies both on this table)."""
    Meta = meta("access_log")
    client_id = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)  # "<sortable time>#<random>": newest last
    reader_id = UnicodeAttribute()
    reader_role = UnicodeAttribute()
    room_id = UnicodeAttribute(null=True)
    booking_id = UnicodeAttribute(null=True)
    resource = UnicodeAttribute()  # messages | record | questionnaire | measures | journal | moods


# --- the clinical record ------------------------------------------------------------------------

class ClinicalByClient(GlobalSecondaryIndex):
    """A client's questionnaires, oldest first (sparse: only questionnaires carry `submitted_at`)."""
    Meta = index_meta("by_client", AllProjection())
    client_id = UnicodeAttribute(hash_key=True)
    submitted_at = UnicodeAttribute(range_key=True)


class ClinicalModel(Model):
    """The clinical record of a booking, as append-only entries: its questionnaire, the provider's
    acknowledgement of a risk alert, the session record, amendments and member notes. Every entry
    is created once (`attribute_not_exists`) and never updated or deleted (the functions' IAM
    role denies both on this table). `body` is sealed with the client's room key (purpose and
    booking in the encryption context); everything else is ids and times."""
    Meta = meta("clinical")
    booking_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # questionnaire | risk_ack | record | amendment#… | member_note#…
    kind = UnicodeAttribute()
    client_id = UnicodeAttribute()
    room_id = UnicodeAttribute()
    author_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()  # clock.sortable
    submitted_at = UnicodeAttribute(null=True)  # questionnaires only (the by_client index)
    body = BinaryAttribute(null=True, legacy_encoding=False)
    idem = UnicodeAttribute(null=True)  # SHA-256 of (author, route, Idempotency-Key) when one was sent
    # the session record only: the room's KMS-wrapped data key (never changes), so amendments,
    # notes and reads, which query the entries anyway, need not read the room for it
    key_blob = BinaryAttribute(null=True, legacy_encoding=False)
    by_client = ClinicalByClient()


class RatingQueueModel(Model):
    """A session score waiting to be folded into its provider's totals (SPEC §2 Ratings).

    Deliberately nothing but the provider and the score: no client id, no booking id, no time
    (not even a day), and a random id. Items are grouped in a few partitions (`shard`, derived
    from the provider id) so the daily sweep reads only the queue, never a Scan."""
    Meta = meta("rating_queue")
    shard = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)  # "<provider id>#<random 128 bits>"
    provider_id = UnicodeAttribute()
    score = NumberAttribute()


# --- matching ---------------------------------------------------------------------------------

class ListingsByOrder(GlobalSecondaryIndex):
    """A region's listings in the directory's order (the provider's `directory_order`). Global,
    not local: an existing table can gain a GSI in place, never an LSI."""
    Meta = index_meta("by_order", AllProjection())
    region = UnicodeAttribute(hash_key=True)
    order = UnicodeAttribute(range_key=True)


class ListingModel(Model):
    """One item per provider per licensed region: the index matching and the directory read
    candidates through (`region` = a licence, `GB` or `GB-SCT`; by provider id within it, for
    matching; `order`, the provider's `directory_order`, for the directory through `by_order`).
    Only active providers are listed; the items move in the transaction that changes the licences
    (or, for `order`, whether the provider is accepting)."""
    Meta = meta("listings")
    region = UnicodeAttribute(hash_key=True)
    provider_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    order = UnicodeAttribute(null=True)
    by_order = ListingsByOrder()


# --- care pathways: referral programs and session requests ------------------------------------

class ReferralsByCode(GlobalSecondaryIndex):
    Meta = index_meta("by_code", AllProjection())
    code_hash = UnicodeAttribute(hash_key=True)


class ReferralModel(Model):
    """A referral ("prescription") issued by ops. The code itself is never stored: `code_hash` is
    the SHA-256 of the normalized code (a reissue replaces it, so the old code is unknown from
    then on). `status` is `issued` or `redeemed` as stored; `expired` follows from `redeem_by`
    (sortable text) by the clock. `version` is a plain number each change is conditioned on."""
    Meta = meta("referrals")
    id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()  # never logged
    sessions = NumberAttribute()
    modalities = ListAttribute(of=UnicodeAttribute)
    referrer = UnicodeAttribute(null=True)
    provider_kind = UnicodeAttribute(default="therapist")
    status = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    redeem_by = UnicodeAttribute()  # clock.sortable
    reissued_at = UnicodeAttribute(null=True)
    code_hash = UnicodeAttribute()
    redeemed_by = UnicodeAttribute(null=True)
    redeemed_at = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    version = NumberAttribute(default=1)
    by_code = ReferralsByCode()


class RequestsByClient(GlobalSecondaryIndex):
    Meta = index_meta("by_client", AllProjection())
    client_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)  # clock.sortable


class RequestsByProvider(GlobalSecondaryIndex):
    Meta = index_meta("by_provider", AllProjection())
    provider_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class SessionRequestModel(Model):
    """A client's request for a session at one of three preferred times ("share your
    availability"). While `proposed`, its proposed times are held by claim items named after
    the request (`claims` lists every claim it holds, the client's one-open-request lock
    included). `note` and `decline_reason` are sealed with the request's own data key
    (`key_blob`, KMS-encrypted). `version` is the optimistic lock of every transition."""
    Meta = meta("session_requests")
    id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    modality = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()  # clock.sortable
    respond_by = UnicodeAttribute()
    preferred = JSONAttribute()  # [{"date", "part"}]
    client_tz = UnicodeAttribute()
    provider_tz = UnicodeAttribute()
    proposals = ListAttribute(of=UnicodeAttribute, default=list)  # clock.sortable starts
    proposed_at = UnicodeAttribute(null=True)
    accept_by = UnicodeAttribute(null=True)
    booking_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # declined | provider_unavailable
    ended_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    plan_kind = UnicodeAttribute(null=True)
    program_ends_at = UnicodeAttribute(null=True)
    claims = ListAttribute(of=UnicodeAttribute, default=list)
    key_blob = BinaryAttribute(null=True, legacy_encoding=False)
    note = BinaryAttribute(null=True, legacy_encoding=False)
    decline_reason = BinaryAttribute(null=True, legacy_encoding=False)
    version = NumberAttribute(default=1)
    by_client = RequestsByClient()
    by_provider = RequestsByProvider()


# --- between sessions and data rights (issue 15) ------------------------------------------------

class SharedJournalIndex(GlobalSecondaryIndex):
    Meta = index_meta("shared", AllProjection())
    shared_client_id = UnicodeAttribute(hash_key=True)  # only on shared journal entries (sparse)
    id = UnicodeAttribute(range_key=True)


class BetweenModel(Model):
    """What a client keeps between sessions, private to them: their own data key (`id` "key";
    providers have that item too, for their idempotency records),
    journal entries (`jr_<ms><hex>`) and mood check-ins (`md_<ms><hex>`), ids in time order.
    Free text (`body`: an entry's text, a mood's note) is encrypted with the client's data key.
    A journal entry the client shares also carries `shared_client_id`, which puts it in the
    sparse `shared` index the provider reads."""
    Meta = meta("between")
    client_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # key | journal | mood
    created_at = UnicodeAttribute(null=True)
    body = BinaryAttribute(null=True, legacy_encoding=False)
    key_blob = BinaryAttribute(null=True, legacy_encoding=False)  # the client's data key, KMS-encrypted
    shared = BooleanAttribute(null=True)
    shared_client_id = UnicodeAttribute(null=True)
    score = NumberAttribute(null=True)
    emotions = ListAttribute(of=UnicodeAttribute, null=True)
    shared_index = SharedJournalIndex()


class RoomWorkModel(Model):
    """Goals (`gl_<ms><hex>`) and homework (`hw_<ms><hex>`) of a room. Their words (`body`: JSON
    of title and instructions) are encrypted with the room's key; dates and statuses are not."""
    Meta = meta("room_work")
    room_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # goal | homework
    client_id = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    body = BinaryAttribute(null=True, legacy_encoding=False)
    due = UnicodeAttribute(null=True)  # a local date, YYYY-MM-DD
    status = UnicodeAttribute()  # open | done
    done_at = UnicodeAttribute(null=True)
    reminder_at = UnicodeAttribute(null=True)  # homework: when its reminder is (or was) due


class ExportModel(Model):
    """A client's data export (`ex_<ms><hex>`), plus one `active` item per client while an export
    is being prepared (created with `attribute_not_exists`: one export at a time)."""
    Meta = meta("exports")
    client_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(null=True)  # preparing | ready | expired
    created_at = UnicodeAttribute(null=True)
    export_id = UnicodeAttribute(null=True)  # on the `active` item: the export holding it
    object_key = UnicodeAttribute(null=True)
    ready_at = UnicodeAttribute(null=True)
    available_until = UnicodeAttribute(null=True)
    size_bytes = NumberAttribute(null=True)
    building_until = UnicodeAttribute(null=True)  # a builder's lease (SQS may deliver twice)
    deleted_at = UnicodeAttribute(null=True)


ALL_MODELS: list[type[Model]] = [
    UserModel, RoomModel, MessageModel, MediaModel, TimerModel, NotificationModel,
    LedgerModel, IdempotencyModel, BookingModel, ClaimModel, LinkModel, AccessLogModel, RevocationModel,
    ClinicalModel, RatingQueueModel, ListingModel, ReferralModel, SessionRequestModel,
    BetweenModel, RoomWorkModel, ExportModel,
]
