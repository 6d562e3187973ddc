"""Load generator child of the pipeline benchmark: POST N orders at concurrency C, print statuses and latencies as JSON.

A separate process, so the client does not compete for the GIL with the API, moto
and the poller it is measuring. ``python bench/load_client.py URL N C RUN_ID``.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def order(run_id: str, index: int) -> bytes:
    """A valid order body with a unique orderId (same shape as bench.local_env.order)."""
    return json.dumps(
        {
            "orderId": f"bench-{run_id}-{index:06d}",
            "customerId": f"customer-{index % 50}",
            "currency": "USD",
            "items": [{"productId": "sku-1", "quantity": 2, "unitPrice": 9.99}, {"productId": "sku-2", "quantity": 1, "unitPrice": 24.5}],
        }
    ).encode()


def main() -> None:
    """Run the load and print one JSON line."""
    url, n, concurrency, run_id = urlsplit(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if not url.hostname:
        raise SystemExit(f"load_client: {sys.argv[1]!r} is not an http://host:port URL")
    host = url.hostname
    errors: list[str] = []

    def post(i: int) -> tuple[int, float, float, float, int]:
        # A new connection per request: the local API (http.server) answers HTTP/1.0 and
        # closes the connection after each response. Connect and request are timed apart:
        # the connect time shows the server's accept backlog, the rest the request handling.
        conn = http.client.HTTPConnection(host, url.port, timeout=60)
        data = order(run_id, i)
        start = time.perf_counter()
        connected = start
        try:
            conn.connect()
            connected = time.perf_counter()
            conn.request("POST", "/orders", body=data, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            errors.append(type(error).__name__)
            status = 0
        finally:
            conn.close()
        end = time.perf_counter()
        return status, start, end - start, connected - start, i

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(post, range(n)))
    print(json.dumps({"started": started, "finished": time.perf_counter(), "results": results, "errors": errors}))


if __name__ == "__main__":
    main()
