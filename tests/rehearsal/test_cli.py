"""``python -m rehearsal`` arguments and the failures that need no terraform run."""

from __future__ import annotations

import io
import socket
import subprocess
from pathlib import Path

import pytest

from pipeline_config import ConfigError
from rehearsal.__main__ import parse_args
from rehearsal.emulator import EmulatorError, RehearsalEmulator
from rehearsal.runner import Rehearsal, RehearsalOptions

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_rehearse_dev_fully_on_moto():
    options = parse_args([])
    assert (options.suffix, options.until, options.target, options.pipeline_check, options.drift_check) == ("dev", "all", "moto", True, True)
    assert parse_args(["--env", "staging", "--until", "plan"]).suffix == "staging"


def test_apply_against_aws_is_refused(capsys):
    with pytest.raises(SystemExit) as caught:
        parse_args(["--target", "aws"])
    assert caught.value.code == 2
    assert "against AWS the rehearsal only validates, plans or checks drift" in capsys.readouterr().err


def test_invalid_options_are_reported_together():
    problems = RehearsalOptions(until="deploy", target="gcp", moto_port=70000).problems()
    assert [(p.setting, p.value) for p in problems] == [("until", "deploy"), ("target", "gcp"), ("moto_port", 70000)]


def test_a_rehearsal_with_bad_options_raises_one_config_error_naming_setting_value_and_fix(tmp_path):
    """Before any work (no workdir is made): every problem at once, in the project's one shape."""
    with pytest.raises(ConfigError) as caught:
        Rehearsal(RehearsalOptions(stored_orders=0, moto_port=-1, workdir=tmp_path / "never")).run()
    assert [(p.setting, p.value) for p in caught.value.problems] == [("stored_orders", 0), ("moto_port", -1)]
    message = str(caught.value)
    assert message.startswith("Invalid rehearsal options (2 problem(s)):")
    assert "stored_orders: must be a whole number in [1, 500] (given 0). Fix: use e.g. 40 stored and 10 queued" in message
    assert "moto_port: must be a TCP port in [0, 65535] (given -1). Fix: use 0 to pick a free port" in message
    assert not (tmp_path / "never").exists()


def test_bin_rehearse_prints_every_bad_option_as_the_project_prints_a_config_error(tmp_path):
    """The command users run: two bad options, one ``error: Invalid rehearsal options`` list, exit 2, no terraform run."""
    command = [str(ROOT / "bin" / "rehearse"), "--stored-orders", "0", "--moto-port", "70000"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-3] == "error: Invalid rehearsal options (2 problem(s)):", done.stderr
    assert lines[-2].startswith("  - stored_orders: must be a whole number in [1, 500] (given 0). Fix: ")
    assert lines[-1].startswith("  - moto_port: must be a TCP port in [0, 65535] (given 70000). Fix: ")


def test_no_terraform_fails_with_what_is_missing_and_how_to_get_it(tmp_path):
    out = io.StringIO()
    report = Rehearsal(RehearsalOptions(workdir=tmp_path, environ={"PATH": str(tmp_path), "HOME": str(tmp_path)}), out=out).run()
    assert not report.ok
    assert "terraform is not on PATH" in out.getvalue() and "Fix: install Terraform" in out.getvalue()
    assert "FAILED" in out.getvalue().splitlines()[-2]


def test_a_busy_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        emulator = RehearsalEmulator(port=port)
        with pytest.raises(EmulatorError, match=rf"port {port} on 127.0.0.1 is already in use\. Fix: .*--moto-port"):
            emulator.start()
        assert not emulator.running
