"""Logger and metrics shared by routes and sweeps (powertools: JSON logs, EMF metrics).

Log ids, never bodies, names, emails, tokens or cursors.
"""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="haven")
metrics = Metrics(namespace="Haven", service="haven")
