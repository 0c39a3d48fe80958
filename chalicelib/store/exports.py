"""Data exports (the `exports` table): one item per export, and while one is being prepared an
`active` item in the client's partition that makes exports one at a time."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.models import ExportModel
from chalicelib.store.unit_of_work import UnitOfWork

ACTIVE = "active"
PREFIX = "ex_"
EXPIRY_KIND = "export_expiry"  # the discharges sweep deletes an export 7 days after it was ready


def get(client_id: str, export_id: str) -> ExportModel | None:
    if not isinstance(export_id, str) or not export_id.startswith(PREFIX):
        return None
    try:
        return ExportModel.get(client_id, export_id, consistent_read=True)
    except DoesNotExist:
        return None


def stage_start(uow: UnitOfWork, export: ExportModel, taken_at: str, stale_before: str) -> None:
    """Create the export and take the client's `active` item (`taken_at`, `stale_before`: sortable
    times): refused while another export holds it, unless that one has been preparing since before
    `stale_before` (its builder gave up: the dead-letter queue has its message)."""
    lock = ExportModel(export.client_id, ACTIVE, export_id=export.id, created_at=taken_at)
    uow.create(lock, ExportModel.id.does_not_exist() | (ExportModel.created_at < stale_before))
    uow.create(export, ExportModel.id.does_not_exist())


def release(client_id: str, export_id: str) -> None:
    """Give up the `active` item if this export still holds it (a stale one may have been taken
    over by a newer export, whose item stays)."""
    from pynamodb.exceptions import DeleteError

    from chalicelib.store.errors import condition_failed

    try:
        ExportModel(client_id, ACTIVE).delete(condition=ExportModel.export_id == export_id)
    except DeleteError as error:
        if not condition_failed(error):
            raise


def holder(client_id: str) -> str | None:
    try:
        return ExportModel.get(client_id, ACTIVE, consistent_read=True).export_id
    except DoesNotExist:
        return None
