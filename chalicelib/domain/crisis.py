"""Crisis resources by region (`GET /crisis-resources`, the out-of-hours system message, and
the PHQ-9 item 9 answer).

Haven is not a crisis service; these are the numbers to call instead. A region is looked up
by its country (`US-NY` → `US`); an unknown or missing region gets the default list, which
always points to the local emergency number and an international helpline directory.
Each call returns fresh dicts, so a caller may add to its answer without changing ours.
"""
from __future__ import annotations

import copy

# Each resource: name, phone (what to dial, or None), optional text (what to text),
# optional url, description (for a person in distress: short and plain).
_RESOURCES: dict[str, list[dict]] = {
    "US": [
        {
            "name": "988 Suicide & Crisis Lifeline",
            "phone": "988",
            "text": "988",
            "url": "https://988lifeline.org",
            "description": "Call or text 988, any time, free and confidential.",
        },
        {
            "name": "Emergency services",
            "phone": "911",
            "description": "If you or someone else is in immediate danger, call 911.",
        },
    ],
    "GB": [
        {
            "name": "Samaritans",
            "phone": "116 123",
            "url": "https://www.samaritans.org",
            "description": "Call 116 123, any time, free, to talk to someone who will listen.",
        },
        {
            "name": "NHS 111",
            "phone": "111",
            "url": "https://111.nhs.uk",
            "description": "Urgent mental health help: call 111 and choose the mental health option.",
        },
        {
            "name": "Emergency services",
            "phone": "999",
            "description": "If you or someone else is in immediate danger, call 999.",
        },
    ],
}

_DEFAULT: list[dict] = [
    {
        "name": "Local emergency services",
        "phone": None,
        "description": "If you or someone else is in immediate danger, call your local emergency number (112 in much of the world).",
    },
    {
        "name": "Find a Helpline",
        "phone": None,
        "url": "https://findahelpline.com",
        "description": "Free, confidential crisis lines in your country, by phone, text or chat.",
    },
]

# One clause for a sentence like "If you need help now, <clause>" in a room's system message.
_SUMMARIES = {
    "US": "call or text 988 (988 Suicide & Crisis Lifeline); in an emergency, call 911.",
    "GB": "call Samaritans on 116 123 or NHS 111 (mental health option); in an emergency, call 999.",
}
_DEFAULT_SUMMARY = "call your local emergency number, or find a helpline at https://findahelpline.com."

# Names people use that are not the ISO code.
_ALIASES = {"UK": "GB"}


def country_of(region: str | None) -> str | None:
    """`us-ny` → `US`; None when no region is given."""
    if not isinstance(region, str) or not region.strip():
        return None
    country = region.strip().upper().split("-", 1)[0]
    return _ALIASES.get(country, country)


def resources_for(region: str | None) -> dict:
    """`{"region": <country code or None>, "resources": [...]}` for `region`.

    `region` is the country whose list was used ("US" for "US-NY"), or None when the default
    list was given (no region, or one without a list of its own).
    """
    country = country_of(region)
    if country in _RESOURCES:
        return {"region": country, "resources": copy.deepcopy(_RESOURCES[country])}
    return {"region": None, "resources": copy.deepcopy(_DEFAULT)}


def summary_line(region: str | None) -> str:
    """The resources for `region` as one lowercase clause ending in a full stop, to follow
    "If you need help now, " in a system message."""
    return _SUMMARIES.get(country_of(region) or "", _DEFAULT_SUMMARY)


def regions_covered() -> tuple[str, ...]:
    """Countries with their own list (the rest get the default)."""
    return tuple(sorted(_RESOURCES))
