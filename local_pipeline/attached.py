"""``AttachedResources``: run the local pipeline on resources that already exist in an emulator.

The deploy rehearsal applies the stack's Terraform to a moto server; the local API and
poller (the real handlers) then run against what Terraform created, named by the stack's
outputs, instead of provisioning their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from local_pipeline.emulator import ProvisionedResources
from pipeline_config import ConfigError, output_keys
from pipeline_config.errors import ConfigProblem

#: Stack output -> field of ``AttachedResources``. ``ApiEndpoint`` is not needed: the local API serves.
REQUIRED_OUTPUTS: dict[str, str] = {
    output_keys.ORDERS_TABLE_NAME: "orders_table_name",
    output_keys.ORDER_QUEUE_URL: "order_queue_url",
    output_keys.ORDER_QUEUE_ARN: "order_queue_arn",
    output_keys.DLQ_URL: "dlq_url",
    output_keys.DLQ_ARN: "dlq_arn",
    output_keys.ORDER_TOPIC_ARN: "order_topic_arn",
    output_keys.REGION: "region",
}
#: Outputs used when present.
OPTIONAL_OUTPUTS: dict[str, str] = {output_keys.ALARM_TOPIC_ARN: "alarm_topic_arn"}


def _plain(value: Any) -> Any:
    # `terraform output -json` wraps each value as {"value": ..., "type": ..., "sensitive": ...};
    # `cdktf output --outputs-file` writes it plain. Accept both.
    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "type", "sensitive"}:
        return value["value"]
    return value


def _flat_outputs(outputs: Mapping[str, Any]) -> Mapping[str, Any]:
    # A cdktf outputs file holds {"<stack>": {...}}: one stack is unambiguous, so unwrap it.
    if len(outputs) == 1:
        (only,) = outputs.values()
        if isinstance(only, Mapping) and not any(key in outputs for key in REQUIRED_OUTPUTS):
            return only
    return outputs


def _endpoint_problems(endpoint_url: Any) -> list[ConfigProblem]:
    parts = urlsplit(endpoint_url) if isinstance(endpoint_url, str) else None
    if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
        return []
    return [ConfigProblem("endpoint_url", endpoint_url, "must be the http(s) URL of the running emulator", "pass e.g. 'http://127.0.0.1:5000'")]


@dataclass(frozen=True, kw_only=True)
class AttachedResources:
    """Resources a running emulator already holds, named by the stack's outputs.

    Nothing is created, reset, started or stopped for them: the pipeline only calls them.
    """

    endpoint_url: str
    """The emulator every call goes to, e.g. ``http://127.0.0.1:5000`` (a moto server)."""
    region: str
    """Region of the resources (output ``Region``)."""
    orders_table_name: str
    """Output ``OrdersTableName``."""
    order_queue_url: str
    """Output ``OrderQueueUrl``."""
    order_queue_arn: str
    """Output ``OrderQueueArn``."""
    dlq_url: str
    """Output ``DLQUrl``."""
    dlq_arn: str
    """Output ``DLQArn``."""
    order_topic_arn: str
    """Output ``OrderTopicArn``."""
    alarm_topic_arn: str | None = None
    """Output ``AlarmTopicArn`` (optional: nothing publishes to it locally)."""

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], endpoint_url: str) -> AttachedResources:
        """From Terraform outputs: ``terraform output -json``, a flat mapping, or ``{"<stack>": {...}}``.

        Raises ``ConfigError`` naming every missing or empty output at once.
        """
        problems = _endpoint_problems(endpoint_url)
        if not isinstance(outputs, Mapping):
            raise ConfigError(
                [ConfigProblem("outputs", type(outputs).__name__, "must be a mapping of output name to value", "pass the parsed JSON of `terraform output -json`")],
                context="attached resources",
            )
        flat = {key: _plain(value) for key, value in _flat_outputs(outputs).items()}
        values: dict[str, Any] = {}
        for output, field_name in REQUIRED_OUTPUTS.items():
            value = flat.get(output)
            if not isinstance(value, str) or not value.strip():
                problems.append(
                    ConfigProblem(
                        f"outputs[{output!r}]",
                        value,
                        "must be a non-empty string",
                        f"pass every output of the applied stack (present: {', '.join(sorted(flat)) or 'none'})",
                    )
                )
            else:
                values[field_name] = value.strip()
        for output, field_name in OPTIONAL_OUTPUTS.items():
            if isinstance(flat.get(output), str) and flat[output].strip():
                values[field_name] = flat[output].strip()
        if problems:
            raise ConfigError(problems, context="attached resources")
        return cls(endpoint_url=endpoint_url, **values)

    def problems(self) -> list[ConfigProblem]:
        """Every invalid field (the endpoint must be an http(s) URL with a host)."""
        problems = _endpoint_problems(self.endpoint_url)
        for name in ("region", "orders_table_name", "order_queue_url", "order_queue_arn", "dlq_url", "dlq_arn", "order_topic_arn"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                problems.append(ConfigProblem(name, value, "must be a non-empty string", f"pass the stack output for {name}"))
        return problems

    def resources(self) -> ProvisionedResources:
        """The identifiers in the shape the pipeline runs on (no events tap: nothing was created)."""
        return ProvisionedResources(
            order_queue_url=self.order_queue_url,
            order_queue_arn=self.order_queue_arn,
            dlq_url=self.dlq_url,
            dlq_arn=self.dlq_arn,
            table_name=self.orders_table_name,
            order_topic_arn=self.order_topic_arn,
            alarm_topic_arn=self.alarm_topic_arn,
        )
