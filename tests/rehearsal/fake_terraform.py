"""A stand-in ``terraform`` for phase tests: canned answers per command, so each phase runs its real code path without a cloud."""

from __future__ import annotations

import json
import shlex
import stat
from pathlib import Path
from typing import Any

from rehearsal.terraform_cli import TerraformRunner


def fake_terraform(
    directory: Path, *, plan_exit: int = 0, plan_json: Any = None, schema_json: Any = None, schema_exit: int = 0, outputs: Any = None, apply_exit: int = 0, init_exit: int = 0, stderr: str = ""
) -> Path:
    """Write an executable ``terraform`` into ``directory``: version 1.11.4; init and validate exit ``init_exit``; plan exits ``plan_exit``;
    show prints ``plan_json``; ``providers schema`` prints ``schema_json``; apply and output answer as terraform's JSON UI does."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, value in (("plan.json", plan_json), ("schema.json", schema_json), ("outputs.json", outputs)):
        if value is not None:
            path = directory / name
            path.write_text(json.dumps(value))
            files[name] = shlex.quote(str(path))
    applied = json.dumps({"type": "change_summary", "changes": {"add": 1, "change": 2, "remove": 0, "operation": "apply"}})
    script = "\n".join(
        [
            "#!/bin/sh",
            f'echo "$@" >> {shlex.quote(str(directory / "calls.txt"))}',
            'case "$1" in',
            """  version) echo '{"terraform_version": "1.11.4"}'; exit 0;;""",
            f"  init|validate) exit {init_exit};;",
            # Like terraform, a plan with -out=FILE saves the plan there.
            '  plan) for arg in "$@"; do case "$arg" in -out=*) echo "saved plan $$" > "${arg#-out=}";; esac; done',
            f"        echo 'planned'; echo {shlex.quote(stderr)} >&2; exit {plan_exit};;",
            f"  show) {'cat ' + files['plan.json'] if 'plan.json' in files else 'echo not a plan >&2; exit 1'}; exit 0;;",
            f"  providers) {'cat ' + files['schema.json'] if 'schema.json' in files else 'true'}; exit {schema_exit};;",
            f"  apply) echo {shlex.quote(applied)}; exit {apply_exit};;",
            f"  output) {'cat ' + files['outputs.json'] if 'outputs.json' in files else 'echo {}'}; exit 0;;",
            "esac",
            "exit 1",
            "",
        ]
    )
    binary = directory / "terraform"
    binary.write_text(script)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return binary


def runner(binary: Path, work: Path) -> TerraformRunner:
    """A TerraformRunner of ``binary`` in ``work`` (logs next to it)."""
    work.mkdir(parents=True, exist_ok=True)
    logs = work.parent / "logs"
    logs.mkdir(exist_ok=True)
    return TerraformRunner(str(binary), work, logs, {"PATH": "/usr/bin:/bin"})


def calls(directory: Path) -> list[str]:
    """The command lines the fake terraform was run with, in order."""
    path = directory / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []
