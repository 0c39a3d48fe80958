"""Request models: validation and their JSON Schema from one declaration.

A tiny declarative layer instead of a heavy library: it keeps cold starts small and gives
exactly the errors SPEC §3 asks for (unknown fields, wrong types, out of range → 400
`validation_error` naming the field). `Model.json_schema()` feeds the OpenAPI document.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from chalicelib.clock import parse_iso

# Every date Haven takes lies in this range (birth dates, plan anchors, session times, list bounds):
# arithmetic on a year-9999 date overflows, and no real request needs one.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 1, 1)
from chalicelib.errors import ValidationError

_MISSING = object()


@dataclass
class Field:
    type: str  # string | integer | boolean | array | object | date | datetime
    required: bool = True
    nullable: bool = False
    min: int | None = None
    max: int | None = None
    min_len: int | None = None
    max_len: int | None = None
    enum: tuple | None = None
    pattern: str | None = None
    items: "Field | None" = None
    model: "Model | None" = None
    check: Callable[[Any], Any] | None = None  # returns the cleaned value or raises ValueError
    description: str = ""
    default: Any = _MISSING

    def json_schema(self) -> dict:
        if self.type == "object" and self.model is not None:
            schema = self.model.json_schema()
        elif self.type == "array":
            schema = {"type": "array", "items": self.items.json_schema() if self.items else {}}
            if self.min_len is not None:
                schema["minItems"] = self.min_len
            if self.max_len is not None:
                schema["maxItems"] = self.max_len
        elif self.type == "date":
            schema = {"type": "string", "format": "date"}
        elif self.type == "datetime":
            schema = {"type": "string", "format": "date-time"}
        else:
            schema = {"type": self.type}
            if self.min_len is not None:
                schema["minLength"] = self.min_len
            if self.max_len is not None:
                schema["maxLength"] = self.max_len
        if self.min is not None:
            schema["minimum"] = self.min
        if self.max is not None:
            schema["maximum"] = self.max
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.nullable:
            schema["nullable"] = True
        if self.description:
            schema["description"] = self.description
        return schema

    def clean(self, name: str, value: Any) -> Any:
        if value is None:
            if self.nullable:
                return None
            raise ValidationError(f"`{name}` must not be null.", details={"field": name})
        kind = self.type
        if kind in ("string", "date", "datetime"):
            if not isinstance(value, str):
                raise ValidationError(f"`{name}` must be a string.", details={"field": name})
            if kind == "string":
                if self.min_len is not None and len(value) < self.min_len:
                    raise ValidationError(
                        f"`{name}` must be at least {self.min_len} character(s) long.", details={"field": name})
                if self.max_len is not None and len(value) > self.max_len:
                    raise ValidationError(
                        f"`{name}` must be at most {self.max_len} characters long.", details={"field": name})
                if self.pattern is not None and not re.fullmatch(self.pattern, value):
                    raise ValidationError(f"`{name}` is not in the expected format.", details={"field": name})
            elif kind == "date":
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    raise ValidationError(f"`{name}` must be a date like 1990-04-21.", details={"field": name})
                if not EARLIEST_DATE <= value < LATEST_DATE:
                    raise ValidationError(f"`{name}` must be between {EARLIEST_DATE} and {LATEST_DATE}.",
                                          details={"field": name})
            else:
                try:
                    value = parse_iso(value)
                except (ValueError, OverflowError):
                    raise ValidationError(
                        f"`{name}` must be an ISO 8601 time with an offset, like 2026-01-05T09:00:00Z.",
                        details={"field": name})
                if not EARLIEST_DATE <= value.date() < LATEST_DATE:
                    raise ValidationError(f"`{name}` must be between {EARLIEST_DATE} and {LATEST_DATE}.",
                                          details={"field": name})
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"`{name}` must be a whole number.", details={"field": name})
            if self.min is not None and value < self.min:
                raise ValidationError(f"`{name}` must be at least {self.min}.", details={"field": name})
            if self.max is not None and value > self.max:
                raise ValidationError(f"`{name}` must be at most {self.max}.", details={"field": name})
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise ValidationError(f"`{name}` must be true or false.", details={"field": name})
        elif kind == "array":
            if not isinstance(value, list):
                raise ValidationError(f"`{name}` must be a list.", details={"field": name})
            if self.min_len is not None and len(value) < self.min_len:
                raise ValidationError(f"`{name}` needs at least {self.min_len} item(s).", details={"field": name})
            if self.max_len is not None and len(value) > self.max_len:
                raise ValidationError(f"`{name}` may have at most {self.max_len} items.", details={"field": name})
            if self.items is not None:
                value = [self.items.clean(f"{name}[{i}]", item) for i, item in enumerate(value)]
        elif kind == "object":
            value = self.model.validate(value, prefix=f"{name}.")
        if self.enum is not None and value not in self.enum:
            allowed = ", ".join(str(e) for e in self.enum)
            raise ValidationError(f"`{name}` must be one of: {allowed}.", details={"field": name})
        if self.check is not None:
            try:
                value = self.check(value)
            except ValueError as exc:
                raise ValidationError(f"`{name}`: {exc}", details={"field": name})
        return value


class Model:
    """A named set of fields; `validate` returns a plain dict of cleaned values."""

    def __init__(self, model_name: str, /, **fields: Field):
        self.name = model_name
        self.fields = fields

    def validate(self, data: Any, prefix: str = "") -> dict:
        if not isinstance(data, dict):
            raise ValidationError(f"{prefix.rstrip('.') or 'The body'} must be a JSON object.")
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            names = ", ".join(f"`{prefix}{n}`" for n in unknown)
            raise ValidationError(f"Unknown field(s): {names}.", details={"fields": [prefix + n for n in unknown]})
        out = {}
        for name, spec in self.fields.items():
            if name not in data:
                if spec.required:
                    raise ValidationError(f"`{prefix}{name}` is required.", details={"field": prefix + name})
                if spec.default is not _MISSING:
                    out[name] = spec.default
                continue
            out[name] = spec.clean(prefix + name, data[name])
        return out

    def json_schema(self) -> dict:
        schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: spec.json_schema() for name, spec in self.fields.items()},
        }
        required = [name for name, spec in self.fields.items() if spec.required]
        if required:
            schema["required"] = required
        return schema


class Query(Model):
    """Query-string parameters: every value arrives as text and is converted first."""

    def validate(self, data: Any, prefix: str = "") -> dict:
        converted = {}
        for key, value in (data or {}).items():
            spec = self.fields.get(key)
            if spec is not None and spec.type == "integer":
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ValidationError(f"`{key}` must be a whole number.", details={"field": key})
            elif spec is not None and spec.type == "boolean":
                value = {"true": True, "false": False}.get(str(value).lower(), value)
            converted[key] = value
        return super().validate(converted, prefix)

    def parameters(self) -> list[dict]:
        return [
            {"name": name, "in": "query", "required": spec.required, "schema": spec.json_schema()}
            for name, spec in self.fields.items()
        ]


def page_query(**extra: Field) -> Query:
    """`?limit=` (1..100, default 50) and `?next=` plus any filters."""
    from chalicelib import settings

    s = settings.get()
    return Query(
        "Page",
        limit=Field("integer", required=False, min=1, max=s.page_max, default=s.page_default),
        next=Field("string", required=False, max_len=4096, default=None),
        **extra,
    )
