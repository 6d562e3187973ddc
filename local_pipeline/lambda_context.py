"""A Lambda context object for in-process invocations (what Powertools' Logger and Tracer read)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

#: The account id moto uses unless told otherwise; ARNs built locally must agree with it.
LOCAL_ACCOUNT_ID = "123456789012"


@dataclass
class LocalLambdaContext:
    """The attributes and method of ``LambdaContext`` that handlers and Powertools use."""

    function_name: str
    region: str
    memory_limit_in_mb: int = 256
    timeout_seconds: int = 30
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN, as Lambda passes it."""
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """The log group Lambda would write to."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """A log stream name in Lambda's format."""
        return time.strftime("%Y/%m/%d") + "/[$LATEST]local"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (not enforced) timeout."""
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))
