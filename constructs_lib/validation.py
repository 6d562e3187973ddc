"""Small helpers shared by the constructs' props validation."""

from __future__ import annotations

from constructs_lib.framework import is_unresolved


def unresolved(value: object) -> bool:
    """True for a CDKTF token of any kind: strings, and numbers, which ``Token.as_number``
    encodes as huge negative floats that would otherwise fail range checks."""
    return is_unresolved(value)
