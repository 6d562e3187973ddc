"""``orders_core.sqs_batch``: partial batch responses, the same as Powertools' BatchProcessor gives for SQS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from orders_core.sqs_batch import InvalidSqsEvent, SqsRecord, process_batch, sqs_records


def _event(n: int) -> dict:
    return {"Records": [{"messageId": f"m-{i}", "body": f'{{"n": {i}}}', "attributes": {"ApproximateReceiveCount": "1"}} for i in range(n)]}


def _handler_failing(ids: set[str]):
    def handler(record):
        if record.message_id in ids:
            raise RuntimeError(f"boom {record.message_id}")
        return record.message_id.upper()

    return handler


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=10).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_response_equals_powertools_batch_processor_for_any_failure_pattern(case):
    """Given any set of failing records, the response is Powertools' (raise_on_entire_batch_failure=False) exactly."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    n, failing = case
    event = _event(n)
    ids = {f"m-{i}" for i in failing}
    ours = process_batch(event, _handler_failing(ids)).response()
    theirs = process_partial_response(event=event, record_handler=_handler_failing(ids), processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False))
    assert ours == theirs


def test_each_record_runs_once_in_order_and_results_are_kept():
    seen = []

    def handler(record):
        seen.append(record.message_id)
        if record.message_id == "m-1":
            raise ValueError("bad")
        return len(seen)

    outcome = process_batch(_event(3), handler)
    assert seen == ["m-0", "m-1", "m-2"]
    assert [(r.message_id, v) for r, v in outcome.results] == [("m-0", 1), ("m-2", 3)]
    assert [(r.message_id, type(e)) for r, e in outcome.failures] == [("m-1", ValueError)]
    assert outcome.response() == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


def test_a_batch_whose_every_record_fails_is_reported_not_raised():
    outcome = process_batch(_event(2), _handler_failing({"m-0", "m-1"}))
    assert outcome.response() == {"batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]}


def test_a_base_exception_stops_the_invocation():
    """KeyboardInterrupt / SystemExit are not a record's failure: nothing may be acknowledged."""

    def handler(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_batch(_event(2), handler)


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ([], "got list"),
        ({}, "no 'Records'"),
        ({"Records": []}, "at least one record"),
        ({"Records": "x"}, "'Records' = 'x'"),
        ({"Records": [{"body": "{}"}]}, "index [0]"),
        ({"Records": [{"messageId": "m-0"}, "not a record"]}, "index [1]"),
    ],
)
def test_an_event_that_is_no_sqs_batch_fails_the_invocation_naming_the_problem(event, words):
    calls: list[SqsRecord] = []
    with pytest.raises(InvalidSqsEvent, match="SQS") as raised:
        process_batch(event, calls.append)
    assert words in str(raised.value)
    assert calls == []  # nothing ran, so nothing is acknowledged


def test_record_accessors_tolerate_a_hand_built_record():
    record = sqs_records({"Records": [{"messageId": "m-0"}]})[0]
    assert isinstance(record, SqsRecord)
    assert (record.message_id, record.body, record.system_attribute("SentTimestamp")) == ("m-0", None, None)
    full = SqsRecord({"messageId": "m-1", "body": "{}", "attributes": {"SentTimestamp": "1700000000000"}})
    assert (full.body, full.system_attribute("SentTimestamp"), full.system_attribute("Nope")) == ("{}", "1700000000000", None)


def test_the_processor_no_longer_imports_powertools_batch_utility():
    """The cold-start saving holds only while neither module is imported by the processor."""
    import subprocess
    import sys
    from pathlib import Path

    handlers = Path(__file__).resolve().parents[2] / "handlers"
    probe = "import sys; import order_processor.app; print(sorted(m for m in sys.modules if m.startswith(('aws_lambda_powertools.utilities.batch', 'aws_lambda_powertools.utilities.data_classes'))))"
    env = {"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=handlers, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
