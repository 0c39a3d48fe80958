"""Matching clients with providers (SPEC §2 "Matching and continuity of care").

Hard filters, all of which a provider must pass (`failed_filters` names the ones they fail):

- `active`, `accepting`, and active clients < `capacity`;
- `licensed`: a licence for the client's region exactly, or for its bare country (a `GB`
  licence covers `GB-SCT`; a `GB-SCT` licence does not cover `GB` nor `GB-WLS`);
- `language`: a language shared by primary subtag (`en-GB` matches `en` and `en-US`);
- `kind`: the provider kind the client asked for;
- `gender`: the preferred gender, when the client gave one.

A provider named at intake (`provider_name`, compared as a whole name, ignoring case and runs
of spaces) who passes the filters is chosen. Otherwise the best score wins: 3 per shared focus
area (compared ignoring case) + 1 when the client's and provider's time zones' *current* UTC
offsets (at `now`, so DST counts) differ by at most 3 hours. Ties go to the fewest active
clients, then the lowest id (ids compare as strings). Input order never matters.

`Match.reasons` explains the choice with stable codes, in this order (`REASONS`):
`requested_provider` (the named provider was chosen), `requested_provider_unavailable` (a
name was given but that provider is unknown, excluded or fails a filter), `focus_match`
(shares at least one focus area), `near_time_zone` (got the time-zone point), `least_busy`
(another provider had the same score but more active clients), `lowest_id` (another provider
had the same score and as many active clients). Nobody passes: None (the client waits; the
answer then says `no_provider_available`).

`check_assignment` is the ops path (`PUT /ops/assignments`): `not_licensed`,
`language_mismatch`, `at_capacity` in that order unless forced; `check_request_provider` is a
referral client asking a provider they share no room with for a session.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from chalicelib.domain.bookings import MODALITIES, PROVIDER_MODALITIES
from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import to_utc, zone

REQUESTED_PROVIDER = "requested_provider"
REQUESTED_PROVIDER_UNAVAILABLE = "requested_provider_unavailable"
FOCUS_MATCH = "focus_match"
NEAR_TIME_ZONE = "near_time_zone"
LEAST_BUSY = "least_busy"
LOWEST_ID = "lowest_id"
REASONS = (REQUESTED_PROVIDER, REQUESTED_PROVIDER_UNAVAILABLE, FOCUS_MATCH, NEAR_TIME_ZONE, LEAST_BUSY, LOWEST_ID)
# Why a client waits (nobody passes the filters), after `requested_provider_unavailable` when a
# name was given.
NO_PROVIDER_AVAILABLE = "no_provider_available"

FILTERS = ("active", "accepting", "licensed", "language", "kind", "capacity", "gender")

# SPEC defaults; the service passes settings.
FOCUS_POINTS = 3
NEAR_ZONE_POINTS = 1
NEAR_ZONE_HOURS = 3


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A provider as matching sees them. Keyword-only; `capacity` has no default on purpose
    (the service resolves a provider stored without one to its default capacity)."""
    id: str
    name: str
    kind: str
    licensed_regions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    focus_areas: tuple[str, ...] = ()
    timezone: str | None = None
    gender: str | None = None
    accepting: bool = True
    active: bool = True
    capacity: int
    active_clients: int = 0


@dataclass(frozen=True)
class Needs:
    """What the client asked for at intake (or a change of provider). `kind` None: any kind
    (ops assigning a given provider). `timezone` is the client's profile zone."""
    region: str
    languages: tuple[str, ...]
    kind: str | None = None
    focus_areas: tuple[str, ...] = ()
    gender_preference: str | None = None
    provider_name: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Match:
    """The chosen provider, why (`REASONS` codes, in that order) and their score."""
    provider_id: str
    reasons: tuple[str, ...]
    score: int


# --- the filters -------------------------------------------------------------------------------

def covers(licence: str, region: str) -> bool:
    """A licence covers its own region, and a bare-country licence every region of it."""
    licence, region = licence.strip().upper(), region.strip().upper()
    return licence == region or ("-" not in licence and region.split("-")[0] == licence)


def licences_covering(region: str) -> tuple[str, ...]:
    """Every licence that `covers` the region: itself and, for a subdivision, its bare country
    (what the listings index is queried by: `GB-SCT` → `GB-SCT`, `GB`)."""
    region = (region or "").strip().upper()
    if not region:
        return ()
    country = region.split("-")[0]
    return (region,) if country == region else (region, country)


def licensed_in(licensed_regions: Iterable[str], region: str) -> bool:
    return bool(region) and any(covers(licence, region) for licence in licensed_regions or () if licence)


def primary_subtag(tag: str) -> str:
    """`pt-BR` → `pt`, `zh-Hant-TW` → `zh` (lower case)."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def shares_language(theirs: Iterable[str], ours: Iterable[str]) -> bool:
    def primaries(tags):
        return {primary_subtag(tag) for tag in tags or () if tag}
    return bool(primaries(theirs) & primaries(ours))


def has_room(candidate: Candidate) -> bool:
    """Accepting, and active clients below capacity."""
    return candidate.accepting and candidate.active_clients < candidate.capacity


def failed_filters(candidate: Candidate, needs: Needs) -> tuple[str, ...]:
    """The hard filters `candidate` fails for `needs` (`FILTERS` names), in that order."""
    failed = []
    if not candidate.active:
        failed.append("active")
    if not candidate.accepting:
        failed.append("accepting")
    if not licensed_in(candidate.licensed_regions, needs.region):
        failed.append("licensed")
    if not shares_language(candidate.languages, needs.languages):
        failed.append("language")
    if needs.kind is not None and candidate.kind != needs.kind:
        failed.append("kind")
    if candidate.active_clients >= candidate.capacity:
        failed.append("capacity")
    if needs.gender_preference and candidate.gender != needs.gender_preference:
        failed.append("gender")
    return tuple(failed)


def passes(candidate: Candidate, needs: Needs) -> bool:
    return not failed_filters(candidate, needs)


# --- the score ---------------------------------------------------------------------------------

def _focus(areas: Iterable[str]) -> set[str]:
    return {area.strip().casefold() for area in areas or () if area and area.strip()}


def shared_focus(candidate: Candidate, needs: Needs) -> int:
    """How many distinct focus areas the two share, ignoring case."""
    return len(_focus(candidate.focus_areas) & _focus(needs.focus_areas))


def utc_offset(tz: str, now: datetime) -> timedelta:
    """The zone's UTC offset at `now` (DST-aware)."""
    return to_utc(now).astimezone(zone(tz)).utcoffset()


def near_time_zone(tz_a: str | None, tz_b: str | None, now: datetime, *, hours: float = NEAR_ZONE_HOURS) -> bool:
    """Whether the two zones' current offsets differ by at most `hours`. An unknown or missing
    zone is never near (it only costs a point; it does not exclude)."""
    if not tz_a or not tz_b:
        return False
    try:
        difference = abs(utc_offset(tz_a, now) - utc_offset(tz_b, now))
    except ValueError:
        return False
    return difference <= timedelta(hours=hours)


def score(candidate: Candidate, needs: Needs, now: datetime, *, focus_points: int = FOCUS_POINTS,
          near_zone_points: int = NEAR_ZONE_POINTS, near_zone_hours: float = NEAR_ZONE_HOURS) -> int:
    near = near_time_zone(needs.timezone, candidate.timezone, now, hours=near_zone_hours)
    return focus_points * shared_focus(candidate, needs) + (near_zone_points if near else 0)


def _same_name(a: str | None, b: str | None) -> bool:
    def canonical(name):
        return " ".join(name.split()).casefold() if isinstance(name, str) else ""
    return bool(canonical(a)) and canonical(a) == canonical(b)


def match(candidates: Iterable[Candidate], needs: Needs, now: datetime, *, exclude: Iterable[str] = (),
          focus_points: int = FOCUS_POINTS, near_zone_points: int = NEAR_ZONE_POINTS,
          near_zone_hours: float = NEAR_ZONE_HOURS) -> Match | None:
    """Choose a provider for `needs`, or None when nobody passes the filters.

    `exclude`: provider ids never chosen (the current provider, on a change of provider); an
    excluded named provider counts as unavailable. Among several passing providers with the
    requested name, the best of them by score and ties is chosen.
    """
    excluded = set(exclude)
    weights = dict(focus_points=focus_points, near_zone_points=near_zone_points, near_zone_hours=near_zone_hours)
    eligible = [c for c in candidates if c.id not in excluded and passes(c, needs)]
    reasons: list[str] = []
    if needs.provider_name and needs.provider_name.strip():
        named = [c for c in eligible if _same_name(c.name, needs.provider_name)]
        if named:
            best, _ = _best(named, needs, now, weights)
            return Match(best.id, (REQUESTED_PROVIDER,), score(best, needs, now, **weights))
        reasons.append(REQUESTED_PROVIDER_UNAVAILABLE)
    if not eligible:
        return None
    best, tie_reasons = _best(eligible, needs, now, weights)
    points = score(best, needs, now, **weights)
    if shared_focus(best, needs):
        reasons.append(FOCUS_MATCH)
    if near_time_zone(needs.timezone, best.timezone, now, hours=near_zone_hours):
        reasons.append(NEAR_TIME_ZONE)
    reasons.extend(tie_reasons)
    return Match(best.id, tuple(reasons), points)


def _best(eligible: list[Candidate], needs: Needs, now: datetime, weights: dict) -> tuple[Candidate, list[str]]:
    """The winner by (score desc, active clients asc, id asc) and the tie-break reasons."""
    keys = {id(c): (-score(c, needs, now, **weights), c.active_clients, c.id) for c in eligible}
    ranked = sorted(eligible, key=lambda c: keys[id(c)])
    best = ranked[0]
    top_score, top_busy, _ = keys[id(best)]
    tied = [keys[id(c)] for c in ranked if keys[id(c)][0] == top_score]
    reasons = []
    if any(busy > top_busy for _, busy, _ in tied):
        reasons.append(LEAST_BUSY)
    if sum(1 for _, busy, _ in tied if busy == top_busy) > 1:
        reasons.append(LOWEST_ID)
    return best, reasons


# --- checks for a chosen provider --------------------------------------------------------------

def _refuse_unlicensed(candidate: Candidate, needs: Needs) -> None:
    if not licensed_in(candidate.licensed_regions, needs.region):
        raise DomainError("not_licensed", "This provider is not licensed in the client's region.",
                          region=needs.region)


def _refuse_other_language(candidate: Candidate, needs: Needs) -> None:
    if not shares_language(candidate.languages, needs.languages):
        raise DomainError("language_mismatch", "This provider speaks none of the client's languages.")


def _refuse_full(candidate: Candidate) -> None:
    if not has_room(candidate):
        raise DomainError("at_capacity", "This provider is not taking new clients.",
                          accepting=candidate.accepting, capacity=candidate.capacity,
                          active_clients=candidate.active_clients)


def check_assignment(candidate: Candidate, needs: Needs, *, force: bool = False,
                     already_assigned: bool = False) -> None:
    """Ops assigning `candidate` to a client (`PUT /ops/assignments`): `not_licensed`, then
    `language_mismatch`, then `at_capacity` (not accepting, or active clients ≥ capacity), all
    skipped when `force`. `already_assigned`: the client already counts among the provider's
    active clients (assigning the same pair again), so capacity is not checked. Whether the
    provider is active, and the gender preference, are not this check's business: ops choose."""
    if force:
        return
    _refuse_unlicensed(candidate, needs)
    _refuse_other_language(candidate, needs)
    if not already_assigned:
        _refuse_full(candidate)


def check_request_provider(candidate: Candidate, needs: Needs, modalities: Iterable[str]) -> None:
    """A referral client asking a provider they share no room with for a session (SPEC
    "Session requests", Whom): `not_found` for an inactive provider (out of the directory),
    `not_your_provider` for another kind than the referral's, then in SPEC order
    `not_licensed`, `language_mismatch`, `modality_not_allowed` (offers none of the
    referral's modalities), `at_capacity` (not accepting, or full)."""
    if not candidate.active:
        raise DomainError("not_found", "No such provider.")
    if needs.kind is not None and candidate.kind != needs.kind:
        raise DomainError("not_your_provider", f"Your referral is for a {needs.kind}.", kind=needs.kind)
    _refuse_unlicensed(candidate, needs)
    _refuse_other_language(candidate, needs)
    offered = PROVIDER_MODALITIES.get(candidate.kind, MODALITIES)
    wanted = tuple(modalities)
    if not set(offered) & set(wanted):
        raise DomainError("modality_not_allowed", f"This provider offers {', '.join(offered)} sessions only.",
                          allowed=list(offered))
    _refuse_full(candidate)
