"""Shared order logic of both Lambda functions: settings, validation, domain model, adapters.

Layering (after the aws-lambda-handler-cookbook): ``api_handler`` / ``order_processor``
(thin entry points) -> ``orders_core.service`` (logic, no boto3) -> ``orders_core.adapters``
(the only code that calls AWS, through the cached clients of ``orders_core.aws``).
"""
