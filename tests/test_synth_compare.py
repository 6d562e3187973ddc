"""tools/synth_compare.py (``make synth-compare``): its comparison on hand-made documents, its exit codes, and once literally."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.project_copy import clean_environ, project_at_head_with
from tools.synth_compare import PACKAGE_PLACEHOLDER, ROOT_PLACEHOLDER, CompareError, export_revision, main, normalised, report_variant, stack_differences


def _stack(tmp_path, name: str, document: dict, tree: str = "/tree") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document, indent=2))
    text, _ = normalised(path, tmp_path / tree.strip("/"))
    return text


def _function(code_hash: str, state_path: str, timeout: int = 30) -> dict:
    return {
        "resource": {"aws_lambda_function": {"fn": {"source_code_hash": code_hash, "timeout": timeout}}},
        "terraform": {"backend": {"local": {"path": state_path}}},
    }


def test_package_hash_and_tree_path_are_normalised_and_nothing_else(tmp_path):
    old = _stack(tmp_path, "old", _function("aaa111", str(tmp_path / "base" / "state")), "/base")
    new = _stack(tmp_path, "new", _function("bbb222", str(tmp_path / "work" / "state")), "/work")
    assert stack_differences(old, new) == []
    assert PACKAGE_PLACEHOLDER in new and ROOT_PLACEHOLDER in new


def test_a_changed_attribute_an_added_and_a_removed_resource_are_named_with_old_and_new(tmp_path):
    queue = {"name": "q", "visibility_timeout_seconds": 180, "redrive_policy": {"maxReceiveCount": 3}}
    old = _stack(tmp_path, "old", {"resource": {"aws_sqs_queue": {"q": queue}, "aws_sns_topic": {"gone": {"name": "t"}}}})
    new_queue = {**queue, "visibility_timeout_seconds": 60, "redrive_policy": {"maxReceiveCount": 5}}
    new = _stack(tmp_path, "new", {"resource": {"aws_sqs_queue": {"q": new_queue, "extra": {"name": "e"}}}})
    assert stack_differences(old, new) == [
        'aws_sns_topic.gone: removed (was {"name": "t"})',
        'aws_sqs_queue.extra: added {"name": "e"}',
        "aws_sqs_queue.q: redrive_policy.maxReceiveCount: 3 -> 5",
        "aws_sqs_queue.q: visibility_timeout_seconds: 180 -> 60",
    ]


def test_list_items_and_top_level_blocks_are_named_by_their_path(tmp_path):
    old = _stack(tmp_path, "old", {"output": {"Url": {"value": "a"}}, "resource": {"aws_x": {"y": {"tags": ["a", "b"]}}}})
    new = _stack(tmp_path, "new", {"output": {"Url": {"value": "b"}}, "resource": {"aws_x": {"y": {"tags": ["a", "c"]}}}})
    assert stack_differences(old, new) == ['output.Url.value: "a" -> "b"', 'aws_x.y: tags[1]: "b" -> "c"']


def test_reordered_keys_are_not_byte_identical_and_say_so(tmp_path):
    old = _stack(tmp_path, "old", {"a": 1, "b": 2})
    new = _stack(tmp_path, "new", {"b": 2, "a": 1})
    assert stack_differences(old, new) == ["(same JSON values; key order or layout differs)"]


def test_the_report_says_unchanged_per_stack_and_fails_only_on_what_is_not_allowed(capsys):
    import re

    stacks = {"orders-dev": [], "orders-prod": ["aws_sqs_queue.q: visibility_timeout_seconds: 180 -> 60"]}
    assert report_variant("default", stacks, False, []) is True
    assert report_variant("default", stacks, False, [re.compile(r"orders-prod: aws_sqs_queue\.q: visibility")]) is False
    out = capsys.readouterr().out
    assert "  unchanged: orders-dev\n  changed: orders-prod\n      aws_sqs_queue.q: visibility_timeout_seconds: 180 -> 60\n" in out
    assert "(allowed)" in out


def test_an_unknown_revision_is_an_error_exit_2_not_a_verdict(tmp_path, capsys):
    with pytest.raises(CompareError, match="BASE=main"):
        export_revision("no-such-revision-xyz", tmp_path / "tree")
    assert main(["--base", "no-such-revision-xyz", "--only", "default"]) == 2
    assert "error: BASE: git cannot export revision 'no-such-revision-xyz'" in capsys.readouterr().err


def _set_dev_batch_size(project):
    config = json.loads((project / "cdktf.json").read_text())
    config["context"]["orderPipeline"]["dev"] = {"batch_size": 5}
    (project / "cdktf.json").write_text(json.dumps(config, indent=2))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_make_synth_compare_literally_unchanged_then_changed(tmp_path):
    """`make synth-compare BASE=HEAD` in a copy committed as its own repository: identical, then one setting changed."""
    command = ["make", "--no-print-directory", "synth-compare", "BASE=HEAD", "ARGS=--only default"]
    same = project_at_head_with(lambda project: None, tmp_path / "same")
    done = subprocess.run(command, cwd=same, env=clean_environ(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unchanged: orders-dev" in done.stdout and "changed:" not in done.stdout.replace("unchanged:", "")
    assert done.stdout.strip().endswith("identical to HEAD (exit 0)")

    changed = project_at_head_with(_set_dev_batch_size, tmp_path / "changed")
    done = subprocess.run(command, cwd=changed, env=clean_environ(), capture_output=True, text=True, timeout=600)
    assert done.returncode != 0  # make turns the tool's exit 1 into its own 2
    assert "  changed: orders-dev\n" in done.stdout and "unchanged: orders-prod" in done.stdout, done.stdout
    assert ": batch_size: 10 -> 5" in done.stdout, done.stdout
