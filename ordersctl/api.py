"""HTTP adapter for the orders REST API: SigV4 (AWS_IAM), x-api-key (API_KEY) or no auth."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

AUTH_MODES = ("AWS_IAM", "API_KEY", "NONE")


@dataclass(frozen=True)
class ApiResponse:
    """Status, parsed body (or text) and latency of one request."""

    status: int
    body: Any
    latency_seconds: float


def sign_sigv4(*, method: str, url: str, body: bytes | None, headers: dict[str, str], credentials: Any, region: str) -> dict[str, str]:
    """Headers of a request signed with SigV4 for service ``execute-api``."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


class OrdersApi:
    """POST /orders and GET /orders/{id} against one stage URL."""

    def __init__(
        self,
        base_url: str,
        *,
        authorization: str = "AWS_IAM",
        region: str | None = None,
        api_key: str | None = None,
        credentials: Any = None,
        timeout_seconds: float = 10.0,
        session_factory: Callable[[], Any] | None = None,
    ) -> None:
        if authorization not in AUTH_MODES:
            raise ValueError(f"ApiAuthorization must be one of {', '.join(AUTH_MODES)} (given {authorization!r})")
        if authorization == "API_KEY" and not api_key:
            raise ValueError("the API uses API keys: pass --api-key (or ORDERS_API_KEY); fetch it with `aws apigateway get-api-key --api-key <ApiKeyId> --include-value`")
        if authorization == "AWS_IAM" and (credentials is None or not region):
            raise ValueError("the API uses AWS_IAM: AWS credentials and a region are needed to sign requests (configure the AWS CLI / environment)")
        import requests

        self.base_url = base_url.rstrip("/")
        self.authorization = authorization
        self.region = region
        self.api_key = api_key
        self.credentials = credentials
        self.timeout_seconds = timeout_seconds
        self._session_factory = session_factory or requests.Session

    def session(self) -> Any:
        """A new HTTP session (one per thread: requests sessions are not thread-safe)."""
        return self._session_factory()

    def _send(self, session: Any, method: str, path: str, payload: Any = None) -> ApiResponse:
        url = self.base_url + path
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else None
        headers = {"content-type": "application/json", "accept": "application/json"} if body is not None else {"accept": "application/json"}
        if self.authorization == "API_KEY":
            headers["x-api-key"] = self.api_key or ""
        elif self.authorization == "AWS_IAM":
            headers = sign_sigv4(method=method, url=url, body=body, headers=headers, credentials=self.credentials, region=self.region or "")
        started = time.perf_counter()
        response = session.request(method, url, data=body, headers=headers, timeout=self.timeout_seconds)
        latency = time.perf_counter() - started
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = response.text
        return ApiResponse(status=response.status_code, body=parsed, latency_seconds=latency)

    def create_order(self, session: Any, order: dict[str, Any]) -> ApiResponse:
        """POST /orders."""
        return self._send(session, "POST", "/orders", order)

    def get_order(self, session: Any, order_id: str) -> ApiResponse:
        """GET /orders/{orderId}."""
        return self._send(session, "GET", "/orders/" + quote(order_id, safe=""))
