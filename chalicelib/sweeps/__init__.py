"""Scheduled functions. Each works as of its EventBridge event's `time`, reads only what is due
(through the sparse `due` indexes, never a Scan), and is idempotent: every action is claimed
with a conditional write first, so two runs for the same moment act once.
"""
from __future__ import annotations

import importlib
from datetime import datetime

from chalicelib.clock import iso, parse_iso
from chalicelib.observability import logger, metrics

SWEEPS = ("reminders", "deadlines", "discharges")


def event_time(event) -> datetime:
    raw = event.to_dict() if hasattr(event, "to_dict") else event
    return parse_iso(raw["time"])


def run(name: str, event) -> dict:
    """Run one sweep as of the event's time; returns counts of what it did."""
    if name not in SWEEPS:
        raise ValueError(name)
    from chalicelib import bootstrap

    from chalicelib import budget, wiring

    bootstrap.start()
    budget.start(wiring.settings().sweep_budget_seconds)
    now = event_time(event)
    logger.thread_safe_append_keys(sweep=name, as_of=iso(now))
    try:
        module = importlib.import_module(f"chalicelib.sweeps.{name}")
        result = module.sweep(now)
        for key, value in result.items():
            metrics.add_metric(name=f"{name}_{key}", unit="Count", value=value)
        logger.info("sweep done", extra={"result": result})
        return {"sweep": name, "as_of": iso(now), **result}
    finally:
        budget.stop()
        logger.thread_safe_remove_keys(["sweep", "as_of"])
        try:
            if metrics.metric_set:
                metrics.flush_metrics()
        except Exception:  # metrics must not fail a sweep
            pass
