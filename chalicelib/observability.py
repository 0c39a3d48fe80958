"""Logger and metrics shared by routes and sweeps (powertools: JSON logs, EMF metrics).

Log ids, never bodies, names, emails, tokens or cursors. Library loggers that print whole
requests at DEBUG (PynamoDB and botocore log every item they write) are held at WARNING, so
turning Haven's own log level up for an investigation cannot leak a message or a profile.
"""
from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics

for _name in ("pynamodb", "botocore", "boto3", "urllib3", "aws_encryption_sdk"):
    logging.getLogger(_name).setLevel(logging.WARNING)

logger = Logger(service="haven")
metrics = Metrics(namespace="Haven", service="haven")
