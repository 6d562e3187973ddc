"""The soak's accounting can fail: each broken invariant is reported, from plain values (no pipeline)."""

from __future__ import annotations

import collections

import pytest

from local_pipeline.fault_proxy import AwsCall, FaultStats
from local_pipeline.soak import Exchange, Observed, PublishedEvents, ReasonLog, Request, SoakOptions, account, fingerprint, order_body, traffic


def body(index: int, variant: int = 0) -> dict:
    import random

    return order_body("t", index, random.Random(index), variant=variant)


def exchange(order: dict, *statuses: int, kind: str = "new") -> Exchange:
    return Exchange(Request(kind, order, retries=True), statuses=list(statuses), latencies=[0.01] * len(statuses))


def report(exchanges, *, stored=None, dlq=(), events=None, reasons=None):
    log = ReasonLog()
    for message_id, reason in (reasons or {}).items():
        log.reasons[message_id].append(reason)
    observed = Observed(stored or {}, list(dlq), collections.Counter(events or {}))
    stats = FaultStats(collections.Counter({"sqs.SendMessage": 10}), collections.Counter({"stall": 1}))
    return account(SoakOptions(orders=len(exchanges)), exchanges, observed, log, stats, {"total_s": 1.0, "drained": True})


def test_a_clean_run_has_no_violations():
    a, b = body(1), body(2)
    got = report([exchange(a, 202), exchange(b, 503, 202)], stored={a["orderId"]: fingerprint(a), b["orderId"]: fingerprint(b)}, events={a["orderId"]: 1, b["orderId"]: 2})
    assert got.violations() == [] and got.stored_as_sent == 2


def test_an_accepted_order_neither_stored_nor_dead_with_a_reason_is_unaccounted():
    a = body(1)
    got = report([exchange(a, 202)], dlq=[("m-1", fingerprint(a))])  # in the DLQ, but nobody logged why
    assert [v.split(" (")[0] for v in got.violations()] == [f"202 but neither stored as sent nor in the DLQ with a reason: {a['orderId']}"]
    got = report([exchange(a, 202)], dlq=[("m-1", fingerprint(a))], reasons={"m-1": "order conflict"})
    assert got.violations() == [] and got.dlq_with_reason == 1


def test_a_stored_order_without_an_event_is_reported():
    a = body(1)
    got = report([exchange(a, 202)], stored={a["orderId"]: fingerprint(a)})
    assert got.violations() == [f"stored without any event: {a['orderId']}"]


def test_an_order_stored_that_was_never_sent_is_reported():
    a, other = body(1), body(1, variant=1)
    got = report([exchange(a, 409)], stored={a["orderId"]: fingerprint(other)}, events={a["orderId"]: 1})
    assert got.violations() == [f"stored but never sent: {a['orderId']}"]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_other_than_503_is_reported(status):
    a = body(1)
    got = report([exchange(a, status)])
    assert got.violations() == [f"a 5xx other than the designed 503: {status} for {a['orderId']}"]


def test_the_traffic_holds_every_kind_and_each_extra_comes_after_its_original():
    requests = traffic(SoakOptions(orders=400), "t")
    kinds = collections.Counter(r.kind for r in requests)
    assert kinds["new"] == 400 and kinds["duplicate"] > 0 and kinds["conflict"] > 0
    assert any(not r.retries for r in requests) and any(r.retries for r in requests)
    first: dict[str, tuple[int, str]] = {}
    for position, request in enumerate(requests):
        first.setdefault(request.body["orderId"], (position, request.kind))
    assert all(kind == "new" for _, kind in first.values())


def test_published_events_count_what_sns_accepted():
    published = PublishedEvents()
    form = "Action=PublishBatch&PublishBatchRequestEntries.member.1.Id=e0&PublishBatchRequestEntries.member.1.Message=%7B%22orderId%22%3A%22o-1%22%7D&PublishBatchRequestEntries.member.2.Id=e1&PublishBatchRequestEntries.member.2.Message=%7B%22orderId%22%3A%22o-2%22%7D"
    answer = b"<PublishBatchResponse><PublishBatchResult><Successful><member><Id>e0</Id><MessageId>x</MessageId></member></Successful><Failed><member><Id>e1</Id></member></Failed></PublishBatchResult></PublishBatchResponse>"
    published(AwsCall("sns", "PublishBatch", form.encode()), 200, answer)
    published(AwsCall("sns", "PublishBatch", form.encode()), 500, answer)  # SNS did not accept anything
    assert published.events == {"o-1": 1}


def test_bad_options_are_reported_at_once_before_anything_starts():
    from local_pipeline.soak import run_soak
    from pipeline_config import ConfigError

    with pytest.raises(ConfigError) as raised:
        run_soak(SoakOptions(orders=0, fault_rate=1.5, fault_kinds=()))
    assert [p.setting for p in raised.value.problems] == ["orders", "fault_rate", "fault_kinds"]
    assert "(given 1.5)" in str(raised.value) and "Fix:" in str(raised.value)
