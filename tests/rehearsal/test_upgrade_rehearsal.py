"""Upgrade rehearsals, run for real: the current commit deployed and filled with orders, then upgraded to a change.

Each runs ``make rehearse ARGS="--from HEAD"`` in a copy of this checkout whose HEAD is the code under
test and whose working tree holds one change (tests/rehearsal/jobs.py): a handler edit, a
configuration change in a prod-like environment, and a renamed table that the guard must stop.
"""

from __future__ import annotations

import re
import socket

import pytest

from tests.rehearsal.conftest import phase_lines, state_resources

pytestmark = [pytest.mark.rehearsal, pytest.mark.timeout(2400)]

UPGRADE_PHASES = ["base", "synth", "prepare", "init", "validate", "emulator", "plan", "apply", "seed", "upgrade-plan", "review", "upgrade", "verify", "pipeline", "re-plan", "destroy"]
DATA_KEPT = "data kept: 40/40 stored, 10/10 queued, 1/1 in DLQ"
TABLE = "aws_dynamodb_table.orders-table_B86164D2"


def routine_changes(stdout: str) -> dict[str, str]:
    """``{address: action}`` of the routine list in the review's summary."""
    block = stdout[stdout.index("<summary>Routine") : stdout.index("</details>", stdout.index("<summary>Routine"))]
    return {match.group(1): match.group(2) for match in re.finditer(r"- `([^`]+)` (\w+)", block)}


def upgrade_line(stdout: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith("upgrade from ")]
    return line


def moto_stopped(stdout: str) -> bool:
    found = re.search(r"moto on http://127\.0\.0\.1:(\d+)", stdout)
    assert found, f"no moto address in the output:\n{stdout}"
    port = int(found.group(1))
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.rehearsal_jobs("upgrade-handler-dev")
def test_a_handler_change_updates_only_the_functions_of_the_lambda_package_in_place_and_keeps_every_order(rehearsals):
    result = rehearsals.result("upgrade-handler-dev")
    assert result.returncode == 0, result.tail()
    phases = phase_lines(result.stdout)
    assert list(phases) == UPGRADE_PHASES and all(line.startswith("[  ok]") for line in phases.values()), phases
    changes = routine_changes(result.stdout)
    # The three functions share one Lambda package: a handler change updates each one's code, nothing else.
    assert changes == {
        "aws_lambda_function.api-handler_function_7653A31C": "update",
        "aws_lambda_function.order-processor_function_1C3D27F1": "update",
        "aws_lambda_function.event-sweeper_function_F86F701B": "update",
    }
    assert re.fullmatch(rf"upgrade from [0-9a-f]{{7,}}: 3 updated in place, 0 replaced, 0 destroyed, 0 added; {DATA_KEPT}", upgrade_line(result.stdout))
    # The orders went in through the base commit's handlers and were checked through the new ones.
    assert "40 stored (events published), 10 queued, 1 in the DLQ, through the Lambda package of" in phases["seed"]
    assert "the queued orders were processed by the new handlers and the DLQ message redriven by ordersctl" in phases["verify"]
    assert "real changes on re-plan 0 (emulator noise 0)" in result.stdout.splitlines()[-1] and moto_stopped(result.stdout)


@pytest.mark.rehearsal_jobs("upgrade-config-staging")
def test_a_configuration_change_in_a_prod_like_environment_is_in_place_keeps_the_data_and_every_protection_refuses(rehearsals):
    result = rehearsals.result("upgrade-config-staging")
    assert result.returncode == 0, result.tail()
    assert list(phase_lines(result.stdout)) == UPGRADE_PHASES
    changes = routine_changes(result.stdout)
    assert set(changes.values()) == {"update"}
    assert {address.split(".")[0] for address in changes} == {"aws_lambda_function", "aws_cloudwatch_metric_alarm", "aws_cloudwatch_log_group"}
    assert "aws_lambda_function.order-processor_function_1C3D27F1" in changes and "aws_cloudwatch_metric_alarm.alarms_queue-depth_0FB7DABB" in changes
    assert re.fullmatch(rf"upgrade from [0-9a-f]{{7,}}: {len(changes)} updated in place, 0 replaced, 0 destroyed, 0 added; {DATA_KEPT}", upgrade_line(result.stdout))
    destroy = result.stdout[result.stdout.index("] destroy") :]
    assert "lifecycle.prevent_destroy refused the destroy of 4 resources as it should" in destroy
    assert "DynamoDB deletion protection refused the delete of orders-table-staging as it should" in destroy
    assert re.search(r"the KMS deletion window held: key \S+ is pending deletion for 30 days", destroy)


@pytest.mark.rehearsal_jobs("upgrade-table-renamed-dev")
def test_a_renamed_table_is_stopped_by_the_guard_before_anything_of_the_upgrade_is_applied(rehearsals):
    result = rehearsals.result("upgrade-table-renamed-dev")
    assert result.returncode != 0, result.tail()
    phases = phase_lines(result.stdout)
    assert list(phases) == [*UPGRADE_PHASES[: UPGRADE_PHASES.index("review") + 1], "cleanup"], phases
    assert phases["review"].startswith("[FAIL]") and f"not allowed: {TABLE}" in phases["review"]
    assert f"⛔ blocked `{TABLE}` replace, forced by `name`: replacing it loses every stored order in the table" in result.stdout
    assert f"allow-data-loss: {TABLE}" in result.stdout
    assert "(stopped by the guard: nothing applied)" in upgrade_line(result.stdout)
    # One apply ran, the base's; the upgrade's saved plan was never applied. Then the base was destroyed.
    applies = sorted(path.name for path in (result.workdir / "logs").glob("*-apply*.log"))
    assert len(applies) == 1 and applies[0].endswith("-apply-base.log"), applies
    assert phases["cleanup"].startswith("[  ok]") and state_resources(result.workdir / "state" / "terraform.tfstate") == []
    assert result.stdout.strip().splitlines()[-2].startswith("FAILED") and moto_stopped(result.stdout)
