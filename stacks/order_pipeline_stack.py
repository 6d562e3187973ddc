"""``OrderPipelineStack``: the whole order pipeline of one environment.

It only composes constructs from ``constructs_lib`` and wires their attributes
together; every resource's details (and its secure defaults) live in its
construct. Construct ids are part of the public contract: renaming one replaces
the resource on the next deploy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from constructs_lib.alarms import PipelineAlarms, PipelineAlarmsProps
from constructs_lib.dashboard import OrdersDashboard, OrdersDashboardProps
from constructs_lib.encrypted_topic import EncryptedTopic, EncryptedTopicProps
from constructs_lib.encryption_key import EncryptionKey, EncryptionKeyProps
from constructs_lib.framework import Construct, TerraformOutput, TerraformStack
from constructs_lib.lambda_package import HandlersPackage, HandlersPackageProps
from constructs_lib.orders_table import OrdersTable, OrdersTableProps
from constructs_lib.provider import AwsProvider, AwsProviderDefaultTags
from constructs_lib.python_function import PythonFunction, PythonFunctionProps
from constructs_lib.queue_with_dlq import QueueWithDeadLetterQueue, QueueWithDeadLetterQueueProps
from constructs_lib.rest_api import OrdersRestApi, OrdersRestApiProps
from constructs_lib.sqs_event_source import SqsEventSource, SqsEventSourceProps
from pipeline_config import PipelineConfig
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
HANDLERS_DIR = ROOT / "handlers"
ORDER_SCHEMA_FILE = HANDLERS_DIR / "schemas" / "order.schema.json"
SERVICE_NAME = "orders"
METRICS_NAMESPACE = "OrderPipeline"
#: The processor's Powertools service name: the ``service`` dimension of its custom metrics.
PROCESSOR_SERVICE_NAME = f"{SERVICE_NAME}-processor"


class OrderPipelineStack(TerraformStack):
    """API Gateway -> API handler -> SQS (+DLQ) -> processor -> DynamoDB + SNS, with alarms."""

    def __init__(self, scope: Construct, id: str, *, config: PipelineConfig, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(scope, id)
        self.config = config
        names = config.names

        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[
                AwsProviderDefaultTags(
                    tags={
                        **dict(config.tags),
                        "Project": "order-pipeline",
                        "Environment": config.environment_suffix,
                        "ManagedBy": "cdktf",
                    }
                )
            ],
        )
        # The backend comes from the environment (TF_STATE_*), read from `environ` or os.environ.
        configure_backend(self, stack_name=names.stack, region=config.region, environ=environ)

        key = EncryptionKey(self, "encryption-key", EncryptionKeyProps(alias_name=names.kms_alias, region=config.region))

        queue = QueueWithDeadLetterQueue(
            self,
            "order-queue",
            QueueWithDeadLetterQueueProps(
                queue_name=names.order_queue,
                dlq_name=names.order_dlq,
                visibility_timeout_seconds=config.queue_visibility_timeout_seconds,
                message_retention_seconds=config.queue_message_retention_seconds,
                dlq_message_retention_seconds=config.dlq_message_retention_seconds,
                max_receive_count=config.max_receive_count,
                kms_key_arn=key.key_arn,
            ),
        )

        table = OrdersTable(
            self,
            "orders-table",
            OrdersTableProps(
                table_name=names.orders_table,
                kms_key_arn=key.key_arn,
                deletion_protection=config.effective_table_deletion_protection,
            ),
        )

        events_topic = EncryptedTopic(
            self,
            "order-events-topic",
            EncryptedTopicProps(topic_name=names.order_events_topic, kms_key_arn=key.key_arn),
        )
        alarm_topic = EncryptedTopic(
            self,
            "alarm-topic",
            EncryptedTopicProps(
                topic_name=names.alarm_topic,
                kms_key_arn=key.key_arn,
                allow_cloudwatch_alarms=True,
                email_subscriptions=(config.alarm_email,) if config.alarm_email else (),
            ),
        )

        package = HandlersPackage(self, "handlers-package", HandlersPackageProps(source_dir=str(HANDLERS_DIR)))
        shared_env = {
            "ORDERS_TABLE_NAME": table.table_name,
            "ORDER_QUEUE_URL": queue.queue_url,
            "ORDER_TOPIC_ARN": events_topic.topic_arn,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": config.log_level.upper(),
            "LOG_LEVEL": config.log_level.upper(),
        }
        function_defaults = dict(
            code=package,
            layers=(config.effective_powertools_layer_arn,),
            log_retention_days=config.log_retention_days,
            kms_key_arn=key.key_arn,
        )

        api_handler = PythonFunction(
            self,
            "api-handler",
            PythonFunctionProps(
                function_name=names.api_handler_function,
                handler="api_handler.app.lambda_handler",
                timeout_seconds=config.api_handler_timeout_seconds,
                memory_mb=config.api_handler_memory_mb,
                environment={**shared_env, "POWERTOOLS_SERVICE_NAME": f"{SERVICE_NAME}-api"},
                policy_statements=(
                    *queue.grant_send_statements(),
                    *table.grant_read_statements(),
                    *key.grant_encrypt_decrypt_statements(),
                ),
                **function_defaults,
            ),
        )
        processor = PythonFunction(
            self,
            "order-processor",
            PythonFunctionProps(
                function_name=names.order_processor_function,
                handler="order_processor.app.lambda_handler",
                timeout_seconds=config.processor_timeout_seconds,
                memory_mb=config.processor_memory_mb,
                reserved_concurrency=config.processor_reserved_concurrency,
                environment={**shared_env, "POWERTOOLS_SERVICE_NAME": PROCESSOR_SERVICE_NAME},
                policy_statements=(
                    *queue.grant_consume_statements(),
                    *table.grant_write_statements(),
                    *events_topic.grant_publish_statements(),
                    *key.grant_encrypt_decrypt_statements(),
                ),
                **function_defaults,
            ),
        )

        SqsEventSource(
            self,
            "order-processor-source",
            SqsEventSourceProps(
                queue_arn=queue.queue_arn,
                queue_visibility_timeout_seconds=config.queue_visibility_timeout_seconds,
                function_name=processor.function_name,
                function_timeout_seconds=config.processor_timeout_seconds,
                function_reserved_concurrency=config.processor_reserved_concurrency,
                batch_size=config.batch_size,
                maximum_batching_window_seconds=config.batching_window_seconds,
                maximum_concurrency=config.effective_event_source_maximum_concurrency,
            ),
        )

        api = OrdersRestApi(
            self,
            "orders-api",
            OrdersRestApiProps(
                api_name=names.api,
                handler_function_name=api_handler.function_name,
                handler_invoke_arn=api_handler.invoke_arn,
                order_schema=json.loads(ORDER_SCHEMA_FILE.read_text(encoding="utf-8")),
                authorization=config.api_authorization,
                throttle_rate_limit=config.api_throttle_rate_limit,
                throttle_burst_limit=config.api_throttle_burst_limit,
                quota_limit_per_day=config.api_quota_limit_per_day,
                data_trace_enabled=config.effective_api_data_trace_enabled,
                access_log_group_name=names.api_access_log_group,
                log_retention_days=config.log_retention_days,
                log_kms_key_arn=key.key_arn,
                manage_account=config.manage_api_gateway_account,
            ),
        )
        if not config.manage_api_gateway_account:
            # A stack deployed before orders-account-<region> took the setting over still holds it
            # in its state: forget it there, never destroy it (with provider 6 that resets the
            # region's logging role). For a stack that never held it, a no-op. README, "Deploy".
            self.add_override(
                "removed", [{"from": address, "lifecycle": {"destroy": False}} for address in LEGACY_ACCOUNT_SETTING_ADDRESSES]
            )

        alarms = PipelineAlarms(
            self,
            "alarms",
            PipelineAlarmsProps(
                names=names,
                alarm_topic_arn=alarm_topic.topic_arn,
                additional_topic_arns=tuple(config.alarm_sns_topic_arns),
                processor_function_name=processor.function_name,
                api_handler_function_name=api_handler.function_name,
                queue_name=queue.queue_name,
                dlq_name=queue.dlq_name,
                api_name=names.api,
                api_stage_name=api.stage_name,
                period_seconds=config.alarm_period_seconds,
                evaluation_periods=config.alarm_evaluation_periods,
                processor_errors_threshold=config.processor_errors_threshold,
                processor_throttles_threshold=config.processor_throttles_threshold,
                api_handler_errors_threshold=config.api_handler_errors_threshold,
                api_5xx_threshold=config.api_5xx_threshold,
                queue_depth_threshold=config.queue_depth_threshold,
                queue_oldest_message_age_seconds_threshold=config.queue_oldest_message_age_seconds_threshold,
                order_conflicts_threshold=config.order_conflicts_threshold,
                metrics_namespace=METRICS_NAMESPACE,
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
                api_stage_name=api.stage_name,
                queue_name=queue.queue_name,
                dlq_name=queue.dlq_name,
                function_names=(api_handler.function_name, processor.function_name),
                table_name=table.table_name,
                alarm_arns=alarms.alarm_arns,
            ),
        )

        outputs = {
            "ApiEndpoint": (api.invoke_url, "Base URL of the REST API stage (POST {url}/orders)."),
            "OrdersTableName": (table.table_name, "DynamoDB orders table."),
            "OrderQueueUrl": (queue.queue_url, "SQS order queue URL."),
            "OrderTopicArn": (events_topic.topic_arn, "SNS topic of OrderProcessed events."),
            "DLQUrl": (queue.dlq_url, "SQS dead-letter queue URL (see README, runbook 'DLQ messages')."),
            "DLQArn": (queue.dlq_arn, "SQS dead-letter queue ARN."),
            "OrderQueueArn": (queue.queue_arn, "SQS order queue ARN."),
            "ApiHandlerFunctionName": (api_handler.function_name, "API-handler Lambda function name."),
            "OrderProcessorFunctionName": (processor.function_name, "Order-processor Lambda function name."),
            "AlarmTopicArn": (alarm_topic.topic_arn, "SNS topic the CloudWatch alarms notify."),
            "RestApiId": (api.rest_api_id, "API Gateway REST API id."),
            "ApiStageName": (api.stage_name, "API Gateway stage name."),
            "ApiAuthorization": (config.api_authorization.value, "How callers authenticate: AWS_IAM, API_KEY or NONE."),
            "Region": (config.region, "AWS region of every resource."),
            "DashboardName": (names.dashboard, "CloudWatch dashboard of this environment."),
        }
        for output_id, (value, description) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description)
        if api.api_key_id is not None:
            TerraformOutput(self, "ApiKeyId", value=api.api_key_id, description="API key id (fetch the value with `aws apigateway get-api-key --include-value`).")

        # Public, typed attributes for tests and for stacks that build on this one.
        self.encryption_key = key
        self.queue = queue
        self.table = table
        self.events_topic = events_topic
        self.alarm_topic = alarm_topic
        self.api_handler = api_handler
        self.processor = processor
        self.api = api
        self.alarms = alarms
