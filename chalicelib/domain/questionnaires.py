"""The pre-session questionnaire and measures over time (SPEC §2 "Clinical record").

PHQ-9 (depression, 9 items) and GAD-7 (anxiety, 7 items) are answered 0–3 per item and scored
by summing. Bands, item 9 risk, reliable change and caseness are published clinical definitions
(Kroenke & Spitzer; NHS Talking Therapies manual), not deployment settings: they are module
constants here on purpose, and changing one changes what the numbers mean.

- `assess(phq9, gad7)` validates both answer lists and scores them (`risk` = PHQ-9 item 9 > 0).
- `check_can_submit(status, ends_at, now, submitted=...)`: a booking's client may submit once,
  from the booking's confirmation until its end. `status` is the booking's *effective* status
  (`bookings.effective_status`), so the window is decided by the clock at the request.
- `check_questionnaire_before_join(plan_kind, submitted)`: referral clients answer before joining.
- `measures(series)`: the latest submission against the first, oldest first, per NHS Talking
  Therapies; with fewer than 2 submissions the three flags are None.

Nothing here reads the clock: `now` is a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from chalicelib.domain.bookings import CONFIRMED, PENDING
from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import iso_z, to_utc

PHQ9, GAD7 = "phq9", "gad7"
ANSWER_MIN, ANSWER_MAX = 0, 3

# (lowest score, band), ascending; a score belongs to the last band whose lowest score it reaches.
PHQ9_BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately_severe"), (20, "severe"))
GAD7_BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))


@dataclass(frozen=True)
class Scale:
    name: str
    items: int
    bands: tuple[tuple[int, str], ...]

    @property
    def max_score(self) -> int:
        return self.items * ANSWER_MAX


SCALES = {PHQ9: Scale(PHQ9, 9, PHQ9_BANDS), GAD7: Scale(GAD7, 7, GAD7_BANDS)}

# PHQ-9 item 9: "Thoughts that you would be better off dead, or of hurting yourself" (index 8).
RISK_ITEM_INDEX = 8

# NHS Talking Therapies: reliable change is a change of at least this many points...
RELIABLE_CHANGE = {PHQ9: 6, GAD7: 4}
# ...and caseness a score of at least this much on either measure.
CASENESS = {PHQ9: 10, GAD7: 8}

REFERRAL = "referral"


# --- answers and scores ------------------------------------------------------------------------

def validate_answers(scale_name: str, answers) -> tuple[int, ...]:
    """The answers as a tuple, or 400 `validation_error` naming the field (and the item, 1-based)."""
    scale = SCALES[scale_name]
    shape = f"{scale_name} must be a list of {scale.items} answers, each 0, 1, 2 or 3"
    if not isinstance(answers, (list, tuple)):
        raise DomainError("validation_error", f"{shape}.", field=scale_name)
    if len(answers) != scale.items:
        raise DomainError("validation_error", f"{shape}; got {len(answers)}.", field=scale_name)
    for number, answer in enumerate(answers, start=1):
        # bool is an int subclass: `true` is not an answer.
        if isinstance(answer, bool) or not isinstance(answer, int) or not ANSWER_MIN <= answer <= ANSWER_MAX:
            raise DomainError("validation_error", f"{shape}; item {number} is not.", field=scale_name, item=number)
    return tuple(answers)


def severity(scale_name: str, score: int) -> str:
    """The band of a total score; ValueError outside 0..max (a programming error, not input)."""
    scale = SCALES[scale_name]
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= scale.max_score:
        raise ValueError(f"{scale_name} score must be 0..{scale.max_score}, not {score!r}")
    band = scale.bands[0][1]
    for lowest, name in scale.bands:
        if score >= lowest:
            band = name
    return band


@dataclass(frozen=True)
class Assessment:
    """One submission's scores (what the API shows); the answers themselves stay with the caller."""
    phq9_score: int
    phq9_severity: str
    gad7_score: int
    gad7_severity: str
    risk: bool

    def as_dict(self) -> dict:
        """The questionnaire answer's score fields: `{"phq9": {...}, "gad7": {...}, "risk"}`."""
        return {"phq9": {"score": self.phq9_score, "severity": self.phq9_severity},
                "gad7": {"score": self.gad7_score, "severity": self.gad7_severity},
                "risk": self.risk}


def assess(phq9, gad7) -> Assessment:
    """Validate and score both scales; `risk` when PHQ-9 item 9 is above 0."""
    phq9 = validate_answers(PHQ9, phq9)
    gad7 = validate_answers(GAD7, gad7)
    phq9_score, gad7_score = sum(phq9), sum(gad7)
    return Assessment(phq9_score, severity(PHQ9, phq9_score), gad7_score, severity(GAD7, gad7_score),
                      phq9[RISK_ITEM_INDEX] > 0)


# --- when ----------------------------------------------------------------------------------------

def check_can_submit(status: str, ends_at: datetime, now: datetime, *, submitted: bool = False) -> None:
    """The booking's client may submit once, from its confirmation until its end (half-open:
    at `ends_at` it is over). `status` is the effective status at `now`.

    A repeat is `already_submitted` whatever the time (the answers are there, which is the
    more useful thing to say); otherwise a booking that is not `confirmed` (pending, cancelled,
    completed, ...) or a session that has ended is `invalid_state`.
    """
    if submitted:
        raise DomainError("already_submitted", "The questionnaire for this session has already been submitted.")
    if status != CONFIRMED:
        reason = ("it can be submitted once the provider confirms the session" if status == PENDING
                  else "it can be submitted only for a confirmed session, before it ends")
        raise DomainError("invalid_state", f"The booking is {status}; {reason}.", state=status)
    if to_utc(now) >= to_utc(ends_at):
        raise DomainError("invalid_state", "The session has ended; the questionnaire can be submitted until its end.",
                          state=status, ends_at=iso_z(ends_at))


def check_questionnaire_before_join(plan_kind: str | None, submitted: bool) -> None:
    """Referral clients must submit the questionnaire before joining (409 `questionnaire_required`)."""
    if plan_kind == REFERRAL and not submitted:
        raise DomainError("questionnaire_required",
                          "Please answer the short questionnaire for this session before joining.")


# --- measures over time ------------------------------------------------------------------------

@dataclass(frozen=True)
class Measures:
    reliable_improvement: bool | None
    reliable_deterioration: bool | None
    recovery: bool | None

    def as_dict(self) -> dict:
        return {"reliable_improvement": self.reliable_improvement,
                "reliable_deterioration": self.reliable_deterioration,
                "recovery": self.recovery}


def at_caseness(phq9_score: int, gad7_score: int) -> bool:
    return phq9_score >= CASENESS[PHQ9] or gad7_score >= CASENESS[GAD7]


def measures(series: Sequence) -> Measures:
    """The latest submission against the first; `series` oldest first, each item with
    `phq9_score` and `gad7_score` (an `Assessment`, or anything shaped like one).

    - reliable improvement: PHQ-9 down by ≥ 6 or GAD-7 down by ≥ 4, and neither up by that much;
    - reliable deterioration: PHQ-9 up by ≥ 6 or GAD-7 up by ≥ 4, and neither down by that much;
    - recovery: the first at caseness (PHQ-9 ≥ 10 or GAD-7 ≥ 8) and the latest below both.
      A first submission below caseness cannot recover: False, not None (None means "too few").
    """
    if len(series) < 2:
        return Measures(None, None, None)
    first, latest = series[0], series[-1]
    change = {PHQ9: latest.phq9_score - first.phq9_score, GAD7: latest.gad7_score - first.gad7_score}
    down = any(change[s] <= -RELIABLE_CHANGE[s] for s in (PHQ9, GAD7))
    up = any(change[s] >= RELIABLE_CHANGE[s] for s in (PHQ9, GAD7))
    recovery = (at_caseness(first.phq9_score, first.gad7_score)
                and not at_caseness(latest.phq9_score, latest.gad7_score))
    return Measures(down and not up, up and not down, recovery)
