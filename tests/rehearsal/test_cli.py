"""``python -m rehearsal`` arguments and the failures that need no terraform run."""

from __future__ import annotations

import io
import socket

import pytest

from rehearsal.__main__ import parse_args
from rehearsal.emulator import EmulatorError, RehearsalEmulator
from rehearsal.runner import Rehearsal, RehearsalOptions


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
    assert [p.split(":")[0] for p in problems] == ["until", "target", "moto_port"]


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
