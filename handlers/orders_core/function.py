"""``PowertoolsFunction``: a Lambda handler object with Powertools' logger context, tracing and metrics around it.

Both functions are classes (``ApiFunction``, ``ProcessorFunction``) so that the local pipeline can
build one per pipeline with injected settings and clients. This base applies the same three
Powertools decorators to ``lambda_handler`` once per instance. The Powertools objects are passed
in: they stay module-level in each app (one per process, as in a Lambda container).
"""

from __future__ import annotations

from typing import Any

#: What the X-Ray SDK instruments when Powertools' Tracer starts (``Tracer(patch_modules=...)``,
#: both apps): botocore, so every AWS call gets its own subsegment. That is the only library the
#: handlers make remote calls with. Tracer's default (``patch_all``) also patches sqlite3 and tries
#: a dozen more patchers at import, each a failed import scanning the whole ``sys.path``.
TRACED_MODULES: tuple[str, ...] = ("botocore",)


class PowertoolsFunction:
    """Call the instance as the Lambda handler; subclasses implement the undecorated ``lambda_handler``."""

    def __init__(self, *, logger: Any, tracer: Any, metrics: Any, correlation_id_path: str | None = None) -> None:
        self._handler = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(
            tracer.capture_lambda_handler(capture_response=False)(metrics.log_metrics(capture_cold_start_metric=True)(self.lambda_handler))
        )

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Invoke with Powertools' logger context, tracing and metrics around ``lambda_handler``."""
        response: dict[str, Any] = self._handler(event, context)
        return response

    def lambda_handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The function's work, undecorated (call the instance instead)."""
        raise NotImplementedError
