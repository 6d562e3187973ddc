"""QueuePoller with a stand-in SQS client: a failed call during a stop is the stop, not an error; outside one, a line, not a traceback."""

from __future__ import annotations

import logging
import threading

from botocore.exceptions import EndpointConnectionError

from local_pipeline.poller import QueuePoller


class GoneQueue:
    """SQS whose endpoint no longer answers: every call fails, and ``calls`` counts them."""

    def __init__(self, during_call=lambda: None) -> None:
        self.calls = threading.Semaphore(0)
        self.during_call = during_call

    def receive_message(self, **_):
        self.calls.release()
        self.during_call()
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1/")


class OneBatchQueue:
    """SQS holding three messages, then nothing; deletes succeed except for ``undeletable``."""

    def __init__(self, undeletable: str = "") -> None:
        self.messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}", "Attributes": {"ApproximateReceiveCount": "1"}} for i in range(3)]
        self.undeletable = undeletable

    def receive_message(self, **_):
        taken, self.messages = self.messages, []
        return {"Messages": taken}

    def delete_message_batch(self, Entries, **_):
        handles = {"r" + self.undeletable}
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if e["ReceiptHandle"] not in handles],
            "Failed": [{"Id": e["Id"], "Code": "ReceiptHandleIsInvalid"} for e in Entries if e["ReceiptHandle"] in handles],
        }


def _poller(sqs, handler=lambda event, context: {"batchItemFailures": []}) -> QueuePoller:
    return QueuePoller(sqs_client=sqs, queue_url="q", queue_arn="arn:aws:sqs:us-east-1:123456789012:q", region="us-east-1", handler=handler, context_factory=lambda: None)


def test_a_call_that_fails_because_a_stop_took_the_emulator_away_is_not_reported(caplog):
    stopping = threading.Event()
    sqs = GoneQueue(during_call=stopping.set)
    poller = _poller(sqs)
    caplog.set_level(logging.DEBUG, logger="local_pipeline.poller")
    poller._stop = stopping  # the stop begins while the call is on its way (Ctrl-C), which then fails
    poller._run()
    assert sqs.calls.acquire(timeout=0)  # it did call, and failed
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_an_emulator_that_stops_answering_is_one_line_per_attempt_without_a_traceback(caplog, monkeypatch):
    monkeypatch.setattr("local_pipeline.poller._ERROR_PAUSE_SECONDS", 0.05)
    sqs = GoneQueue()
    poller = _poller(sqs)
    caplog.set_level(logging.WARNING, logger="local_pipeline.poller")
    poller.start()
    try:
        assert sqs.calls.acquire(timeout=10) and sqs.calls.acquire(timeout=10)  # it keeps polling
    finally:
        poller.stop(timeout=10)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings and all(r.exc_info is None for r in warnings)
    assert "does not answer" in warnings[0].getMessage() and "127.0.0.1:1" in warnings[0].getMessage()


def test_processed_counts_the_records_handled_and_deleted():
    failing = _poller(OneBatchQueue(undeletable="2"), handler=lambda event, context: {"batchItemFailures": [{"itemIdentifier": "m0"}]})
    failing.process_batch(failing.gather_batch())
    # m0 failed (stays on the queue), m2 could not be deleted (comes back): only m1 is done.
    assert failing.processed == 1
