"""The container: adapters built lazily, once per container (tests swap them with `override`),
and the handlers of domain events (`subscribe` / `publish`).

Nothing here runs at import time: no boto3 client exists until a route needs it, and no module
registers anything when imported. `chalicelib.bootstrap.start` (called by the entry points) is
the composition root that subscribes the services' handlers and hands the outbox its channels;
this module imports adapters only, never a service, so no import circle can close through it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from chalicelib import settings as _settings
from chalicelib.clock import utc_now

_lock = threading.RLock()
_built: dict[str, Any] = {}
_overrides: dict[str, Any] = {}
_factories: dict[str, Callable[[], Any]] = {}
_handlers: dict[str, list[Callable[..., Any]]] = {}


def provides(name: str):
    def register(factory: Callable[[], Any]):
        _factories[name] = factory
        return factory
    return register


def get(name: str) -> Any:
    if name in _overrides:
        return _overrides[name]
    built = _built.get(name)
    if built is not None:
        return built
    with _lock:
        if name not in _built:
            _built[name] = _factories[name]()
        return _built[name]


def override(name: str, value: Any) -> None:
    _overrides[name] = value


def reset() -> None:
    """Forget every built adapter and override (tests, after the environment changes)."""
    with _lock:
        _built.clear()
        _overrides.clear()
        _settings.get.cache_clear()


def subscribe(event: str, handler: Callable[..., Any]) -> None:
    """Call `handler` on every `publish(event, ...)`, in subscription order (once per handler)."""
    handlers = _handlers.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event: str, handler: Callable[..., Any]) -> None:
    handlers = _handlers.get(event, [])
    if handler in handlers:
        handlers.remove(handler)


def publish(event: str, *args, **kwargs) -> None:
    for handler in _handlers.get(event, ()):
        handler(*args, **kwargs)


def settings() -> _settings.Settings:
    """This container's settings (tests may inject a variant with `override("settings", ...)`)."""
    return _overrides.get("settings") or _settings.get()


def clock() -> Callable[[], Any]:
    return _overrides.get("clock", utc_now)


# Services whose client needs what boto3 adds to botocore's (S3's `generate_presigned_post`).
BOTO3_ONLY = frozenset({"s3"})


def boto_client(service: str, region: str | None = None):
    """One client per service per container (clients are thread safe): botocore's (boto3's
    import, s3transfer and all, is paid only for S3, whose presigned POST boto3 adds), all made from
    ONE botocore session — the one PynamoDB's tables use — so the service models and endpoint
    data are loaded from disk once per container, not once per client (tens of ms each)."""
    key = f"client:{service}" + (f"@{region}" if region else "")
    if key in _overrides:
        return _overrides[key]
    if key not in _built:
        with _lock:
            if key not in _built:
                from botocore.config import Config

                from chalicelib.store.base import shared_session

                s = settings()
                core = shared_session()
                options = dict(region_name=region or s.region, endpoint_url=s.endpoint_url,
                               config=Config(retries={"mode": "standard", "max_attempts": 3},
                                             signature_version="s3v4" if service == "s3" else None))
                if service not in BOTO3_ONLY:  # botocore's own client: importing boto3 costs ~200 ms
                    _built[key] = core.create_client(service, **options)
                else:
                    import boto3

                    # one boto3 session per botocore session: boto3 registers its handlers on creation
                    session = getattr(core, "_haven_boto3", None)
                    if session is None:
                        session = core._haven_boto3 = boto3.session.Session(botocore_session=core)
                    _built[key] = session.client(service, **options)
    return _built[key]


@provides("tokens")
def _tokens():
    from chalicelib.adapters.tokens import TokenVerifier

    s = settings()
    return TokenVerifier(s.jwks_url, s.issuer, s.user_pool_client_id, s.jwks_cache_seconds)


@provides("signing_key")
def _signing_key() -> bytes:
    s = settings()
    value = boto_client("ssm").get_parameter(Name=s.signing_key_parameter, WithDecryption=True)
    return value["Parameter"]["Value"].encode()


@provides("cursors")
def _cursors():
    from chalicelib.adapters.cursors import CursorSigner

    return CursorSigner(lambda: get("signing_key"))


@provides("cipher")
def _cipher():
    from chalicelib.adapters.crypto import MessageCipher
    from chalicelib.store import rooms

    s = settings()
    return MessageCipher(lambda: boto_client("kms"), s.kms_key_id, rooms.RoomKeys(),
                         max_age=s.data_key_cache_seconds, capacity=s.data_key_cache_rooms)


@provides("note_cipher")
def _note_cipher():
    from chalicelib.adapters.crypto import NoteCipher
    from chalicelib.store import session_requests

    s = settings()
    return NoteCipher(lambda: boto_client("kms"), s.kms_key_id, session_requests.RequestKeys(),
                      max_age=s.data_key_cache_seconds, capacity=s.data_key_cache_rooms)


@provides("user_cipher")
def _user_cipher():
    """What a user keeps to themselves is sealed with their own data key, not a room's: a
    client's journal entries and mood notes (they belong to no room and outlive a change of
    provider), and anyone's answers kept for Idempotency-Key retries (SPEC §2: idempotency
    records are encrypted too). Callers name each body's purpose."""
    from chalicelib.adapters.crypto import UserCipher

    s = settings()
    return UserCipher(lambda: boto_client("kms"), s.kms_key_id, get("user_keys"), max_age=s.data_key_cache_seconds,
                      capacity=s.data_key_cache_rooms)


@provides("user_keys")
def _user_keys():
    from chalicelib.store.between import UserKeys

    return UserKeys(capacity=settings().data_key_cache_rooms)


@provides("speech")
def _speech():
    from chalicelib.adapters.speech import Speech

    return Speech(lambda: boto_client("polly"))


@provides("export_queue")
def _export_queue():
    from chalicelib.adapters.queue import WorkQueue

    return WorkQueue(lambda: boto_client("sqs"), settings().exports_queue_url)


@provides("cognito")
def _cognito():
    from chalicelib.adapters.cognito import CognitoAdmin

    s = settings()
    return CognitoAdmin(boto_client("cognito-idp"), s.user_pool_id, s.mfa_cache_seconds)


@provides("mailer")
def _mailer():
    from chalicelib.adapters.mail import SesMailer

    s = settings()
    return SesMailer(boto_client("ses"), s.mail_sender)


@provides("media")
def _media():
    from chalicelib.adapters.media import MediaStore

    s = settings()
    return MediaStore(boto_client("s3"), s.bucket, s.kms_key_id)


@provides("idempotency_store")
def _idempotency_store():
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from chalicelib.store.base import dynamodb_client

    return DynamoDBPersistenceLayer(table_name=settings().table("idempotency"), boto3_client=dynamodb_client())


@provides("revocations")
def _revocations():
    from chalicelib.store.revocations import Revocations

    return Revocations(refresh_seconds=settings().revocation_refresh_seconds)


@provides("video")
def _video():
    from chalicelib.adapters.video import JoinLinks

    return JoinLinks(settings().public_base_url, lambda: get("signing_key"))


@provides("meetings")
def _meetings():
    """Chime SDK meetings (`HAVEN_MEETINGS=chime`) or the local stand-in (`standin`), which reports
    each attendee-joined event to the `meeting_event` handlers (the ones EventBridge invokes)."""
    from chalicelib.adapters import meetings

    s = settings()
    if s.meetings == "chime":
        return meetings.ChimeMeetings(lambda: meetings_client(), s.meetings_media_region)

    def report_error(error: Exception, event: dict) -> None:
        from chalicelib.observability import logger

        logger.error("stand-in meeting event not handled",
                     extra={"event_type": event["detail"].get("eventType"), "error": type(error).__name__,
                            "booking_id": event["detail"].get("externalMeetingId")})

    return meetings.LocalMeetings(s.meetings_media_region, s.meetings_region,
                                  report=lambda event: publish("meeting_event", event),
                                  clock=lambda: clock()(), on_report_error=report_error)


def meetings_client():
    """The `chime-sdk-meetings` client. Deployed: the container's shared session, in the Chime
    control region. A local stack pointed at a real Chime account (`HAVEN_MEETINGS=chime`) reaches
    AWS itself, never the emulator, with the credentials of `HAVEN_MEETINGS_AWS_PROFILE`."""
    key = "client:chime-sdk-meetings"
    if key in _overrides:
        return _overrides[key]
    s = settings()
    if not s.endpoint_url and not s.meetings_profile:
        return boto_client("chime-sdk-meetings", region=s.meetings_region)
    if key not in _built:
        with _lock:
            if key not in _built:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(profile_name=s.meetings_profile or None)
                _built[key] = session.client(
                    "chime-sdk-meetings", region_name=s.meetings_region,
                    config=Config(retries={"mode": "standard", "max_attempts": 3},
                                  ignore_configured_endpoint_urls=True))
    return _built[key]


@provides("before_booking_commit")
def _no_hook():
    """Called between a booking change's reads and its transaction; tests override it to force a
    competing write into exactly that gap."""
    return lambda stage, **info: None


@provides("before_match_commit")
def _no_match_hook():
    """Called between a change of provider's reads and its transaction (tests force a competing
    match into exactly that gap)."""
    return lambda **info: None
