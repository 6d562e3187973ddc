"""Small helpers shared by the constructs' props validation."""

from __future__ import annotations

from constructs_lib.framework import Token, is_unresolved


def unresolved(value: object) -> bool:
    """True for a CDKTF token of any kind: strings (``is_unresolved``) and also numbers, which
    ``Token.as_number`` encodes as huge negative floats that would otherwise fail range checks."""
    if is_unresolved(value):
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(Token.is_unresolved(value))

