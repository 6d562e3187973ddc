"""Redrive's native path (SQS StartMessageMoveTask, the one ``auto`` takes first on AWS), against AWS's response shapes.

moto has no move tasks, so this path never runs end to end here. Each test drives the real
adapter (``ordersctl.aws.SqsQueuePort``) over a real boto3 SQS client whose answers come from
botocore's Stubber: botocore checks every request against SQS's model and every canned answer
against the response shape, so the answers below have exactly the fields and types AWS sends.
They follow the examples of the SQS API reference (ListMessageMoveTasks, StartMessageMoveTask):
``TaskHandle`` only while a task is RUNNING, counts as longs, ``StartedTimestamp`` in epoch ms.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ordersctl.aws import MOVE_TASK_CLOCK_SKEW_MS, SqsQueuePort, find_move_task
from ordersctl.redrive import redrive

DLQ_ARN = "arn:aws:sqs:us-east-1:555555555555:order-dlq-dev"
QUEUE_ARN = "arn:aws:sqs:us-east-1:555555555555:order-queue-dev"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/555555555555/order-dlq-dev"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/555555555555/order-queue-dev"
HANDLE = "eyJ0YXNrSWQiOiJkYTE2YjlmOC04NjIyLTQ0ZmEtYWVkMi1iYWFlNmJjN2QxZTkiLCJzb3VyY2VBcm4iOiJhcm46YXdzOnNxczp1cy1lYXN0LTE6NTU1NTU1NTU1NTU1Ok15RGVhZExldHRlclF1ZXVlIn0="
NOW_MS = 1_765_000_000_000


def running(moved: int, to_move: int = 40, handle: str = HANDLE) -> dict:
    return {
        "TaskHandle": handle,
        "Status": "RUNNING",
        "SourceArn": DLQ_ARN,
        "DestinationArn": QUEUE_ARN,
        "MaxNumberOfMessagesPerSecond": 500,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": to_move,
        "StartedTimestamp": NOW_MS + 150,
    }


def finished(status: str, moved: int, to_move: int = 40, *, started: int = NOW_MS + 150, destination: str = QUEUE_ARN, reason: str | None = None) -> dict:
    task = {
        "Status": status,
        "SourceArn": DLQ_ARN,
        "DestinationArn": destination,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": to_move,
        "StartedTimestamp": started,
    }
    if reason:
        task["FailureReason"] = reason
    return task


#: A move task of the day before, to the same queue: never mistaken for ours.
YESTERDAY = finished("COMPLETED", 7, 7, started=NOW_MS - 86_400_000)


@pytest.fixture
def sqs():
    client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def expect_start(stub) -> None:
    stub.add_response("start_message_move_task", {"TaskHandle": HANDLE}, {"SourceArn": DLQ_ARN, "DestinationArn": QUEUE_ARN})


def expect_listing(stub, *results: dict) -> None:
    stub.add_response("list_message_move_tasks", {"Results": list(results)}, {"SourceArn": DLQ_ARN, "MaxResults": 10})


def expect_depth(stub, visible: int) -> None:
    attributes = {"ApproximateNumberOfMessages": str(visible), "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0"}
    stub.add_response("get_queue_attributes", {"Attributes": attributes}, None)


def run(client, *, polls: int = 10):
    left = iter(range(polls))
    port = SqsQueuePort(client, clock=lambda: NOW_MS / 1000)
    return redrive(port, dlq_url=DLQ_URL, queue_url=QUEUE_URL, dlq_arn=DLQ_ARN, queue_arn=QUEUE_ARN, wait=lambda: next(left, None) is not None)


def test_a_running_task_is_polled_until_it_completes_and_its_final_count_is_reported(sqs):
    client, stub = sqs
    expect_start(stub)
    expect_listing(stub, running(0), YESTERDAY)
    expect_listing(stub, running(25), YESTERDAY)
    # Finished: SQS drops the handle, so the task is known by destination and start time.
    expect_listing(stub, finished("COMPLETED", 40), YESTERDAY)
    expect_depth(stub, 0)
    report = run(client)
    assert (report.method, report.moved, report.failed, report.remaining, report.errors, report.note) == ("move-task", 40, 0, 0, (), None)


def test_a_failed_task_reports_what_it_did_not_move_and_why(sqs):
    client, stub = sqs
    expect_start(stub)
    expect_listing(stub, running(10))
    expect_listing(stub, finished("FAILED", 12, reason="AWS.SimpleQueueService.KmsAccessDenied"))
    expect_depth(stub, 28)
    report = run(client)
    assert (report.moved, report.failed, report.remaining) == (12, 28, 28)
    assert report.errors == ("move task failed after moving 12 of 40: AWS.SimpleQueueService.KmsAccessDenied",)


def test_a_cancelled_task_is_a_failure_not_a_success(sqs):
    client, stub = sqs
    expect_start(stub)
    expect_listing(stub, finished("CANCELLED", 5))
    expect_depth(stub, 35)
    report = run(client)
    assert report.failed == 35 and report.errors[0].startswith("move task was cancelled after moving 5 of 40")


def test_a_task_still_running_when_the_wait_ends_says_so(sqs):
    client, stub = sqs
    expect_start(stub)
    expect_listing(stub, running(3))
    expect_listing(stub, running(9))
    expect_depth(stub, 31)
    report = run(client, polls=1)
    assert (report.moved, report.failed, report.errors) == (9, 0, ())
    assert report.note == "the move task is still running (9 of 40 moved so far); check again with `ordersctl status`"


def test_a_task_that_cannot_be_found_is_an_error_never_zero_moved_and_fine(sqs):
    client, stub = sqs
    expect_start(stub)
    expect_listing(stub, YESTERDAY)
    expect_depth(stub, 40)
    report = run(client)
    assert report.moved == 0 and report.errors and "outcome is unknown" in report.errors[0]


def test_the_listing_parser_picks_our_task_and_nothing_else():
    other_running = running(1, handle="c29tZW9uZS1lbHNl")
    # By handle while it runs, even when it is not first.
    assert find_move_task([other_running, running(8)], HANDLE, destination_arn=QUEUE_ARN, started_ms=NOW_MS).moved == 8
    # Finished: the newest finished task to our destination, started no earlier than we asked.
    older = finished("COMPLETED", 3, 3, started=NOW_MS + 100 - MOVE_TASK_CLOCK_SKEW_MS - 200)
    elsewhere = finished("COMPLETED", 99, 99, destination="arn:aws:sqs:us-east-1:555555555555:somewhere-else")
    ours = finished("COMPLETED", 40)
    assert find_move_task([elsewhere, ours, older], HANDLE, destination_arn=QUEUE_ARN, started_ms=NOW_MS).moved == 40
    # Only older tasks, or no record of when we started: not found.
    assert find_move_task([older, elsewhere], HANDLE, destination_arn=QUEUE_ARN, started_ms=NOW_MS).status == "NOT_FOUND"
    assert find_move_task([ours], HANDLE, destination_arn=None, started_ms=None).status == "NOT_FOUND"
    # SQS's clock a little behind ours still finds it.
    behind = finished("COMPLETED", 40, started=NOW_MS - 2_000)
    assert find_move_task([behind], HANDLE, destination_arn=QUEUE_ARN, started_ms=NOW_MS).moved == 40
