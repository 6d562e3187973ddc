"""The names of the stacks' Terraform outputs: written here once, read by every consumer.

The environment stack (``stacks/order_pipeline_stack.py``) writes these outputs; the local
pipeline writes the same names for its local resources (plus two local-only ones), and
``ordersctl``, the local pipeline's ``--attach-outputs`` and the deploy rehearsal read them.
"""

from __future__ import annotations

API_ENDPOINT = "ApiEndpoint"
ORDERS_TABLE_NAME = "OrdersTableName"
ORDER_QUEUE_URL = "OrderQueueUrl"
ORDER_TOPIC_ARN = "OrderTopicArn"
DLQ_URL = "DLQUrl"
DLQ_ARN = "DLQArn"
ORDER_QUEUE_ARN = "OrderQueueArn"
API_HANDLER_FUNCTION_NAME = "ApiHandlerFunctionName"
ORDER_PROCESSOR_FUNCTION_NAME = "OrderProcessorFunctionName"
EVENT_SWEEPER_FUNCTION_NAME = "EventSweeperFunctionName"
EVENT_SWEEP_SCHEDULE_NAME = "EventSweepScheduleName"
ALARM_TOPIC_ARN = "AlarmTopicArn"
REST_API_ID = "RestApiId"
API_STAGE_NAME = "ApiStageName"
API_AUTHORIZATION = "ApiAuthorization"
REGION = "Region"
DASHBOARD_NAME = "DashboardName"
#: Only with ``API_KEY`` authorization.
API_KEY_ID = "ApiKeyId"

#: Every output an environment stack always has, with its description, in the stack's order.
ENVIRONMENT_OUTPUTS: dict[str, str] = {
    API_ENDPOINT: "Base URL of the REST API stage (POST {url}/orders).",
    ORDERS_TABLE_NAME: "DynamoDB orders table.",
    ORDER_QUEUE_URL: "SQS order queue URL.",
    ORDER_TOPIC_ARN: "SNS topic of OrderProcessed events.",
    DLQ_URL: "SQS dead-letter queue URL (see README, runbook 'DLQ messages').",
    DLQ_ARN: "SQS dead-letter queue ARN.",
    ORDER_QUEUE_ARN: "SQS order queue ARN.",
    API_HANDLER_FUNCTION_NAME: "API-handler Lambda function name.",
    ORDER_PROCESSOR_FUNCTION_NAME: "Order-processor Lambda function name.",
    EVENT_SWEEPER_FUNCTION_NAME: "Event-sweeper Lambda function name (publishes the events of stored orders that never got out).",
    EVENT_SWEEP_SCHEDULE_NAME: "EventBridge rule that runs the event sweeper.",
    ALARM_TOPIC_ARN: "SNS topic the CloudWatch alarms notify.",
    REST_API_ID: "API Gateway REST API id.",
    API_STAGE_NAME: "API Gateway stage name.",
    API_AUTHORIZATION: "How callers authenticate: AWS_IAM, API_KEY or NONE.",
    REGION: "AWS region of every resource.",
    DASHBOARD_NAME: "CloudWatch dashboard of this environment.",
}
API_KEY_ID_DESCRIPTION = "API key id (fetch the value with `aws apigateway get-api-key --include-value`)."

#: Written by the local pipeline only: where to point boto3, and the queue that taps published events.
AWS_ENDPOINT_URL = "AwsEndpointUrl"
EVENTS_QUEUE_URL = "EventsQueueUrl"

#: The account-level stack's one output: the IAM role API Gateway writes logs with.
API_GATEWAY_CLOUDWATCH_ROLE_ARN = "ApiGatewayCloudWatchRoleArn"
