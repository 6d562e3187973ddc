"""One home per default: ``pipeline_config.defaults`` holds each value and its docstring; the configuration and the props read it.

Pure Python and ``ast``: no synth, milliseconds.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from pipeline_config import PipelineConfig, defaults
from pipeline_config.docs import field_docs

ROOT = Path(__file__).resolve().parents[2]
#: (home group, the construct module and props class that default to it).
PROPS = [
    (defaults.AlarmThresholds, "constructs_lib/alarms.py", "PipelineAlarmsProps"),
    (defaults.QueueSettings, "constructs_lib/queue_with_dlq.py", "QueueWithDeadLetterQueueProps"),
    (defaults.EventSourceBatching, "constructs_lib/sqs_event_source.py", "SqsEventSourceProps"),
    (defaults.EventSweepSettings, "constructs_lib/event_sweep.py", "EventSweepProps"),
    (defaults.FunctionSizing, "constructs_lib/python_function.py", "PythonFunctionProps"),
]


def _props_class(module: str, name: str) -> ast.ClassDef:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    return next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name)


def _props_fields(node: ast.ClassDef) -> dict[str, ast.AnnAssign]:
    return {item.target.id: item for item in node.body if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)}


def test_every_group_is_frozen_and_documents_each_field():
    """Each group's field has a default and a docstring (written there, once)."""
    for group in defaults.GROUPS:
        docs = defaults.field_docs(group)
        for f in dataclasses.fields(group):
            assert f.default is not dataclasses.MISSING, f"{group.__name__}.{f.name} has no default"
            assert docs.get(f.name), f"{group.__name__}.{f.name} has no docstring"
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(group(), f.name, f.default)


@pytest.mark.parametrize(("group", "module", "props_name"), PROPS, ids=[p[2] for p in PROPS])
def test_the_props_defaults_are_the_homes(group, module, props_name):
    """Each field of the home is a prop of the same name with the same default, given by a reference (no literal copy)."""
    import importlib

    props = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), props_name)
    declared = {f.name: f for f in dataclasses.fields(props)}
    node_fields = _props_fields(_props_class(module, props_name))
    for f in dataclasses.fields(group):
        assert f.name in declared, f"{props_name} lacks {f.name} (the stack passes {group.__name__}.as_props() by name)"
        assert declared[f.name].default == f.default, f"{props_name}.{f.name}"
        value = node_fields[f.name].value
        assert value is not None, f"{module}: {props_name}.{f.name} has no default"
        # Written as a reference to the home (``_THRESHOLDS.period_seconds``), never as a number again.
        assert not any(isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) for n in ast.walk(value)), (
            f"{module}: {props_name}.{f.name} repeats its default as a literal; default to {group.__name__}().{f.name}"
        )


def test_no_construct_repeats_a_default_as_a_literal():
    """grep-style: in constructs_lib, no field named like a home field is given a number literal as default."""
    home_names = {f.name for group in defaults.GROUPS for f in dataclasses.fields(group)} | {"log_retention_days", "alarm_period_seconds"}
    offenders = []
    for path in sorted((ROOT / "constructs_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id in home_names and node.value is not None):
                continue
            if any(isinstance(n, ast.Constant) and type(n.value) is int for n in ast.walk(node.value)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.target.id}")
    assert offenders == []


def test_the_configuration_takes_its_defaults_and_docs_from_the_home():
    """Every flat setting with a home: its default is the home's, the settings table shows the home's docstring, and no docstring is written twice."""
    docs = field_docs()
    homed = [f for f in dataclasses.fields(PipelineConfig) if defaults.HOME in f.metadata]
    assert len(homed) == 17, [f.name for f in homed]
    for f in homed:
        group, name = f.metadata[defaults.HOME]
        assert f.default == next(g.default for g in dataclasses.fields(group) if g.name == name), f.name
        assert docs[f.name] == defaults.field_docs(group)[name]
    own = defaults.field_docs(PipelineConfig)
    assert not set(own) & {f.name for f in homed}, "a setting whose home is pipeline_config.defaults carries its own docstring too"


def test_grouped_views_carry_the_settings():
    """``config.alarm_thresholds`` etc. hold the environment's values, not the defaults."""
    config = PipelineConfig(
        alarm_period_seconds=300,
        queue_depth_threshold=5,
        queue_visibility_timeout_seconds=600,
        batching_window_seconds=2,
        event_sweep_interval_minutes=10,
        unpublished_events_threshold=3,
        processor_timeout_seconds=60,
        processor_memory_mb=512,
    )
    assert config.alarm_thresholds == defaults.AlarmThresholds(period_seconds=300, queue_depth_threshold=5)
    assert config.queue_settings == defaults.QueueSettings(visibility_timeout_seconds=600)
    assert config.event_source_batching == defaults.EventSourceBatching(maximum_batching_window_seconds=2)
    assert config.event_sweep_settings == defaults.EventSweepSettings(interval_minutes=10, unpublished_events_threshold=3)
    assert config.processor_sizing == defaults.FunctionSizing(timeout_seconds=60, memory_mb=512)
    assert config.event_sweeper_sizing.memory_mb == 512


def test_a_default_changed_in_its_home_reaches_both_readers():
    """The defaults of PipelineConfig() and of the props are the same objects' values."""
    config = PipelineConfig()
    assert config.alarm_thresholds == defaults.AlarmThresholds()
    assert config.queue_settings == defaults.QueueSettings()
    assert config.event_source_batching == defaults.EventSourceBatching()
    assert config.event_sweep_settings == defaults.EventSweepSettings()
    assert config.api_handler_sizing == defaults.API_HANDLER_SIZING
    assert config.processor_sizing == defaults.PROCESSOR_SIZING
    assert config.log_retention_days == defaults.LOG_RETENTION_DAYS


def test_from_home_rejects_a_field_the_group_lacks():
    """A typo in a setting's home fails at import, naming the group and the field."""
    with pytest.raises(AttributeError, match="QueueSettings has no field 'visibility_timeout'"):
        defaults.from_home(defaults.QueueSettings, "visibility_timeout")
