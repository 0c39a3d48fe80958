"""Profile checks: age, time zones, regions, languages, and media content types.

Used when clients register (`POST /clients/me`: adults only, an IANA time zone, a region
like `GB` or `US-NY`, languages like `en` or `pt-BR`), when ops create providers, and
when media is uploaded (content types compare without parameters).
"""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

# ISO 3166-1 alpha-2, the 249 officially assigned codes (as listed in tzdata's iso3166.tab,
# 2026). Python has no standard list, and holidays.list_supported_countries() is incomplete.
# User-assigned codes such as XK (Kosovo) are not ISO codes and are not accepted.
ISO_COUNTRIES = frozenset("""
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
    GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
    SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

_REGION = re.compile(r"([A-Z]{2})(?:-([A-Z0-9]{1,3}))?")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?")
# The same rules as whole-value patterns, for request schemas (the API checks and documents them).
REGION_PATTERN = f"(?:{'|'.join(sorted(ISO_COUNTRIES))})(?:-[A-Z0-9]{{1,3}})?"
LANGUAGE_PATTERN = _LANGUAGE.pattern
# Zone names that exist in the database but are not places a person lives.
_NOT_PLACES = frozenset({"localtime", "Factory"})


def age_on(dob: date, today: date) -> int:
    """Whole years since `dob` on `today`. A 29 February birthday comes round on 1 March
    in common years (the day after 28 February has passed)."""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def is_adult(dob: date, today: date, min_years: int = 18) -> bool:
    """At least `min_years` old on `today`; the birthday itself counts."""
    return age_on(dob, today) >= min_years


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones()) - _NOT_PLACES


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every zone name `valid_timezone` accepts, sorted (read on first use: it walks tzdata)."""
    return tuple(sorted(_timezones()))


def valid_timezone(name) -> bool:
    """An IANA zone name from the installed database (`Europe/London`, `UTC`), exactly as spelt."""
    return isinstance(name, str) and name in _timezones()


def normalize_region(code) -> str | None:
    """`us-ny` → `US-NY`; None when it is not an ISO 3166-1 country, optionally with a
    subdivision of 1–3 letters or digits (ISO 3166-2 style)."""
    if not isinstance(code, str):
        return None
    match = _REGION.fullmatch(code.strip().upper())
    if not match or match.group(1) not in ISO_COUNTRIES:
        return None
    return match.group(0)


def valid_region(code) -> bool:
    """`GB`, `US-NY`: a known country code, optional subdivision, in canonical (upper) case."""
    return isinstance(code, str) and normalize_region(code) == code


def region_country(code: str | None) -> str | None:
    """The country part of a region (`US-NY` → `US`)."""
    region = normalize_region(code) if code else None
    return region.split("-")[0] if region else None


def valid_language(tag) -> bool:
    """A BCP 47 tag in its usual short form: 2–3 lowercase letters, optionally a script
    (`zh-Hant`) and a region (`pt-BR`, `es-419`)."""
    return isinstance(tag, str) and bool(_LANGUAGE.fullmatch(tag))


def normalize_content_type(value) -> str:
    """`audio/webm;codecs=opus` → `audio/webm`: media types compare without parameters,
    case-insensitively."""
    if not isinstance(value, str):
        return ""
    return value.split(";", 1)[0].strip().lower()


# --- the directory's order ---------------------------------------------------------------------

DIRECTORY_NAME_CHARS = 200  # of the normalised name in the sort key (a key holds at most 1,024 bytes)


def directory_name(name: str | None) -> str:
    """A display name as a person alphabetises it: accents and case ignored ("Élodie" with
    "elodie"), punctuation ignored ("O'Brien" with "OBrien"), words kept apart. Spaces become
    `!`, so that in the sort key (fields joined by a space, which sorts lower) "Ann" comes before
    "Ann Smith", and "Ann Smith" before "Anna"."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name or "")
    words = "".join(c for c in decomposed if c.isalnum() or c.isspace()).casefold().split()
    return "!".join(words)[:DIRECTORY_NAME_CHARS]


def directory_order(accepting: bool, name: str | None, provider_id: str) -> str:
    """The directory's sort key: providers accepting new clients first, then by name, then by id
    (so equal names keep one stable order and every key is unique, which keyset paging needs)."""
    return f"{0 if accepting else 1} {directory_name(name)} {provider_id}"


def id_of_directory_order(order: str) -> str:
    return order.rsplit(" ", 1)[-1]
