"""The handler-init benchmark's arithmetic and parsers (the figures themselves live in bench/results)."""

from __future__ import annotations

import pytest

from bench.handlers_init import FULL_VCPU_MB, _importtime, lambda_seconds, memory_table, verdict
from bench.lambda_env import LAYER_CARRIES, LAYER_STRIPPED_PREFIXES, LambdaEnv, layer_requirements, powertools_release


def test_lambda_time_scales_with_the_vcpu_share_up_to_one_vcpu():
    """Given 0.1 s of CPU, 256 MB (0.145 vCPU) takes 1769/256 times longer; above 1,769 MB one thread gains nothing."""
    assert lambda_seconds(0.1, 256) == pytest.approx(0.1 * FULL_VCPU_MB / 256)
    assert lambda_seconds(0.1, FULL_VCPU_MB) == pytest.approx(0.1)
    assert lambda_seconds(0.1, 3008) == pytest.approx(0.1)


def test_a_cold_starts_cpu_work_costs_the_same_at_every_size_below_one_vcpu():
    """Given CPU-bound init, GB-seconds = memory x (cpu x 1769 / memory): the same until 1,769 MB."""
    rows = memory_table(0.2, 0.05, 0.01)
    costs = {row["memory_mb"]: row["cold_start_usd_per_million"] for row in rows}
    assert len(set(costs.values())) == 1
    assert [row["init_ms"] for row in rows] == sorted((row["init_ms"] for row in rows), reverse=True)


def test_importtime_lines_are_parsed_with_their_nesting_ignored():
    """Given -X importtime output, every module maps to (self us, cumulative us)."""
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       120 |        120 |     _io",
            "import time:      4732 |     398509 |     botocore.session",
            "some other stderr line",
        ]
    )
    assert _importtime(stderr) == {"_io": (120, 120), "botocore.session": (4732, 398509)}


def test_the_layer_keeps_powertools_and_drops_what_the_runtime_provides():
    """Given the layer build's removal list, Powertools and its extras stay; boto3 and its dependencies go."""

    def dropped(name: str) -> bool:
        return name.startswith(LAYER_STRIPPED_PREFIXES)

    assert not any(dropped(n) for n in ("aws_lambda_powertools", "aws_xray_sdk", "fastjsonschema", "wrapt", "typing_extensions.py"))
    assert all(dropped(n) for n in ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six.py", "jmespath", "bin"))


def test_the_probe_path_is_task_then_layer_then_runtime():
    """Given the three folders, the import path is Lambda's order and nothing else."""
    env = LambdaEnv(
        python="python3.12",
        python_version="3.12.1",
        python_note="",
        task_dir="/t",
        layer_dir="/l",
        runtime_dir="/r",
        zip_path="/z",
        zip_sha256="0" * 64,
        zip_bytecode="Python 3.12.1",
        layer="",
        boto3_version="1.40.76",
        boto3_note="",
        powertools_names={},
    )
    assert env.sys_path() == ["/t", "/l", "/r"]


def test_the_target_needs_the_wall_and_the_instruction_ratio():
    """Given a wall ratio that passes by luck on a loaded machine, when callgrind's instruction
    ratio is over 1.25, then the target is not met; without instruction counts the wall ratio decides."""
    ratios = {f"lambda:{h}": {"wall": {"ratio_of_medians": 1.16}} for h in ("api_handler", "order_processor")}
    counted = verdict(ratios, {"lambda:bare": 1000.0, "lambda:api_handler": 1200.0, "lambda:order_processor": 1400.0})
    assert counted["meets_target"] == {"api_handler": True, "order_processor": False}
    assert counted["target_checks"]["order_processor"] == {"wall_ratio": 1.16, "instructions_ratio": 1.4}
    assert verdict(ratios, {"skipped": "--quick"})["meets_target"] == {"api_handler": True, "order_processor": True}


def test_the_layer_folder_carries_what_the_pinned_layer_was_built_with():
    """The Powertools release the lock pins has an entry (else the bench stops, naming the fix), and
    every dependency is pinned: a later release (wrapt 2.5 imports asyncio) would change the figures."""
    _, powertools = powertools_release()
    requirements = layer_requirements(powertools)
    assert requirements[0].startswith("aws-lambda-powertools[") and requirements[0].endswith(f"=={powertools}")
    assert {r.split("==")[0] for r in requirements[1:]} == {"aws-xray-sdk", "wrapt", "fastjsonschema", "typing-extensions"}
    assert all("==" in r for r in requirements)


def test_a_powertools_release_without_an_entry_stops_the_bench_naming_the_fix():
    from bench.measure import BenchError

    assert "0.0.1" not in LAYER_CARRIES
    with pytest.raises(BenchError, match=r"LAYER_CARRIES has no entry for Powertools 0\.0\.1.*Fix: add one"):
        layer_requirements("0.0.1")
