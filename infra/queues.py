"""Queue-triggered functions locally: the app's SQS event sources, drained in-process.

On AWS, Lambda polls each queue and calls its function with a batch of records. Neither
`chalice local` nor the emulator does, so the local runner (`make run`) drains each queue
here: it receives messages, calls the function in this process with the same SQS event
Lambda would build, deletes each message its call handled, and leaves a failed one to come
back (after a short local visibility timeout) until the queue's redrive policy moves it to
its dead-letter queue. The functional tests drain with the same `drain`.

A function's queue is found by its name in the stack (`stack["queues"]["exports"]` for the
function `exports`: `infra/resources.py` names each queue after its function).
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("haven.queues")
LOCAL_RETRY_SECONDS = 5  # a failed message comes back this soon locally (AWS: the queue's visibility timeout)


@dataclass(frozen=True)
class QueueFunction:
    name: str
    batch_size: int


def queue_functions(chalice_app) -> list[QueueFunction]:
    from chalice.app import SQSEventConfig

    return [QueueFunction(source.name, int(source.batch_size or 1)) for source in chalice_app.event_sources
            if isinstance(source, SQSEventConfig)]


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping hands the function."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {**m.get("Attributes", {})}, "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


def lambda_context(name: str):
    from chalice.local import LambdaContext

    return LambdaContext(name, memory_size=1024, max_runtime_ms=900_000)


def drain(chalice_app, name: str, queue: dict, sqs, region: str, *, max_batches: int = 10,
          wait_seconds: int = 0, retry_seconds: int = LOCAL_RETRY_SECONDS) -> dict:
    """Receive and handle what waits in `name`'s queue, batch by batch, until it is empty (or
    `max_batches`, or a failure: a failed batch is visible again after `retry_seconds`).
    Returns `{"handled", "failed"}` counts."""
    handler = chalice_app.handler_map[name]
    batch_size = next((f.batch_size for f in queue_functions(chalice_app) if f.name == name), 1)
    handled = failed = 0
    for _ in range(max_batches):
        received = sqs.receive_message(QueueUrl=queue["url"], MaxNumberOfMessages=min(10, batch_size),
                                       WaitTimeSeconds=wait_seconds, AttributeNames=["All"]).get("Messages", [])
        if not received:
            break
        try:
            handler(sqs_event(received, queue["arn"], region), lambda_context(name))
        except Exception:  # as on AWS: the batch comes back and is tried again, then dead-lettered
            failed += len(received)
            log.error("queue function %s failed:\n%s", name, traceback.format_exc())
            for message in received:
                sqs.change_message_visibility(QueueUrl=queue["url"], ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=retry_seconds)
            break
        for message in received:
            sqs.delete_message(QueueUrl=queue["url"], ReceiptHandle=message["ReceiptHandle"])
        handled += len(received)
    return {"handled": handled, "failed": failed}


class QueueDrainer:
    """Drains every queue-triggered function's queue, about once a second, in a thread."""

    def __init__(self, chalice_app, stack: dict, sqs=None, interval: float = 1.0):
        self.app = chalice_app
        self.stack = stack
        self.region = stack["region"]
        self.functions = [f for f in queue_functions(chalice_app) if f.name in stack.get("queues", {})]
        self._sqs = sqs
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="haven-queues", daemon=True)

    def sqs(self):
        if self._sqs is None:
            import boto3

            self._sqs = boto3.session.Session().client("sqs", region_name=self.region,
                                                      endpoint_url=self.stack["aws_endpoint_url"])
        return self._sqs

    def start(self) -> None:
        if self.functions:
            self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            for function in self.functions:
                started = time.monotonic()
                try:
                    result = drain(self.app, function.name, self.stack["queues"][function.name], self.sqs(),
                                   self.region)
                except Exception:  # the emulator going away at shutdown, for one
                    log.error("draining %s failed:\n%s", function.name, traceback.format_exc())
                    continue
                if result["handled"] or result["failed"]:
                    log.info("queue %s: %s in %.2fs", function.name, result, time.monotonic() - started)
            self.stop_event.wait(self.interval)
