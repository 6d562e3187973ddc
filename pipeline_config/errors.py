"""The one error type raised for invalid configuration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeGuard


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid setting: its name, the value given and how to fix it."""

    setting: str
    value: object
    problem: str
    fix: str
    environment: str | None = None
    """The environment whose settings hold the problem (shown as ``[prod]``); None when it is not an environment's."""

    def __str__(self) -> str:
        where = f"[{self.environment}] " if self.environment else ""
        return f"{where}{self.setting}: {self.problem} (given {self.value!r}). Fix: {self.fix}"

    def in_environment(self, suffix: str) -> ConfigProblem:
        """The same problem, tagged with the environment it belongs to."""
        return replace(self, environment=suffix)


class ConfigError(ValueError):
    """Raised once with every problem found, so a user fixes them all in one go."""

    def __init__(self, problems: list[ConfigProblem], *, context: str = "order pipeline configuration"):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid {context} ({len(self.problems)} problem(s)):\n{lines}")


class ContextError(ConfigError):
    """cdktf.json or ``CDKTF_CONTEXT_JSON`` cannot be read at all: one line, no list."""

    def __init__(self, problem: ConfigProblem):
        super().__init__([problem])
        self.args = (str(problem),)

    def __str__(self) -> str:
        return str(self.problems[0])


def is_whole_number(value: object) -> TypeGuard[int]:
    """An int that is not a bool (``True`` is an int in Python, never a count here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number_problem(setting: str, value: object, low: int, high: int, unit: str = "") -> ConfigProblem | None:
    """The problem with ``value`` as a whole number in ``[low, high]``, or None when it is one."""
    if is_whole_number(value) and low <= value <= high:
        return None
    return ConfigProblem(setting, value, f"must be a whole number between {low} and {high}{unit}", f"set {setting} to a value in [{low}, {high}]")
