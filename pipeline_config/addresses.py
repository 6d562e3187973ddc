"""Terraform resource addresses an operator types by hand (a one-time ``terraform import``).

cdktf derives an address from the construct path (``<path joined by _>_<8 hex of its md5>``), so
it is the same in every environment stack. Written here once for ``ordersctl preflight`` and the
runbook; ``tests/stack/test_addresses.py`` ties each one to every synthesized stack.
"""

from __future__ import annotations

#: The API stage's execution log group (``OrdersRestApi`` id ``orders-api``, child ``execution-logs``).
EXECUTION_LOG_GROUP_ADDRESS = "aws_cloudwatch_log_group.orders-api_execution-logs_C8C7C051"


def import_command(stack: str, address: str, import_id: str) -> str:
    """The shell command that adopts an existing resource into ``stack``'s state, once."""
    return f"cd cdktf.out/stacks/{stack} && terraform init && terraform import '{address}' '{import_id}'"
