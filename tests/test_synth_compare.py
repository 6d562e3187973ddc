"""tools/synth_compare.py, the proof that a refactoring changes no byte: its comparison, on hand-made documents (no synth)."""

from __future__ import annotations

import json

from tools.synth_compare import PACKAGE_PLACEHOLDER, ROOT_PLACEHOLDER, normalised, stack_differences


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


def test_a_changed_value_is_named_by_its_json_path(tmp_path):
    old = _stack(tmp_path, "old", _function("aaa", "/s"))
    new = _stack(tmp_path, "new", _function("aaa", "/s", timeout=31))
    assert stack_differences(old, new) == ["resource.aws_lambda_function.fn.timeout"]


def test_added_and_removed_keys_and_list_items_are_reported(tmp_path):
    old = _stack(tmp_path, "old", {"a": [1, 2], "gone": 1})
    new = _stack(tmp_path, "new", {"a": [1, 3], "new": 1})
    assert stack_differences(old, new) == ["a[1]", "gone (removed)", "new (added)"]


def test_reordered_keys_are_not_byte_identical_and_say_so(tmp_path):
    old = _stack(tmp_path, "old", {"a": 1, "b": 2})
    new = _stack(tmp_path, "new", {"b": 2, "a": 1})
    assert stack_differences(old, new) == ["(same JSON values; key order or layout differs)"]
