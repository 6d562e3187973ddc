"""Where a local pipeline's resources come from: provisioned in its own moto server, or attached to existing ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_pipeline.attached import AttachedResources
from local_pipeline.emulator import MotoEmulator, ProvisionedResources, provision
from pipeline_config import PipelineConfig


def check_attached(resources: ProvisionedResources, endpoint_url: str, client: Callable[[str], Any]) -> None:
    """Fail fast, naming each one, when an attached resource does not answer (read-only calls)."""
    checks: list[tuple[str, Callable[[], Any]]] = [
        (f"order queue {resources.order_queue_url}", lambda: client("sqs").get_queue_attributes(QueueUrl=resources.order_queue_url, AttributeNames=["QueueArn"])),
        (f"DLQ {resources.dlq_url}", lambda: client("sqs").get_queue_attributes(QueueUrl=resources.dlq_url, AttributeNames=["QueueArn"])),
        (f"table {resources.table_name}", lambda: client("dynamodb").describe_table(TableName=resources.table_name)),
        (f"topic {resources.order_topic_arn}", lambda: client("sns").get_topic_attributes(TopicArn=resources.order_topic_arn)),
    ]
    failures = []
    for label, check in checks:
        try:
            check()
        except Exception as error:  # noqa: BLE001 -- every failure is reported, whatever its type
            failures.append(f"{label}: {type(error).__name__}: {error}")
    if failures:
        raise RuntimeError(
            f"cannot attach to the resources at {endpoint_url}:\n  - "
            + "\n  - ".join(failures)
            + "\nFix: pass the outputs of the stack applied to THIS emulator (terraform output -json), and its endpoint URL."
        )


def acquire_resources(
    config: PipelineConfig,
    *,
    existing: AttachedResources | None,
    emulator: MotoEmulator | None,
    visibility_timeout_seconds: int | None,
    client: Callable[[str], Any],
) -> ProvisionedResources:
    """The attached resources, checked (``existing``), else ``emulator`` started and the stack's resources provisioned in it."""
    if existing is not None:
        resources = existing.resources()
        check_attached(resources, existing.endpoint_url, client)
        return resources
    assert emulator is not None
    emulator.start()
    return provision(emulator, config, visibility_timeout_seconds=visibility_timeout_seconds)
