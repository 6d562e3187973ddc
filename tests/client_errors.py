"""botocore ``ClientError``s shaped as botocore builds them from a service's error response, for tests that inject one."""

from __future__ import annotations

from botocore.exceptions import ClientError


def client_error(code: str, operation: str, *, status: int = 400, message: str = "injected by a test", query_code: str | None = None) -> ClientError:
    """A ``ClientError`` for ``operation`` with ``Error.Code`` ``code`` (and SQS's ``Error.QueryErrorCode``) and HTTP ``status``."""
    error = ClientError(
        {
            "Error": {"Code": code, "Message": message},
            # Every key botocore's parser sets; the code under test reads HTTPStatusCode only.
            "ResponseMetadata": {"RequestId": "test-request", "HostId": "", "HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        },
        operation,
    )
    if query_code is not None:
        # botocore puts the awsQuery code of a JSON-protocol SQS error here (orders_core/aws_errors.py reads it);
        # botocore-stubs' Error TypedDict lists only Code and Message.
        error.response["Error"]["QueryErrorCode"] = query_code  # type: ignore[typeddict-unknown-key]
    return error
