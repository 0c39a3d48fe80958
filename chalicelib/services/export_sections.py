"""The sections of a data export beyond the built-in ones: a small registry other areas add to.

A data export (SPEC §2 Data rights) must hold everything Haven keeps about a client, and
areas are added by different hands (session requests, clinical records, questionnaires,
measures, ratings). Each adds its own section here instead of the builder importing them:

    # in chalicelib/bootstrap.py, inside start() (nothing registers itself on import):
    export_sections.register("records", "chalicelib.services.records:export_section")

A section is `write(ctx: ExportContext) -> None` (a callable, or "module:function" imported
only when an export is built, so API cold starts never pay for it). It writes its own JSON
files through `ctx.json(name, value, description)` or, for long lists, `ctx.items(name,
iterable, description)` (streamed item by item), and may read `ctx.client_id`, `ctx.client`
(the user item), `ctx.rooms` (the client's rooms) and `ctx.now`. Every file it writes is
listed in the archive's `manifest.json`. A section that raises fails the whole export (the
queue retries it; an incomplete copy would not be everything Haven holds).

This module imports nothing of the services, so anyone may import it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable

_registered: dict[str, "Callable | str"] = {}


def register(name: str, write: "Callable[[ExportContext], None] | str") -> None:
    """Add (or replace) the section `name`; sections are written in registration order."""
    _registered[name] = write


def registered() -> list[tuple[str, Callable]]:
    out = []
    for name, write in _registered.items():
        if isinstance(write, str):
            module, _, function = write.partition(":")
            write = getattr(importlib.import_module(module), function)
        out.append((name, write))
    return out


def unregister(name: str) -> None:
    _registered.pop(name, None)


@dataclass
class ExportContext:
    """What a section writes into, and what it may read. `files` feeds `manifest.json`."""
    archive: Any  # adapters.export_zip.ExportZip
    client_id: str
    client: Any  # store.models.UserModel
    rooms: list
    now: Any  # datetime
    export_id: str

    def __post_init__(self):
        self.files: list[dict] = []

    def json(self, name: str, value: Any, description: str) -> None:
        self.archive.write_json(name, value)
        entry = {"name": name, "description": description}
        if isinstance(value, list):
            entry["items"] = len(value)
        self.files.append(entry)

    def items(self, name: str, iterable: Iterable[Any], description: str) -> int:
        count = self.archive.write_json_items(name, iterable)
        self.files.append({"name": name, "description": description, "items": count})
        return count

    def stream(self, name: str, body, size: int | None, description: str, content_type: str | None = None) -> int:
        copied = self.archive.write_stream(name, body, size=size)
        entry = {"name": name, "description": description, "bytes": copied}
        if content_type:
            entry["content_type"] = content_type
        self.files.append(entry)
        return copied
