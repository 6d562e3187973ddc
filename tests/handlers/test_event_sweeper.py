"""The event sweep: stored orders whose event never got out are published once SNS works, oldest first, without an operator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from event_sweeper import app
from orders_core.errors import DownstreamError
from orders_core.model import UNPUBLISHED_SHARD_ATTRIBUTE, UNPUBLISHED_SHARDS, unpublished_shard
from orders_core.service import EventSweepService, sweep_cutoff
from orders_core.validation import parse_order

from .conftest import FakeLambdaContext
from .fakes import FakePublisher, FakeRepository

NOW = datetime(2026, 11, 28, 23, 0, 0, tzinfo=UTC)


def stored(repository: FakeRepository, order_id: str, created_at: str, *, published: bool = False) -> dict:
    """The item the processor writes (its event pending unless ``published``)."""
    body = {"orderId": order_id, "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "unitPrice": 2}]}
    item = parse_order(body, timestamp=created_at).to_item(created_at=created_at)
    if published:
        item["eventPublished"] = True
        del item[UNPUBLISHED_SHARD_ATTRIBUTE]
    repository.items[order_id] = item
    return item


def test_the_shard_is_stable_and_in_range():
    shards = {unpublished_shard(f"o-{i}") for i in range(200)}
    assert shards == {str(n) for n in range(UNPUBLISHED_SHARDS)}
    assert unpublished_shard("order-1001") == unpublished_shard("order-1001")


def test_a_new_item_is_pending_in_the_index_and_the_api_never_shows_it():
    from orders_core.model import public_view

    item = parse_order({"orderId": "o-1", "customerId": "c", "items": [{"productId": "p", "quantity": 1, "unitPrice": 1}]}, timestamp="2026-11-28T22:00:00.000000Z").to_item(
        created_at="2026-11-28T22:00:01.000000Z"
    )
    assert item["eventPublished"] is False and item[UNPUBLISHED_SHARD_ATTRIBUTE] == unpublished_shard("o-1")
    assert UNPUBLISHED_SHARD_ATTRIBUTE not in public_view(item)


def test_the_sweep_publishes_and_marks_only_old_enough_pending_orders():
    repository, publisher = FakeRepository(), FakePublisher()
    old = [stored(repository, f"old-{i}", f"2026-11-28T22:0{i}:00.000000Z") for i in range(5)]
    stored(repository, "young", "2026-11-28T22:59:00.000000Z")  # the processor may still be publishing it
    stored(repository, "done", "2026-11-28T22:00:00.000000Z", published=True)
    outcome = EventSweepService(repository=repository, publisher=publisher).sweep(created_before=sweep_cutoff(NOW, 300))
    assert sorted(outcome.published) == sorted(i["orderId"] for i in old) and outcome.found == 5
    assert outcome.still_unpublished == 0 and outcome.read_error is None and outcome.stopped is None
    events = [json.loads(e.message) for e in publisher.published]
    assert sorted(e["orderId"] for e in events) == sorted(i["orderId"] for i in old)
    assert all(e["eventType"] == "OrderProcessed" and "unpublishedShard" not in e for e in events)
    assert all(repository.items[i["orderId"]]["eventPublished"] is True for i in old)
    assert repository.items["young"]["eventPublished"] is False
    # a second run finds nothing: the index holds only what is still pending
    again = EventSweepService(repository=repository, publisher=FakePublisher()).sweep(created_before=sweep_cutoff(NOW, 300))
    assert again.found == 0


def test_events_sns_refuses_stay_pending_for_the_next_run():
    repository, publisher = FakeRepository(), FakePublisher()
    stored(repository, "a", "2026-11-28T22:00:00.000000Z")
    publisher.fail_call = True
    outcome = EventSweepService(repository=repository, publisher=publisher).sweep(created_before=sweep_cutoff(NOW, 60))
    assert outcome.still_unpublished == 1 and outcome.published == []
    assert repository.items["a"]["eventPublished"] is False and UNPUBLISHED_SHARD_ATTRIBUTE in repository.items["a"]
    publisher.fail_call = False  # SNS recovers
    outcome = EventSweepService(repository=repository, publisher=publisher).sweep(created_before=sweep_cutoff(NOW, 60))
    assert outcome.published == ["a"] and repository.items["a"]["eventPublished"] is True


def test_pages_max_orders_and_time_bound_a_run():
    repository = FakeRepository()
    for i in range(30):
        stored(repository, f"o-{i:02d}", f"2026-11-28T21:{i:02d}:00.000000Z")
    sweep = EventSweepService(repository=repository, publisher=FakePublisher(), page_size=4)
    outcome = sweep.sweep(created_before=sweep_cutoff(NOW, 60), max_orders=10)
    assert len(outcome.published) == 10 and outcome.stopped is not None and "max_orders" in outcome.stopped
    outcome = sweep.sweep(created_before=sweep_cutoff(NOW, 60), out_of_time=lambda: True)
    assert outcome.found == 0 and outcome.stopped is not None and "out of time" in outcome.stopped
    outcome = sweep.sweep(created_before=sweep_cutoff(NOW, 60))
    assert len(outcome.published) == 20 and outcome.stopped is None
    assert all(item["eventPublished"] for item in repository.items.values())


def test_a_failing_read_stops_the_run_and_says_why():
    repository = FakeRepository()
    repository.unpublished_fails_with = DownstreamError("DynamoDB Query", "ThrottlingException", retryable=True, throttled=True)
    outcome = EventSweepService(repository=repository, publisher=FakePublisher()).sweep(created_before=sweep_cutoff(NOW, 60))
    assert outcome.read_error and "ThrottlingException" in outcome.read_error


# ---------------------------------------------------------------- the Lambda function


class SweeperContext(FakeLambdaContext):
    """The sweeper's context: 60 s, its function timeout."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def sweeper(handler_env):
    repository, publisher = FakeRepository(), FakePublisher()
    function = app.EventSweepFunction(lambda: EventSweepService(repository=repository, publisher=publisher), lambda: 300, now=lambda: NOW)
    return function, repository, publisher, SweeperContext()


def test_a_run_without_time_for_a_page_publishes_nothing_and_says_so(sweeper):
    function, repository, _, _ = sweeper
    stored(repository, "a", "2026-11-28T22:00:00.000000Z")
    summary = function({}, FakeLambdaContext())  # 10 s left - 2 s margin < one page's time
    assert summary["found"] == 0 and "out of time" in summary["stopped"]


def test_the_function_reports_what_it_did_and_emits_both_metrics(sweeper, capsys):
    function, repository, publisher, context = sweeper
    stored(repository, "a", "2026-11-28T22:00:00.000000Z")
    publisher.fail_ids = set()
    summary = function({"source": "aws.events", "detail-type": "Scheduled Event"}, context)
    assert summary == {"found": 1, "published": 1, "stillUnpublished": 0, "stopped": None, "readError": None}
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for record in emf for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"EventsRepublished", "UnpublishedEvents"} <= names
    assert any(record.get("UnpublishedEvents") in (0, [0], [0.0]) for record in emf)  # a complete run reports 0 too: the alarm's heartbeat


def test_a_failing_read_fails_the_invocation_so_the_errors_alarm_pages(sweeper, capsys):
    function, repository, _, context = sweeper
    repository.unpublished_fails_with = DownstreamError("DynamoDB Query", "AccessDeniedException", retryable=False)
    with pytest.raises(app.SweepFailed, match="AccessDeniedException"):
        function({}, context)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert not any("UnpublishedEvents" in record for record in emf)  # no false "0 unpublished" when it could not look
