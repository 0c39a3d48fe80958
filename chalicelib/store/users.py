"""Clients and providers."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.models import UserModel


def get(user_id: str) -> UserModel | None:
    try:
        return UserModel.get(user_id)
    except DoesNotExist:
        return None


def directory_page(limit: int, start_id: str | None, condition=None) -> tuple[list[UserModel], str | None]:
    """Up to `limit` listed providers matching `condition`, by id; and the id to continue after."""
    last_key = {"directory": {"S": "provider"}, "id": {"S": start_id}} if start_id else None
    items: list[UserModel] = []
    query = UserModel.directory_index.query(
        "provider", filter_condition=condition, last_evaluated_key=last_key, page_size=max(limit, 25))
    for user in query:
        items.append(user)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].id if more and items else None)
