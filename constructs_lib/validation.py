"""Props-validation helper shared by the constructs."""

from __future__ import annotations

from constructs_lib.framework import is_unresolved
from pipeline_config.errors import ConfigProblem, whole_number_problem


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
