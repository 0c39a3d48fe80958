"""SQS: work handed off the request path (data exports). Messages carry ids only."""
from __future__ import annotations

import json


class WorkQueue:
    def __init__(self, sqs, queue_url: str):
        """`sqs`: a boto3 SQS client, or a callable returning one."""
        self._sqs = sqs
        self.queue_url = queue_url

    @property
    def sqs(self):
        return self._sqs() if callable(self._sqs) and not hasattr(self._sqs, "send_message") else self._sqs

    def send(self, message: dict) -> str:
        if not self.queue_url:
            raise RuntimeError("no queue URL configured (HAVEN_EXPORTS_QUEUE_URL)")
        response = self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message, sort_keys=True))
        return response["MessageId"]
