"""``OrderPipelineStack``: the whole order pipeline of one environment.

It only composes constructs from ``constructs_lib`` and wires their attributes
together; every resource's details (and its secure defaults) live in its
construct. Construct ids are part of the public contract: renaming one replaces
the resource on the next deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from constructs_lib.alarms import PipelineAlarms, PipelineAlarmsProps
from constructs_lib.dashboard import OrdersDashboard, OrdersDashboardProps
from constructs_lib.encrypted_topic import EncryptedTopic, EncryptedTopicProps
from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.event_sweep import EventSweep, EventSweepProps
from constructs_lib.orders_table import OrdersTable, OrdersTableProps
from constructs_lib.python_function import RUNTIME, PythonFunction, PythonFunctionProps
from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps
from constructs_lib.rest_api import OrdersRestApi, OrdersRestApiProps
from constructs_lib.sqs_event_source import SqsEventSource, SqsEventSourceProps
from constructs_lib.support.framework import Construct, TerraformOutput, TerraformStack
from constructs_lib.support.lambda_package import HandlersPackage, HandlersPackageProps
from constructs_lib.support.provider import AwsProvider, AwsProviderDefaultTags
from pipeline_config import ConfigError, PipelineConfig, output_keys
from pipeline_config.backend import BackendSettings
from pipeline_config.defaults import FunctionSizing
from pipeline_config.lambda_contract import (
    API_SERVICE_NAME,
    EVENT_SWEEP_MIN_AGE_VAR,
    EVENT_SWEEPER_SERVICE_NAME,
    HANDLERS_DIR,
    PROCESSOR_SERVICE_NAME,
    function_environment,
    read_order_schema,
    read_routes,
)
from pipeline_config.naming import default_tags
from stacks.backends import configure_backend

ROOT = Path(__file__).resolve().parent.parent
#: Where environment stacks kept API Gateway's account setting before the account-level stack
#: owned it (``OrdersRestApi`` id "orders-api" + the ids in ``constructs_lib.api_gateway_account``;
#: a test ties these to a designated owner's synthesized JSON).
LEGACY_ACCOUNT_SETTING_ADDRESSES = (
    "aws_api_gateway_account.orders-api_account_EF0B5922",
    "aws_iam_role.orders-api_cloudwatch-role_018EBEF3",
    "aws_iam_role_policy_attachment.orders-api_cloudwatch-role-policy_341B42D9",
)


class OrderPipelineStack(TerraformStack):
    """API Gateway -> API handler -> SQS (+DLQ) -> processor -> DynamoDB + SNS, with alarms.

    One builder per layer, in dependency order: provider and backend, storage (key, queue,
    table, topics), functions (and their grants and event source), the API, monitoring, outputs.
    """

    def __init__(self, scope: Construct, id: str, *, config: PipelineConfig, backend: BackendSettings | None = None) -> None:
        super().__init__(scope, id)
        self.config = config
        self.names = config.names
        self._build_provider_and_backend(backend or BackendSettings())
        self._build_storage()
        self._build_functions()
        self._build_api()
        self._build_monitoring()
        self._build_outputs()

    def _build_provider_and_backend(self, backend: BackendSettings) -> None:
        config = self.config
        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[AwsProviderDefaultTags(tags={**dict(config.tags), **default_tags(config.environment_suffix)})],
        )
        # Resolved and validated with the rest of the configuration (pipeline_config.selection).
        configure_backend(self, stack_name=self.names.stack, region=config.region, settings=backend)

    def _build_storage(self) -> None:
        config, names = self.config, self.names
        # What holds the data: in prod-like environments Terraform refuses to destroy it
        # (prevent_destroy) and a deleted key stays recoverable for 30 days (docs/rehearsal.md, "Native protections").
        protect = config.effective_prevent_destroy
        self.encryption_key = key = EncryptionKey(
            self,
            "encryption-key",
            EncryptionKeyProps(alias_name=names.kms_alias, region=config.region, deletion_window_in_days=config.effective_kms_deletion_window_days, prevent_destroy=protect),
        )
        self.queue = QueueWithDeadLetterQueue(
            self,
            "order-queue",
            QueueWithDeadLetterQueueProps(
                queue_name=names.order_queue,
                dlq_name=names.order_dlq,
                **config.queue_settings.as_props(),
                encryption_key=key,
                prevent_destroy=protect,
            ),
        )
        self.table = OrdersTable(
            self,
            "orders-table",
            OrdersTableProps(table_name=names.orders_table, encryption_key=key, deletion_protection=config.effective_table_deletion_protection, prevent_destroy=protect),
        )
        self.events_topic = EncryptedTopic(self, "order-events-topic", EncryptedTopicProps(topic_name=names.order_events_topic, encryption_key=key))
        self.alarm_topic = EncryptedTopic(
            self,
            "alarm-topic",
            EncryptedTopicProps(
                topic_name=names.alarm_topic,
                encryption_key=key,
                allow_cloudwatch_alarms=True,
                cloudwatch_alarm_names=names.alarm("*"),
                email_subscriptions=(config.alarm_email,) if config.alarm_email else (),
            ),
        )

    def _function(
        self,
        id: str,
        *,
        function_name: str,
        handler: str,
        sizing: FunctionSizing,
        service_name: str,
        reserved_concurrency: int | None = None,
        extra_environment: Mapping[str, str] | None = None,
    ) -> PythonFunction:
        """One of the functions: the same package, layer, logs, key and resources, its own entry point, sizing and variables."""
        config = self.config
        return PythonFunction(
            self,
            id,
            PythonFunctionProps(
                function_name=function_name,
                handler=handler,
                code=self.package,
                **sizing.as_props(),
                reserved_concurrency=reserved_concurrency,
                # The package's variable names (orders_core.settings), through pipeline_config: the stack never imports the package.
                environment=function_environment(
                    orders_table_name=self.table.table_name,
                    order_queue_url=self.queue.queue_url,
                    order_topic_arn=self.events_topic.topic_arn,
                    service_name=service_name,
                    log_level=config.log_level,
                    metrics_namespace=self.names.metrics_namespace,
                    extra=extra_environment,
                ),
                layers=(config.effective_powertools_layer_arn,),
                log_retention_days=config.log_retention_days,
                encryption_key=self.encryption_key,
            ),
        )

    def _build_functions(self) -> None:
        config, names = self.config, self.names
        try:
            self.package = HandlersPackage(self, "handlers-package", HandlersPackageProps(source_dir=str(HANDLERS_DIR), runtime=RUNTIME, bytecode=config.lambda_bytecode))
        except ConfigError as error:  # lambda_bytecode is this environment's setting: say which one
            problems = [problem.in_environment(config.environment_suffix) for problem in error.problems]
            raise ConfigError(problems, context=f"Lambda package of {names.stack}") from error
        self.api_handler = api_handler = self._function(
            "api-handler",
            function_name=names.api_handler_function,
            handler="api_handler.app.lambda_handler",
            sizing=config.api_handler_sizing,
            service_name=API_SERVICE_NAME,
        )
        self.queue.grant_send(api_handler)
        self.table.grant_read(api_handler)

        self.processor = processor = self._function(
            "order-processor",
            function_name=names.order_processor_function,
            handler="order_processor.app.lambda_handler",
            sizing=config.processor_sizing,
            service_name=PROCESSOR_SERVICE_NAME,
            reserved_concurrency=config.processor_reserved_concurrency,
        )
        # The event source reads the queue's and the processor's timeouts and reservation itself,
        # and grants the processor what consuming the queue takes.
        self.event_source = SqsEventSource(
            self,
            "order-processor-source",
            SqsEventSourceProps(
                queue=self.queue,
                function=processor,
                **config.event_source_batching.as_props(),
                maximum_concurrency=config.event_source_maximum_concurrency,
            ),
        )
        self.table.grant_write(processor)
        self.events_topic.grant_publish(processor)
        self._build_event_sweeper()

    def _build_event_sweeper(self) -> None:
        """The outbox of events: the sweeper function, which ``EventSweep`` schedules, grants and alarms on."""
        config, names = self.config, self.names
        self.event_sweeper = self._function(
            "event-sweeper",
            function_name=names.event_sweeper_function,
            handler="event_sweeper.app.lambda_handler",
            sizing=config.event_sweeper_sizing,
            service_name=EVENT_SWEEPER_SERVICE_NAME,
            extra_environment={EVENT_SWEEP_MIN_AGE_VAR: str(config.event_sweep_min_age_seconds)},
        )
        # Its schedule, its grants on the table and the topic, and its two alarms.
        self.event_sweep = EventSweep(
            self,
            "event-sweep",
            EventSweepProps(
                function=self.event_sweeper,
                table=self.table,
                topic=self.events_topic,
                names=names,
                **config.event_sweep_settings.as_props(),
                alarm_topic=self.alarm_topic,
                additional_topic_arns=tuple(config.alarm_sns_topic_arns),
                alarm_period_seconds=config.alarm_thresholds.period_seconds,
                metrics_namespace=names.metrics_namespace,
                service_name=EVENT_SWEEPER_SERVICE_NAME,
            ),
        )

    def _build_api(self) -> None:
        config, names = self.config, self.names
        self.api = OrdersRestApi(
            self,
            "orders-api",
            OrdersRestApiProps(
                api_name=names.api,
                handler=self.api_handler,
                order_schema=read_order_schema(),
                routes=read_routes(),
                authorization=config.api_authorization,
                throttle_rate_limit=config.api_throttle_rate_limit,
                throttle_burst_limit=config.api_throttle_burst_limit,
                quota_limit_per_day=config.api_quota_limit_per_day,
                data_trace_enabled=config.api_data_trace_enabled,
                access_log_group_name=names.api_access_log_group,
                log_retention_days=config.log_retention_days,
                log_encryption_key=self.encryption_key,
                manage_account=config.manage_api_gateway_account,
            ),
        )
        # CloudWatch Logs may use the key for exactly the log groups this stack creates.
        self.encryption_key.allow_cloudwatch_logs([*self.api_handler.log_group_names, *self.processor.log_group_names, *self.event_sweeper.log_group_names, *self.api.log_group_names])
        if config.legacy_account_setting_in_state:
            # A stack deployed before orders-account-<region> took the setting over still holds it
            # in its state: forget it there, never destroy it (with provider 6 that resets the
            # region's logging role). Opt-in: checkov cannot read a stack with these blocks.
            # docs/api-gateway-account.md, "API Gateway account settings".
            self.add_override("removed", [{"from": address, "lifecycle": {"destroy": False}} for address in LEGACY_ACCOUNT_SETTING_ADDRESSES])

    def _build_monitoring(self) -> None:
        config, names = self.config, self.names
        self.alarms = PipelineAlarms(
            self,
            "alarms",
            PipelineAlarmsProps(
                names=names,
                alarm_topic=self.alarm_topic,
                additional_topic_arns=tuple(config.alarm_sns_topic_arns),
                processor_function_name=self.processor.function_name,
                api_handler_function_name=self.api_handler.function_name,
                queue_name=self.queue.queue_name,
                dlq_name=self.queue.dlq_name,
                api_name=names.api,
                api_stage_name=self.api.stage_name,
                **config.alarm_thresholds.as_props(),
                # The environment's own namespace: an alarm never watches another environment's metric.
                metrics_namespace=names.metrics_namespace,
                processor_service_name=PROCESSOR_SERVICE_NAME,
            ),
        )
        OrdersDashboard(
            self,
            "dashboard",
            OrdersDashboardProps(
                dashboard_name=names.dashboard,
                region=config.region,
                api_name=names.api,
                api_stage_name=self.api.stage_name,
                queue_name=self.queue.queue_name,
                dlq_name=self.queue.dlq_name,
                function_names=(self.api_handler.function_name, self.processor.function_name, self.event_sweeper.function_name),
                table_name=self.table.table_name,
                alarm_arns=[*self.alarms.alarm_arns, *self.event_sweep.alarm_arns],
            ),
        )

    def _build_outputs(self) -> None:
        keys = output_keys
        values = {
            keys.API_ENDPOINT: self.api.invoke_url,
            keys.ORDERS_TABLE_NAME: self.table.table_name,
            keys.ORDER_QUEUE_URL: self.queue.queue_url,
            keys.ORDER_TOPIC_ARN: self.events_topic.topic_arn,
            keys.DLQ_URL: self.queue.dlq_url,
            keys.DLQ_ARN: self.queue.dlq_arn,
            keys.ORDER_QUEUE_ARN: self.queue.queue_arn,
            keys.API_HANDLER_FUNCTION_NAME: self.api_handler.function_name,
            keys.ORDER_PROCESSOR_FUNCTION_NAME: self.processor.function_name,
            keys.EVENT_SWEEPER_FUNCTION_NAME: self.event_sweeper.function_name,
            keys.EVENT_SWEEP_SCHEDULE_NAME: self.event_sweep.rule_name,
            keys.ALARM_TOPIC_ARN: self.alarm_topic.topic_arn,
            keys.REST_API_ID: self.api.rest_api_id,
            keys.API_STAGE_NAME: self.api.stage_name,
            keys.API_AUTHORIZATION: self.config.api_authorization.value,
            keys.REGION: self.config.region,
            keys.DASHBOARD_NAME: self.names.dashboard,
        }
        for output_id, description in keys.ENVIRONMENT_OUTPUTS.items():
            TerraformOutput(self, output_id, value=values[output_id], description=description)
        if self.api.api_key_id is not None:
            TerraformOutput(self, keys.API_KEY_ID, value=self.api.api_key_id, description=keys.API_KEY_ID_DESCRIPTION)
