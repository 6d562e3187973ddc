"""Pure pieces of ``ordersctl status``: pick the newest orders and render a human table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ORDER_COLUMNS = ("orderId", "customerId", "status", "totalAmount", "currency", "createdAt")


def newest(orders: Sequence[Mapping[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` orders with the latest ``createdAt`` (then ``timestamp``), newest first."""

    def key(order: Mapping[str, Any]) -> str:
        return str(order.get("createdAt") or order.get("timestamp") or "")

    return [dict(o) for o in sorted(orders, key=key, reverse=True)[:limit]]


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def render(report: Mapping[str, Any]) -> str:
    """The status report as text for a terminal."""
    out = [f"Stack {report['stack']} ({report['region']})", ""]
    queue_rows = [(name, d["visible"], d["in_flight"], d["delayed"]) for name, d in (("order queue", report["queue"]), ("dead-letter queue", report["dlq"]))]
    out += _table(("queue", "visible", "in flight", "delayed"), queue_rows)
    if report["dlq"]["visible"]:
        out.append(f"! {report['dlq']['visible']} message(s) in the DLQ: inspect with `ordersctl redrive --dry-run`.")
    out.append("")
    alarms = report["alarms"]
    if alarms:
        out += _table(("alarm", "state", "since"), [(a["name"], a["state"], a.get("updated") or "") for a in alarms])
        firing = [a["name"] for a in alarms if a["state"] == "ALARM"]
        if firing:
            out.append(f"! {len(firing)} alarm(s) firing: {', '.join(firing)}")
    else:
        out.append(f"No alarms named {report['alarm_prefix']}*-{report['suffix']}.")
    out.append("")
    orders = report["orders"]
    if orders:
        out.append(f"Newest {len(orders)} order(s):")
        out += _table(ORDER_COLUMNS, [[o.get(c) for c in ORDER_COLUMNS] for o in orders])
    else:
        out.append("No orders found.")
    return "\n".join(out)


def exit_code(report: Mapping[str, Any]) -> int:
    """0 when healthy; 3 when an alarm fires or the DLQ holds messages (scripts can page on it)."""
    firing = any(a["state"] == "ALARM" for a in report["alarms"])
    return 3 if firing or report["dlq"]["visible"] else 0
