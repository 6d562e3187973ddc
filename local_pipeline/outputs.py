"""The local pipeline's outputs: the stack's Terraform outputs (``pipeline_config.output_keys``), with local values, and their file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from local_pipeline.emulator import ProvisionedResources
from pipeline_config import ApiAuthorization, ResourceNames, output_keys


def local_outputs(resources: ProvisionedResources, names: ResourceNames, *, api_url: str, stage_name: str, region: str, endpoint_url: str) -> dict[str, Any]:
    """The stack's outputs for these resources (plus ``AwsEndpointUrl`` and ``EventsQueueUrl``); absent values left out."""
    r = resources
    keys = output_keys
    outputs = {
        keys.API_ENDPOINT: api_url,
        keys.ORDERS_TABLE_NAME: r.table_name,
        keys.ORDER_QUEUE_URL: r.order_queue_url,
        keys.ORDER_QUEUE_ARN: r.order_queue_arn,
        keys.ORDER_TOPIC_ARN: r.order_topic_arn,
        keys.DLQ_URL: r.dlq_url,
        keys.DLQ_ARN: r.dlq_arn,
        keys.ALARM_TOPIC_ARN: r.alarm_topic_arn,
        keys.API_HANDLER_FUNCTION_NAME: names.api_handler_function,
        keys.ORDER_PROCESSOR_FUNCTION_NAME: names.order_processor_function,
        keys.EVENT_SWEEPER_FUNCTION_NAME: names.event_sweeper_function,
        keys.EVENT_SWEEP_SCHEDULE_NAME: names.event_sweep_schedule,
        keys.REST_API_ID: "local",
        keys.API_STAGE_NAME: stage_name,
        # Locally nothing authenticates, whatever config.api_authorization says.
        keys.API_AUTHORIZATION: ApiAuthorization.NONE.value,
        keys.REGION: region,
        keys.DASHBOARD_NAME: names.dashboard,
        # Local-only: where to point boto3, and where to read published events.
        keys.AWS_ENDPOINT_URL: endpoint_url,
        keys.EVENTS_QUEUE_URL: r.events_queue_url,
    }
    # Attached to outputs without an alarm topic, or without the local-only tap: leave them out.
    return {key: value for key, value in outputs.items() if value is not None}


def write_outputs_file(path: str | os.PathLike[str], stack_name: str, outputs: dict[str, Any]) -> Path:
    """Write ``{"<stack>": outputs}`` as JSON, the shape of ``cdktf output --outputs-file``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({stack_name: outputs}, indent=2) + "\n", encoding="utf-8")
    return target
