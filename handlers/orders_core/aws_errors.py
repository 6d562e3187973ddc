"""What an AWS failure means for the next attempt: one explicit class per error code, and whether the call took effect.

Every error code the handlers can meet has a class here (``ERROR_CLASSES``):

- ``THROTTLE``: the request was refused for rate (the service's own, or KMS's on the queue's and
  topic's customer-managed key). Nothing was done; another attempt after a pause may pass. The API
  answers 503 with ``Retry-After``.
- ``RETRY``: an AWS-side fault (500, unavailable, a transaction conflict). Another attempt may pass;
  the failed one may or may not have taken effect.
- ``CLIENT``: the request itself was wrong, or its condition failed (``ConditionalCheckFailed``):
  the same request gets the same answer. Either the adapter handles it, or it is a bug (500).
- ``FATAL``: the deployment is broken (no access, no such queue/table/topic, the key disabled or
  gone). No retry; 500 on the API, a failed record in the processor, and the errors alarms page.

The table is derived from botocore's own service models: for every operation the handlers call
(``HANDLER_OPERATIONS``), each error its model declares, plus the errors every AWS API can return
(``COMMON_ERRORS``, AWS's "Common Errors" pages). ``tests/handlers/test_error_codes.py`` walks the
installed botocore's models and fails when one declares a code this table does not classify.

SQS speaks the JSON protocol but keeps its old query error codes (``awsQueryCompatible``): an error
arrives as the shape name (``KmsThrottled``) or, through the ``x-amzn-query-error`` header, as the
query code (``KMS.ThrottlingException``), which botocore then puts in ``Error.Code`` (the shape
name moves to ``Error.QueryErrorCode``). Both spellings are classified (``SQS_QUERY_CODES``).
SNS (query protocol) answers with the model's ``error.code`` (``KMSThrottling``), never with the
exception's class name (``KMSThrottlingException``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorClass(StrEnum):
    """What an error means for another attempt of the same request."""

    THROTTLE = "throttle"
    RETRY = "retry"
    CLIENT = "client"
    FATAL = "fatal"


#: Every AWS operation the handlers call (botocore service name -> operation names). The
#: least-privilege e2e test checks that the recorded calls are among these.
HANDLER_OPERATIONS: dict[str, tuple[str, ...]] = {
    "sqs": ("SendMessage",),
    "dynamodb": ("GetItem", "PutItem", "Query", "TransactWriteItems"),
    "sns": ("PublishBatch",),
}

_T, _R, _C, _F = ErrorClass.THROTTLE, ErrorClass.RETRY, ErrorClass.CLIENT, ErrorClass.FATAL

#: SQS: the model's shape name -> the query code SQS sends in ``x-amzn-query-error``
#: (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html, "Errors").
SQS_QUERY_CODES: dict[str, str] = {
    "InvalidAddress": "InvalidAddress",
    "InvalidMessageContents": "InvalidMessageContents",
    "InvalidSecurity": "InvalidSecurity",
    "KmsAccessDenied": "KMS.AccessDeniedException",
    "KmsDisabled": "KMS.DisabledException",
    "KmsInvalidKeyUsage": "KMS.InvalidKeyUsageException",
    "KmsInvalidState": "KMS.InvalidStateException",
    "KmsNotFound": "KMS.NotFoundException",
    "KmsOptInRequired": "KMS.OptInRequired",
    "KmsThrottled": "KMS.ThrottlingException",
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "RequestThrottled": "RequestThrottled",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}

#: SQS SendMessage, by shape name (the query codes get the same class).
_SQS: dict[str, ErrorClass] = {
    "InvalidAddress": _F,  # the queue URL names no valid account: a deployment fault
    "InvalidMessageContents": _C,
    "InvalidSecurity": _F,  # not HTTPS/SigV4: the client's configuration
    "KmsAccessDenied": _F,
    "KmsDisabled": _F,
    "KmsInvalidKeyUsage": _F,
    "KmsInvalidState": _F,  # e.g. pending deletion
    "KmsNotFound": _F,
    "KmsOptInRequired": _F,
    "KmsThrottled": _T,
    "QueueDoesNotExist": _F,
    "RequestThrottled": _T,
    "UnsupportedOperation": _C,
}

#: DynamoDB GetItem, PutItem, Query, TransactWriteItems (JSON protocol: the code is the shape name).
_DYNAMODB: dict[str, ErrorClass] = {
    "ConditionalCheckFailedException": _C,  # the conditional PutItem's "already stored": handled
    "IdempotentParameterMismatchException": _C,
    "InternalServerError": _R,
    "ItemCollectionSizeLimitExceededException": _C,  # only with local secondary indexes (none here)
    "ProvisionedThroughputExceededException": _T,
    "ReplicatedWriteConflictException": _R,  # a global-table replica wrote the item at the same time
    "RequestLimitExceeded": _T,
    "ResourceNotFoundException": _F,  # no such table or index
    "ThrottlingException": _T,
    # Cancelled as a whole: a conflicting write or throttling of one item, or a failed condition.
    # Every transaction here is idempotent (SET eventPublished), so repeating it is safe.
    "TransactionCanceledException": _R,
    "TransactionConflictException": _R,
    "TransactionInProgressException": _R,
}

#: SNS PublishBatch (query protocol: the model's ``error.code``).
_SNS: dict[str, ErrorClass] = {
    "AuthorizationError": _F,
    "BatchEntryIdsNotDistinct": _C,
    "BatchRequestTooLong": _C,
    "EmptyBatchRequest": _C,
    "EndpointDisabled": _C,  # mobile push endpoints: never ours
    "InternalError": _R,
    "InvalidBatchEntryId": _C,
    "InvalidParameter": _C,
    "InvalidSecurity": _F,
    "KMSAccessDenied": _F,
    "KMSDisabled": _F,
    "KMSInvalidState": _F,
    "KMSNotFound": _F,
    "KMSOptInRequired": _F,
    "KMSThrottling": _T,
    "NotFound": _F,  # no such topic
    "ParameterValueInvalid": _C,
    "PlatformApplicationDisabled": _C,  # mobile push: never ours
    "TooManyEntriesInBatchRequest": _C,
    "ValidationException": _C,
}

#: Errors any AWS API may return, whatever its model says: AWS's "Common Errors" pages
#: (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html,
#: https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html,
#: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html) and the
#: throttling and transient codes botocore's standard retry mode knows (a test keeps them here).
COMMON_ERRORS: dict[str, ErrorClass] = {
    # rate
    "BandwidthLimitExceeded": _T,
    "EC2ThrottledException": _T,
    "LimitExceededException": _T,
    "PriorRequestNotComplete": _T,
    "RequestThrottledException": _T,
    "SlowDown": _T,
    "Throttled": _T,
    "ThrottledException": _T,
    "Throttling": _T,
    "TooManyRequestsException": _T,
    # AWS-side faults and timeouts
    "InternalFailure": _R,
    "InternalServerErrorException": _R,
    "RequestTimeout": _R,
    "RequestTimeoutException": _R,
    "ServiceUnavailable": _R,
    "ServiceUnavailableException": _R,
    # a clock off by more than 5 minutes: botocore corrects its offset after such an answer
    "RequestExpired": _R,
    "RequestTimeTooSkewed": _R,
    # the request is malformed: a bug here, never worth repeating
    "InvalidAction": _C,
    "InvalidParameterCombination": _C,
    "InvalidParameterValue": _C,
    "InvalidQueryParameter": _C,
    "MalformedQueryString": _C,
    "MissingAction": _C,
    "MissingParameter": _C,
    "SerializationException": _C,
    "UnknownOperationException": _C,
    "ValidationError": _C,
    # credentials, signature, permissions, account: the deployment
    "AccessDenied": _F,
    "AccessDeniedException": _F,
    "ExpiredToken": _F,
    "ExpiredTokenException": _F,
    "IncompleteSignature": _F,
    "InvalidClientTokenId": _F,
    "InvalidSignatureException": _F,
    "MissingAuthenticationToken": _F,
    "NotAuthorized": _F,
    "OptInRequired": _F,
    "SignatureDoesNotMatch": _F,
    "UnrecognizedClientException": _F,
}


def _build_table() -> dict[str, ErrorClass]:
    table: dict[str, ErrorClass] = dict(COMMON_ERRORS)
    for codes in (_DYNAMODB, _SNS, _SQS):
        for code, cls in codes.items():
            if table.get(code, cls) is not cls:
                raise AssertionError(f"error code {code!r} is classified twice, differently")
            table[code] = cls
    for shape, query_code in SQS_QUERY_CODES.items():
        table[query_code] = _SQS[shape]
    return table


#: Every classified error code -> its class (one meaning per code across the three services).
ERROR_CLASSES: dict[str, ErrorClass] = _build_table()


def error_codes(error: Any) -> tuple[str, ...]:
    """The codes of a botocore ``ClientError``: ``Error.Code`` and, for SQS, ``Error.QueryErrorCode``."""
    details = (getattr(error, "response", None) or {}).get("Error", {}) or {}
    return tuple(str(details[key]) for key in ("Code", "QueryErrorCode") if details.get(key))


def classify_client_error(error: Any) -> ErrorClass:
    """The class of a service's error answer: its code's (either spelling), else by HTTP status.

    An unlisted code (a model newer than this table) falls back on the status: 429 is a throttle,
    5xx an AWS-side fault, anything else the request's fault.
    """
    for code in error_codes(error):
        if code in ERROR_CLASSES:
            return ERROR_CLASSES[code]
    status = int(((getattr(error, "response", None) or {}).get("ResponseMetadata", {}) or {}).get("HTTPStatusCode") or 0)
    if status == 429:
        return ErrorClass.THROTTLE
    return ErrorClass.RETRY if status >= 500 else ErrorClass.CLIENT
