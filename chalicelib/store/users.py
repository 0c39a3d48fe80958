"""Clients and providers."""
from __future__ import annotations

from typing import Iterable

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain import profiles
from chalicelib.store.base import batch_get
from chalicelib.store.models import UserModel
from chalicelib.store.unit_of_work import UnitOfWork

ACTIVE_PROVIDER = "provider"            # the `directory` partition of active providers
INACTIVE_PROVIDER = "inactive_provider"  # ... and of deactivated ones (out of the directory)


def get(user_id: str | None) -> UserModel | None:
    if not user_id:  # e.g. the provider of a room whose client waits for a new one
        return None
    try:
        return UserModel.get(user_id)
    except DoesNotExist:
        return None


def get_many(ids: Iterable[str], chunk: int = 100) -> dict[str, UserModel]:
    """Users by id, in BatchGetItem calls of up to `chunk` keys; missing ids are absent."""
    wanted = list(dict.fromkeys(i for i in ids if i))
    found: dict[str, UserModel] = {}
    for start in range(0, len(wanted), chunk):
        found.update(batch_get({UserModel: wanted[start:start + chunk]})[UserModel])
    return found


def email_key(email: str | None) -> str | None:
    return email.strip().lower() if email and email.strip() else None


def clients_by_email(email: str) -> list[UserModel]:
    """Clients registered with this email, ignoring case: one Query of the `by_email` index."""
    key = email_key(email)
    if key is None:
        return []
    return [u for u in UserModel.by_email.query(key) if u.role == "client"]


def directory_page(limit: int, after: str | None, condition=None,
                   partition: str = ACTIVE_PROVIDER) -> tuple[list[UserModel], str | None]:
    """Up to `limit` listed providers matching `condition`, in the directory's order (accepting
    first, then by name, then id: `directory_order`); and the order key to continue after."""
    last_key = {"directory": {"S": partition}, "directory_order": {"S": after},
                "id": {"S": profiles.id_of_directory_order(after)}} if after else None
    items: list[UserModel] = []
    query = UserModel.directory_order_index.query(
        partition, filter_condition=condition, last_evaluated_key=last_key, page_size=max(limit, 25))
    for user in query:
        items.append(user)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].directory_order if more and items else None)


def providers_page(partitions: tuple[str, ...], limit: int, start_id: str | None) -> tuple[list[UserModel], str | None]:
    """Providers of the given `directory` partitions (active, inactive or both), merged by id."""
    import heapq

    def stream(partition):
        last_key = {"directory": {"S": partition}, "id": {"S": start_id}} if start_id else None
        return UserModel.directory_index.query(partition, last_evaluated_key=last_key, page_size=limit + 1)

    items: list[UserModel] = []
    for user in heapq.merge(*(stream(p) for p in partitions), key=lambda u: u.id):
        items.append(user)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].id if more and items else None)


# --- the active-client count: moved with the assignment, conditionally ----------------------------

def has_a_place():
    """The condition of taking a client: active, accepting (not stored counts as accepting) and
    active clients below capacity (none stored counts as 0)."""
    accepting = (UserModel.accepting == True) | UserModel.accepting.does_not_exist()  # noqa: E712
    below = (UserModel.active_clients < UserModel.capacity) | (
        UserModel.active_clients.does_not_exist() & (UserModel.capacity > 0))
    return (UserModel.active == True) & accepting & below  # noqa: E712


def stage_take_place(uow: UnitOfWork, provider: UserModel, *, enforce_capacity: bool = True) -> None:
    """One more active client for `provider` (a loaded item: its version moves on, unchecked).
    Refused unless they have a place, or, when ops force it, at least unless they are inactive."""
    condition = has_a_place() if enforce_capacity else (UserModel.active == True)  # noqa: E712
    uow.update(provider, [UserModel.active_clients.add(1)], condition, add_version_condition=False)


def stage_leave_place(uow: UnitOfWork, provider: UserModel) -> None:
    uow.update(provider, [UserModel.active_clients.add(-1)], UserModel.id.exists(), add_version_condition=False)
