"""The one error type raised for invalid configuration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid setting: its name, the value given and how to fix it."""

    setting: str
    value: object
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.problem} (given {self.value!r}). Fix: {self.fix}"


class ConfigError(ValueError):
    """Raised once with every problem found, so a user fixes them all in one go."""

    def __init__(self, problems: list[ConfigProblem], *, context: str = "order pipeline configuration"):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid {context} ({len(self.problems)} problem(s)):\n{lines}")
