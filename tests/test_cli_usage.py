"""Every command a ``--help`` prints (usage and examples) is one that works from a fresh clone in the project root.

``python -m <module>`` works only inside ``.venv/``; a newcomer copies what ``--help`` shows, so
each usage or example line must start with a make target the Makefile has (with variables its
recipe reads) or an executable under ``bin/``. The slow test runs the entry points literally.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.project_copy import clean_environ

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def _help_of(parse) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        parse()
    assert done.value.code == 0
    return out.getvalue()


def _ordersctl_helps() -> list[str]:
    from ordersctl.cli import build_parser

    commands = ["status", "redrive", "smoke", "load", "preflight"]
    return [_help_of(lambda: build_parser().parse_args(["--help"]))] + [_help_of(lambda c=c: build_parser().parse_args([c, "--help"])) for c in commands]


def _helps() -> dict[str, list[str]]:
    from bench.__main__ import parse_args as bench_args
    from local_pipeline.__main__ import parse_args as local_args
    from rehearsal.__main__ import parse_args as rehearsal_args
    from rehearsal.plan_guard import parse_args as plan_guard_args
    from tools.synth_compare import main as synth_compare

    return {
        "local pipeline": [_help_of(lambda: local_args(["--help"]))],
        "rehearsal": [_help_of(lambda: rehearsal_args(["--help"]))],
        "ordersctl": _ordersctl_helps(),
        "bench": [_help_of(lambda: bench_args(["--help"]))],
        "synth-compare": [_help_of(lambda: synth_compare(["--help"]))],
        "plan guard": [_help_of(lambda: plan_guard_args(["--help"]))],
    }


def commands_in(help_text: str) -> list[str]:
    """The usage line (argparse wraps it) and every example: the lines of ``help_text`` a reader would run."""
    usage = help_text.split("\n\n", 1)[0]
    found = [" ".join(usage.split()).removeprefix("usage: ")]
    in_examples = False
    for line in help_text.splitlines():
        if line.strip().lower().rstrip(":") == "examples":
            in_examples = True
            continue
        if in_examples and not line.startswith("  "):
            in_examples = False
        stripped = line.strip()
        if in_examples or re.match(r"(python3? -m \S|\.venv/bin/python|make [a-z]|bin/\S)", stripped):
            found.append(stripped.split("   #")[0].strip())
    return [c for c in found if c]


def problem_with(command: str) -> str | None:
    """Why ``command`` would not work from a fresh clone in the project root, or None."""
    words = command.split()
    if words[0] == "make":
        target = words[1]
        if not re.search(rf"^{re.escape(target)}:", MAKEFILE, re.MULTILINE):
            return f"the Makefile has no target {target!r}"
        for variable in re.findall(r"\b([A-Z_]+)=", command):
            if f"$({variable})" not in MAKEFILE:
                return f"the Makefile never reads {variable}"
        return None
    if words[0].startswith("bin/"):
        script = ROOT / words[0]
        return None if script.is_file() and os.access(script, os.X_OK) else f"{words[0]} is not an executable file"
    if words[:2] == ["python3", "-m"]:
        # Only a module that needs nothing but the standard library runs so: try it with the system's python3, no .venv/.
        done = subprocess.run(["python3", "-m", words[2], "--help"], cwd=ROOT, env={"PATH": "/usr/local/bin:/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
        return None if done.returncode == 0 else f"python3 -m {words[2]} fails outside .venv/: {done.stderr.strip()[-300:]}"
    return f"{words[0]!r} is neither a make target nor a bin/ script (python -m works only inside .venv/)"


def test_the_checker_rejects_what_only_works_inside_the_environment():
    assert problem_with("python -m rehearsal --env dev")
    assert problem_with("python3 -m rehearsal --env dev")  # needs the project's packages
    assert problem_with("python3 -m rehearsal.plan_guard plan.json") is None  # the standard library only
    assert problem_with("make rehersal ENV=dev")
    assert problem_with("make local NOPE=1")
    assert problem_with("bin/nothing --help")
    assert problem_with('make local ARGS="--port 0"') is None
    assert problem_with("bin/rehearse --until plan") is None


def test_every_help_shows_commands_that_work_from_a_fresh_clone():
    problems = []
    for tool, texts in _helps().items():
        commands = [command for text in texts for command in commands_in(text)]
        assert commands, f"{tool}: no usage line found"
        problems += [f"{tool}: `{command}`: {why}" for command in commands if (why := problem_with(command))]
    assert problems == []


def test_the_rehearsal_help_shows_its_examples():
    (text,) = _helps()["rehearsal"]
    commands = commands_in(text)
    assert sum(command.startswith("bin/rehearse") for command in commands) >= 5
    assert any(command.startswith("make rehearse ENV=") for command in commands)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command, usage",
    [
        (["bin/rehearse", "--help"], "usage: bin/rehearse"),
        (["bin/ordersctl", "status", "--help"], "usage: bin/ordersctl status"),
        (["make", "--no-print-directory", "local", "ARGS=--help"], 'usage: make local ARGS="'),
    ],
)
def test_the_entry_points_run_as_their_help_shows(command, usage):
    done = subprocess.run(command, cwd=ROOT, env=clean_environ(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(usage), done.stdout[:300]
