"""Every ``make rehearse`` the suite runs, by name, longest first (the order they start in).

The three upgrade rehearsals run in a copy of this checkout, committed as its own HEAD, with one
change applied on top (``--from HEAD``): the upgrade from the current commit to the change.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.rehearsal.conftest import Job

#: The handler edit: a new module-level name in the processor; both functions share the package.
HANDLER_EDIT = "\n\n# Added by tests/rehearsal (upgrade rehearsal of a handler change).\nUPGRADE_REHEARSAL_EDIT = True\n"
#: The configuration change: memory, an alarm threshold and the log retention of staging.
CONFIG_CHANGE = {"processor_memory_mb": 512, "queue_depth_threshold": 600, "log_retention_days": 60}
TABLE_NAME_BEFORE = 'resource_name("orders-table", self.suffix)'
TABLE_NAME_AFTER = 'resource_name("orders-v2", self.suffix)'


def change_a_handler(project: Path) -> None:
    """Edit the processor's code (both functions deploy the same package)."""
    app = project / "handlers" / "order_processor" / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + HANDLER_EDIT, encoding="utf-8")


def change_the_configuration(project: Path) -> None:
    """Staging's processor memory, queue-depth alarm threshold and log retention, through cdktf.json."""
    path = project / "cdktf.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document.setdefault("context", {}).setdefault("orderPipeline", {})
    context["staging"] = {**context.get("staging", {}), **CONFIG_CHANGE}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def rename_the_table(project: Path) -> None:
    """The orders table gets another name, which DynamoDB can only do by replacing it."""
    naming = project / "pipeline_config" / "naming.py"
    text = naming.read_text(encoding="utf-8")
    if text.count(TABLE_NAME_BEFORE) != 1:
        raise AssertionError(f"the table's name is no longer built by {TABLE_NAME_BEFORE} in {naming}: update tests/rehearsal/jobs.py")
    naming.write_text(text.replace(TABLE_NAME_BEFORE, TABLE_NAME_AFTER), encoding="utf-8")


#: The upgrade rehearsals skip the drift phase: they prove the upgrade, the fresh rehearsal proves the drift check (about a minute each).
UPGRADE = "--from HEAD --no-drift-check"

JOBS: dict[str, Job] = {
    "upgrade-config-staging": Job("staging", UPGRADE, change=change_the_configuration),
    "upgrade-handler-dev": Job("dev", UPGRADE, change=change_a_handler),
    "upgrade-table-renamed-dev": Job("dev", UPGRADE, change=rename_the_table, keep_workdir=True),
    "fresh-dev": Job("dev"),
    "failed-apply-dev": Job("dev", "--no-pipeline-check", extra_env=(("REHEARSAL_MOTO_REJECT_KMS_KEY", "1"),), keep_workdir=True),
    "plan-staging": Job("staging", "--until plan"),
    "plan-prod": Job("prod", "--until plan"),
    "plan-account": Job("account", "--until plan"),
}
