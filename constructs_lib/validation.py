"""The one validation shape of the constructs.

Every props dataclass has ``problems() -> list[ConfigProblem]`` (every invalid setting,
tokens skipped), like ``PipelineConfig.problems()``; every construct calls
``raise_problems`` first, before ``super().__init__``, so a construct with bad props never
enters the tree. The rules themselves live in ``pipeline_config.rules`` (no jsii).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from constructs_lib.support.framework import is_unresolved
from pipeline_config.errors import ConfigError, ConfigProblem, whole_number_problem

_T = TypeVar("_T")


class Props(Protocol):
    """What ``raise_problems`` needs of a props dataclass."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting."""


def raise_problems(props: Props, construct: str, id: str) -> None:
    """Raise one ``ConfigError`` listing every problem of ``props`` (context: ``<construct> '<id>' props``)."""
    problems = props.problems()
    if problems:
        raise ConfigError(problems, context=f"{construct} {id!r} props")


def validated(value: _T | None, setting: str, construct: str) -> _T:
    """A required prop after ``raise_problems``: its ``problems()`` rejects ``None``, so ``None`` here is a bug there."""
    if value is None:
        raise AssertionError(f"{construct} prop {setting!r} is None after raise_problems: {construct}'s problems() must require it")
    return value


def check_whole_number(problems: list[ConfigProblem], props: object, setting: str, low: int, high: int, unit: str = "") -> bool:
    """Append a problem unless ``props.<setting>`` is a whole number in ``[low, high]``.

    Tokens (known only at apply time) are skipped. True only for a checked, valid number, so
    callers can go on to cross-checks that need the real value.
    """
    value = getattr(props, setting)
    if is_unresolved(value):
        return False
    problem = whole_number_problem(setting, value, low, high, unit)
    if problem:
        problems.append(problem)
    return problem is None


def add(problems: list[ConfigProblem], problem: ConfigProblem | None) -> None:
    """Append a rule's finding, if any."""
    if problem is not None:
        problems.append(problem)
