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
_YEAR_PATTERN = "^(19|20)[0-9]{2}-"  # the same range in the document (years 1900..2099)
from chalicelib.errors import ValidationError  # noqa: E402

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
    enum: tuple | Callable[[], tuple] | None = None  # a callable: read on first use (not at import)
    pattern: str | None = None
    items: "Field | None" = None
    model: "Model | None" = None
    check: Callable[[Any], Any] | None = None  # returns the cleaned value or raises ValueError
    description: str = ""
    default: Any = _MISSING
    message: str = ""  # what a refused enum or pattern says (instead of listing a long enum)
    format: str | None = None  # documented only (e.g. `uri`), for response fields

    def choices(self) -> tuple:
        return self.enum() if callable(self.enum) else self.enum

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
            schema = {"type": "string", "format": "date", "pattern": _YEAR_PATTERN}
        elif self.type == "datetime":
            schema = {"type": "string", "format": "date-time", "pattern": _YEAR_PATTERN}
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
            # OpenAPI 3.0: a nullable enum lists null among its values, or null is not valid.
            schema["enum"] = list(self.choices()) + ([None] if self.nullable else [])
        if self.pattern is not None:
            schema["pattern"] = f"^(?:{self.pattern})$"  # the server matches the whole value
        if self.format is not None:
            schema["format"] = self.format
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
                    raise ValidationError(f"`{name}`: {self.message}" if self.message else
                                          f"`{name}` is not in the expected format.", details={"field": name})
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
        if self.enum is not None and value not in self.choices():
            if self.message:
                raise ValidationError(f"`{name}`: {self.message}", details={"field": name})
            allowed = ", ".join(str(e) for e in self.choices())
            raise ValidationError(f"`{name}` must be one of: {allowed}.", details={"field": name})
        if self.check is not None:
            try:
                value = self.check(value)
            except ValueError as exc:
                raise ValidationError(f"`{name}`: {exc}", details={"field": name})
        return value


@dataclass(frozen=True)
class Variant:
    """One allowed shape of a body, for rules across fields (`oneOf` in the document): when the
    fields in `when` hold one of the listed values, `required` must be present and `absent` left
    out. `fields` narrows other fields for this shape in the document only; the service enforces
    those with its own error codes (e.g. `media_mismatch`, `too_large`)."""
    message: str
    field: str
    required: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    when: tuple[tuple[str, tuple], ...] = ()
    fields: tuple[tuple[str, Field], ...] = ()
    title: str = ""

    def applies(self, data: dict) -> bool:
        return all(data.get(name) in values for name, values in self.when)

    def holds(self, data: dict) -> bool:
        return (self.applies(data) and all(name in data for name in self.required)
                and not any(name in data for name in self.absent))

    def json_schema(self) -> dict:
        schema: dict = {"type": "object"}
        if self.title:
            schema["title"] = self.title
        properties = {name: {"enum": list(values)} for name, values in self.when}
        properties.update({name: spec.json_schema() for name, spec in self.fields})
        if properties:
            schema["properties"] = properties
        required = [*(name for name, _ in self.when), *self.required]
        if required:
            schema["required"] = required
        if self.absent:
            schema["not"] = {"anyOf": [{"required": [name]} for name in self.absent]}
        return schema


class Model:
    """A named set of fields; `validate` returns a plain dict of cleaned values.

    `one_of`: the body must take exactly one of these shapes (checked here, `oneOf` in the
    document). `extensible`: a response model, whose objects may gain fields (no
    `additionalProperties: false`); request models are closed (unknown fields → 400)."""

    def __init__(self, model_name: str, /, *, one_of: tuple[Variant, ...] = (), extensible: bool = False,
                 **fields: Field):
        self.name = model_name
        self.fields = fields
        self.one_of = one_of
        self.extensible = extensible

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
        if self.one_of and sum(v.holds(data) for v in self.one_of) != 1:
            fitting = [v for v in self.one_of if v.applies(data)]
            variant = fitting[0] if len(fitting) == 1 else self.one_of[0]
            raise ValidationError(variant.message, details={"field": prefix + variant.field})
        return out

    def json_schema(self) -> dict:
        schema: dict = {"type": "object"}
        if not self.extensible:
            schema["additionalProperties"] = False
        schema["properties"] = {name: spec.json_schema() for name, spec in self.fields.items()}
        required = [name for name, spec in self.fields.items() if spec.required]
        if required:
            schema["required"] = required
        if self.one_of:
            schema["oneOf"] = [variant.json_schema() for variant in self.one_of]
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
