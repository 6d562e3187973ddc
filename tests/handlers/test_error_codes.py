"""Every error code botocore's models declare for the handlers' operations has an explicit class (orders_core.aws_errors)."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from orders_core.aws_errors import COMMON_ERRORS, ERROR_CLASSES, HANDLER_OPERATIONS, SQS_QUERY_CODES, ErrorClass, classify_client_error
from tests.client_errors import client_error


def declared_codes(service: str, operation: str) -> dict[str, str]:
    """code -> the model's shape name, for every error the installed botocore's model declares for the operation.

    The code is what arrives in ``Error.Code``: the model's ``error.code`` where it has one (query
    protocol, SNS), else the shape name (JSON protocol); for SQS (awsQueryCompatible) also the
    query code its ``x-amzn-query-error`` header carries.
    """
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    codes: dict[str, str] = {}
    for shape in model.error_shapes:
        codes[shape.metadata.get("error", {}).get("code", shape.name)] = shape.name
        if service == "sqs":
            assert shape.name in SQS_QUERY_CODES, f"SQS {operation} declares {shape.name}: add its query code (SendMessage's API reference, 'Errors') to SQS_QUERY_CODES"
            codes[SQS_QUERY_CODES[shape.name]] = shape.name
    return codes


CALLS = [(service, operation) for service, operations in HANDLER_OPERATIONS.items() for operation in operations]


@pytest.mark.parametrize("service, operation", CALLS, ids=[f"{s}.{o}" for s, o in CALLS])
def test_every_declared_error_of_every_handler_call_is_classified(service, operation):
    """Fails when botocore's model gains an error code the table does not classify: decide its class in aws_errors.py."""
    codes = declared_codes(service, operation)
    assert codes, f"{service} {operation} declares no errors: is the operation name right?"
    missing = sorted(f"{code} (shape {shape})" for code, shape in codes.items() if code not in ERROR_CLASSES)
    assert not missing, f"classify these {service} {operation} errors in handlers/orders_core/aws_errors.py: {missing}"


def test_every_kms_throttle_spelling_is_a_throttle():
    """The codes that really come back: SNS KMSThrottling, SQS KmsThrottled or KMS.ThrottlingException (not a class name)."""
    for code in ("KMSThrottling", "KmsThrottled", "KMS.ThrottlingException"):
        assert ERROR_CLASSES[code] is ErrorClass.THROTTLE, code
    assert "KMSThrottlingException" not in ERROR_CLASSES  # SNS's exception class name never arrives as a code


def test_botocores_own_throttling_and_transient_codes_are_covered():
    """The common codes: every throttling and transient code botocore's standard retry mode knows has the same meaning here."""
    # botocore's own lists; botocore-stubs leave out private attributes.
    for code in ThrottledRetryableChecker._THROTTLED_ERROR_CODES:  # type: ignore[attr-defined]
        assert ERROR_CLASSES.get(code) in (ErrorClass.THROTTLE, ErrorClass.RETRY), code
    for code in TransientRetryableChecker._TRANSIENT_ERROR_CODES:  # type: ignore[attr-defined]
        assert ERROR_CLASSES.get(code) in (ErrorClass.THROTTLE, ErrorClass.RETRY), code


def test_common_errors_do_not_contradict_the_services():
    for code, cls in COMMON_ERRORS.items():
        assert ERROR_CLASSES[code] is cls


def error(code: str, status: int, query_code: str | None = None) -> ClientError:
    return client_error(code, "Op", status=status, message="m", query_code=query_code or None)


@pytest.mark.parametrize(
    "given, expected",
    [
        (error("KMS.ThrottlingException", 400, "KmsThrottled"), ErrorClass.THROTTLE),
        (error("AWS.SimpleQueueService.NonExistentQueue", 400, "QueueDoesNotExist"), ErrorClass.FATAL),
        (error("ConditionalCheckFailedException", 400), ErrorClass.CLIENT),
        (error("SomethingNewAndThrottled", 429), ErrorClass.THROTTLE),
        (error("SomethingNewOnTheServer", 503), ErrorClass.RETRY),
        (error("SomethingNewAndWrong", 400), ErrorClass.CLIENT),
        (error("", 500), ErrorClass.RETRY),
    ],
)
def test_a_code_is_classified_by_either_spelling_then_by_status(given, expected):
    assert classify_client_error(given) is expected
