"""Issue 12 bench: the risk-language detector is cheap enough to run on every client message.

µs per `detect()` call on a 2,000-character message (the realistic long end of a text message:
a few paragraphs of everyday therapy talk, with idioms that must not flag such as "this commute
is killing me"), once with no hit and once with a hit in its last sentence (the whole text is read
before the hit is found). The detector is pure CPU work, so it is timed in this thread's CPU
time (`time.thread_time`): a busy machine (CI, `make test` alongside) makes wall time wait for a
core, CPU time does not. Each round times CALLS calls; the value is the median of ROUNDS rounds,
the note gives the best round and the wall-clock median. In this process; no AWS.
Target: ≤ 200 µs per call.

Baseline: the same phrase list searched the naive way, one compiled regex per phrase over the
same normalised text (what the single first-letter-grouped alternation replaces), on the
no-hit text. The note gives the share spent normalising.
"""
from __future__ import annotations

import re
import time

from tests.bench._support import median, result

CALLS = 200
ROUNDS = 15
TARGET_US = 200.0
LENGTH = 2_000

_PARAGRAPH = (
    "Had a long week. Work was stressful and my manager keeps moving deadlines, so I stayed late most "
    "nights. On Saturday I saw my sister and we talked about mum's birthday plans; it was nice but I felt "
    "flat. I'm sleeping badly, waking up at 4am and can't get back to sleep. I tried the breathing exercise "
    "you suggested, it helped a little. I don't really know what I want to talk about on Thursday. Maybe the "
    "stuff with my ex, or why I can't seem to enjoy anything any more. Life feels heavy at the moment, this "
    "commute is killing me and I'm dying for the holidays, but I'm looking forward to seeing you. "
)
_HIT = " Honestly, I don't want to be alive anymore."


def texts() -> tuple[str, str]:
    """(no hit, hit at the end), each exactly LENGTH characters."""
    plain = (_PARAGRAPH * (LENGTH // len(_PARAGRAPH) + 1))[:LENGTH]
    return plain, plain[:LENGTH - len(_HIT)] + _HIT


def _rounds(function, text: str, clock=time.thread_time) -> list[float]:
    """µs per call of each of ROUNDS rounds of CALLS calls, by `clock`."""
    function(text)  # warm: compiled patterns, caches
    rounds = []
    for _ in range(ROUNDS):
        started = clock()
        for _ in range(CALLS):
            function(text)
        rounds.append((clock() - started) / CALLS * 1e6)
    return rounds


def _naive(phrases):
    compiled = [re.compile(" " + phrase.pattern + "(?= )") for phrase in phrases]

    def search_each(normal: str) -> bool:
        return any(pattern.search(normal) for pattern in compiled)

    return search_each


def run() -> list[dict]:
    from chalicelib.domain import risk_language
    from chalicelib.domain.risk_language import detect, normalise

    plain, hit = texts()
    assert len(plain) == len(hit) == LENGTH
    assert detect(plain) is None and detect(hit) is not None, "the bench texts no longer read as intended"
    baseline = median(_rounds(_naive(risk_language._PHRASES), normalise(plain)))
    normalising = median(_rounds(normalise, plain))
    out = []
    for name, text in (("no_hit", plain), ("hit", hit)):
        rounds = _rounds(detect, text)
        value = median(rounds)
        wall = median(_rounds(detect, text, clock=time.perf_counter))
        out.append(result(
            f"risk_language.detect_{name}_2000_chars", value, "CPU µs/call", baseline=baseline,
            target=f"≤ {TARGET_US:g} µs", ok=value <= TARGET_US,
            note=f"median of {ROUNDS} rounds of {CALLS} calls (best {min(rounds):.0f}, wall-clock median "
                 f"{wall:.0f}); list {risk_language.VERSION}, {len(risk_language._PHRASES)} phrases; normalising "
                 f"{normalising:.0f} µs of it; baseline: one regex per phrase over the normalised text"))
    return out


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    for r in run():
        print(r)
