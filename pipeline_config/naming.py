"""Every AWS resource name of the pipeline comes from here: ``<component>-<suffix>``.

The stack, the local pipeline and ordersctl all call these functions, so a queue
is called the same thing in Terraform, in the emulator and in the CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROJECT = "orders"

#: Lowercase letters, digits and single hyphens; starts with a letter, ends with
#: a letter or digit. Valid in every AWS name this stack creates (SQS, Lambda,
#: IAM, DynamoDB, SNS, CloudWatch, KMS alias) and in Terraform workspace names.
SUFFIX_PATTERN = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$")
SUFFIX_MAX_LENGTH = 24

# The tightest AWS limits that apply to names built here.
LAMBDA_NAME_MAX = 64
IAM_ROLE_NAME_MAX = 64
SQS_NAME_MAX = 80
EVENTBRIDGE_RULE_NAME_MAX = 64

#: The orders table's GSI for a customer's orders (customerId + timestamp). The handlers
#: package keeps its own copy (it ships alone to Lambda); the e2e tests query through it.
CUSTOMER_INDEX_NAME = "CustomerIdIndex"
#: The orders table's sparse GSI of orders whose event is not yet confirmed published (the event
#: sweep reads it). The handlers package keeps its own copy; a test ties the two.
UNPUBLISHED_INDEX_NAME = "UnpublishedIndex"

#: First part of the CloudWatch namespace of the handlers' own metrics (``OrderConflicts``, ...);
#: each environment publishes under ``<base>/<suffix>`` (``ResourceNames.metrics_namespace``), so
#: environments sharing an account and region never feed each other's alarms.
METRICS_NAMESPACE_BASE = "OrderPipeline"


#: The REST API's stage (its invoke URL ends in it; API Gateway names the execution log group by it).
API_STAGE_NAME = "v1"
#: API Gateway's own name for a stage's execution log group: ``<prefix><rest-api-id>/<stage>``.
EXECUTION_LOG_GROUP_PREFIX = "API-Gateway-Execution-Logs_"
#: Tag keys the stack's provider puts on every resource (``default_tags``); config may not redefine them.
PROJECT_TAG_VALUE = "order-pipeline"
DEFAULT_TAG_KEYS = ("Project", "Environment", "ManagedBy")


def default_tags(suffix: str) -> dict[str, str]:
    """The tags every resource of environment ``suffix`` carries (the provider's default tags)."""
    return dict(zip(DEFAULT_TAG_KEYS, (PROJECT_TAG_VALUE, suffix, "cdktf"), strict=True))


def api_execution_log_group(rest_api_id: str, stage: str = API_STAGE_NAME) -> str:
    """The log group API Gateway writes a stage's execution logs to (the stack pre-creates it)."""
    return f"{EXECUTION_LOG_GROUP_PREFIX}{rest_api_id}/{stage}"


#: ``ENVIRONMENT_SUFFIX`` value that selects the account-level stacks; also the reserved
#: suffix their names start with (``orders-account-<region>``), so no environment may use it.
ACCOUNT_SELECTOR = "account"


def is_reserved_suffix(suffix: str) -> bool:
    """True for suffixes an environment may not use: ``account`` and ``account-...``."""
    return suffix == ACCOUNT_SELECTOR or suffix.startswith(f"{ACCOUNT_SELECTOR}-")


def resource_name(component: str, suffix: str) -> str:
    """Return ``<component>-<suffix>``, the one naming rule of the project."""
    return f"{component}-{suffix}"


def stack_name(suffix: str) -> str:
    """Return the CDKTF stack name for an environment, e.g. ``orders-dev``."""
    return resource_name(PROJECT, suffix)


def suffix_of_stack(name: str) -> str | None:
    """The environment suffix of a stack name (``orders-dev`` -> ``dev``); None when it is not one of ours."""
    prefix = stack_name("")
    return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else None


#: Every CloudWatch alarm of the project starts with this (``ResourceNames.alarm``), whatever its environment.
ALARM_NAME_PREFIX = f"{PROJECT}-"


def function_role_name(function_name: str) -> str:
    """The IAM role of a Lambda function (``PythonFunction`` creates it): ``<function>-role``."""
    return f"{function_name}-role"


def account_stack_name(region: str) -> str:
    """The account-level stack of one region, e.g. ``orders-account-us-east-1``."""
    return stack_name(f"{ACCOUNT_SELECTOR}-{region}")


def account_cloudwatch_role_name(region: str) -> str:
    """API Gateway's CloudWatch role made by the account-level stack (IAM is global: the region is in it)."""
    return f"{PROJECT}-apigw-cloudwatch-{region}"


def environment_cloudwatch_role_name(api_name: str) -> str:
    """API Gateway's CloudWatch role made by an environment's stack that owns the account setting."""
    return f"{api_name}-apigw-cloudwatch"


def stack_of_cloudwatch_role(role_name: str) -> str | None:
    """The stack that creates an API Gateway CloudWatch role of this project, from its name; None for other roles."""
    account = re.fullmatch(rf"{PROJECT}-apigw-cloudwatch-([a-z0-9-]+)", role_name)
    if account:
        return account_stack_name(account.group(1))
    environment = re.fullmatch(rf"{resource_name('orders-api', '(.+)')}-apigw-cloudwatch", role_name)
    return stack_name(environment.group(1)) if environment else None


@dataclass(frozen=True)
class ResourceNames:
    """All physical names for one environment suffix."""

    suffix: str

    @property
    def stack(self) -> str:
        """CDKTF stack (and Terraform workspace) name."""
        return stack_name(self.suffix)

    @property
    def order_queue(self) -> str:
        """SQS order queue."""
        return resource_name("order-queue", self.suffix)

    @property
    def order_dlq(self) -> str:
        """SQS dead-letter queue of the order queue."""
        return resource_name("order-dlq", self.suffix)

    @property
    def orders_table(self) -> str:
        """DynamoDB orders table."""
        return resource_name("orders-table", self.suffix)

    @property
    def order_events_topic(self) -> str:
        """SNS topic the processor publishes OrderProcessed events to."""
        return resource_name("order-events", self.suffix)

    @property
    def alarm_topic(self) -> str:
        """SNS topic CloudWatch alarms publish to."""
        return resource_name("order-alarms", self.suffix)

    @property
    def api(self) -> str:
        """API Gateway REST API."""
        return resource_name("orders-api", self.suffix)

    @property
    def api_handler_function(self) -> str:
        """API-handler Lambda function."""
        return resource_name("orders-api-handler", self.suffix)

    @property
    def order_processor_function(self) -> str:
        """Order-processor Lambda function."""
        return resource_name("order-processor", self.suffix)

    @property
    def event_sweeper_function(self) -> str:
        """Event-sweeper Lambda function (publishes the events of stored orders that never got out)."""
        return resource_name("order-event-sweeper", self.suffix)

    @property
    def event_sweep_schedule(self) -> str:
        """EventBridge rule that runs the event sweeper on a schedule."""
        return resource_name("orders-event-sweep", self.suffix)

    @property
    def kms_alias(self) -> str:
        """Alias of the pipeline's customer-managed KMS key."""
        return "alias/" + resource_name("orders-key", self.suffix)

    @property
    def metrics_namespace(self) -> str:
        """CloudWatch namespace of the handlers' custom metrics in this environment (``OrderPipeline/dev``)."""
        return f"{METRICS_NAMESPACE_BASE}/{self.suffix}"

    @property
    def dashboard(self) -> str:
        """CloudWatch dashboard."""
        return resource_name("orders-dashboard", self.suffix)

    def alarm(self, what: str) -> str:
        """CloudWatch alarm name, e.g. ``alarm("processor-errors")``."""
        return resource_name(f"{ALARM_NAME_PREFIX}{what}", self.suffix)

    @property
    def api_cloudwatch_role(self) -> str:
        """API Gateway's CloudWatch role, when this environment owns the account setting."""
        return environment_cloudwatch_role_name(self.api)

    @property
    def api_access_log_group(self) -> str:
        """Log group of API Gateway access logs."""
        return f"/aws/apigateway/{self.api}/access"

    def length_problems(self) -> list[tuple[str, str, int]]:
        """Names longer than their AWS limit, as (what, name, limit)."""
        checks = [
            ("Lambda function name", self.api_handler_function, LAMBDA_NAME_MAX),
            ("Lambda function name", self.order_processor_function, LAMBDA_NAME_MAX),
            ("IAM role name", function_role_name(self.api_handler_function), IAM_ROLE_NAME_MAX),
            ("IAM role name", function_role_name(self.order_processor_function), IAM_ROLE_NAME_MAX),
            ("Lambda function name", self.event_sweeper_function, LAMBDA_NAME_MAX),
            ("IAM role name", function_role_name(self.event_sweeper_function), IAM_ROLE_NAME_MAX),
            ("EventBridge rule name", self.event_sweep_schedule, EVENTBRIDGE_RULE_NAME_MAX),
            ("SQS queue name", self.order_queue, SQS_NAME_MAX),
            ("SQS queue name", self.order_dlq, SQS_NAME_MAX),
        ]
        return [(what, name, limit) for what, name, limit in checks if len(name) > limit]
