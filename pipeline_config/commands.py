"""How a user runs each command-line tool from the project root of a fresh clone: its ``--help`` shows that, not ``python -m``.

``python -m <module>`` only works inside the project's environment (``.venv/``); the make
targets and the ``bin/`` scripts set that environment up first. One home for the usage
lines, so every ``--help`` names a command that works (tests/test_cli_usage.py runs them).
"""

from __future__ import annotations

import argparse


def make_usage(parser: argparse.ArgumentParser, target: str) -> str:
    """The usage line of ``parser`` as ``make <target> ARGS="<its options>"`` (argparse's own text, quoted for make)."""
    options = " ".join(parser.format_usage().split()[1:])  # drop "usage:"; argparse wraps long lines
    options = options.removeprefix(parser.prog).strip()
    return f'make {target} ARGS="{options}"'
