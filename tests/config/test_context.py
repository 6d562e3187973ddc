"""The cdktf context as main.py reads it: cdktf.json, then CDKTF_CONTEXT_JSON on top (as cdktf.App does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_config.context import PROJECT_DIR, file_context, read_context
from pipeline_config.errors import ContextError


def project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cdktf.json").write_text(text, encoding="utf-8")
    return tmp_path


def test_cdktf_json_context_is_read(tmp_path):
    directory = project(tmp_path, json.dumps({"app": "x", "context": {"orderPipeline": {"dev": {"log_level": "DEBUG"}}}}))
    assert read_context({}, directory) == {"orderPipeline": {"dev": {"log_level": "DEBUG"}}}


def test_environment_json_wins_key_by_key_at_the_top_level(tmp_path):
    directory = project(tmp_path, json.dumps({"context": {"orderPipeline": {"dev": {"log_level": "DEBUG"}}, "environmentSuffix": "dev"}}))
    environ = {"CDKTF_CONTEXT_JSON": json.dumps({"orderPipeline": {"prod": {"log_level": "ERROR"}}})}
    # The whole orderPipeline key is replaced (cdktf.App's setContext per top-level key), the rest is kept.
    assert read_context(environ, directory) == {"orderPipeline": {"prod": {"log_level": "ERROR"}}, "environmentSuffix": "dev"}
    assert read_context({"CDKTF_CONTEXT_JSON": ""}, directory)["orderPipeline"] == {"dev": {"log_level": "DEBUG"}}


def test_null_survives_reading(tmp_path):
    # jsii would drop it; here it reaches the selection, which refuses it with the word to use.
    directory = project(tmp_path, '{"context": {"orderPipeline": {"dev": {"processor_reserved_concurrency": null}}}}')
    assert read_context({}, directory) == {"orderPipeline": {"dev": {"processor_reserved_concurrency": None}}}


def test_no_cdktf_json_or_no_context_is_an_empty_context(tmp_path):
    assert read_context({}, tmp_path) == {}
    assert read_context({}, project(tmp_path, '{"app": "x"}')) == {}


@pytest.mark.parametrize(
    ("environ_json", "fragment"),
    [
        ('{"orderPipeline": {prod: 1}}', "CDKTF_CONTEXT_JSON: is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 20)"),
        ('["dev"]', "CDKTF_CONTEXT_JSON: must be a JSON object (given ['dev'])"),
        ('{"orderPipeline": {"dev": {"batch_size": NaN}}}', "CDKTF_CONTEXT_JSON: is not valid JSON (NaN is not JSON)"),
    ],
)
def test_malformed_environment_json_is_one_line_with_the_fix(tmp_path, environ_json, fragment):
    with pytest.raises(ContextError) as caught:
        read_context({"CDKTF_CONTEXT_JSON": environ_json}, tmp_path)
    message = str(caught.value)
    assert message.startswith(fragment)
    assert "\n" not in message and "Fix: give a JSON object" in message


def test_malformed_cdktf_json_names_the_line(tmp_path):
    directory = project(tmp_path, '{\n  "context": {\n    "orderPipeline": {"prod": {"alarm_email": "a@b.co",}}\n  }\n}\n')
    with pytest.raises(ContextError) as caught:
        file_context(directory)
    message = str(caught.value)
    assert message.startswith("cdktf.json: is not valid JSON (Expecting property name enclosed in double quotes at line 3, column 56)")
    assert '\'"orderPipeline": {"prod": {"alarm_email": "a@b.co",}}\'' in message and "\n" not in message


def test_context_that_is_not_an_object_is_refused(tmp_path):
    with pytest.raises(ContextError, match=r"cdktf\.json: context: must be a JSON object"):
        file_context(project(tmp_path, '{"context": []}'))


def test_the_project_cdktf_json_is_valid_and_read():
    assert isinstance(file_context(PROJECT_DIR), dict)
