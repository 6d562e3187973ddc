"""The error a rehearsal phase raises to fail: its message is what the user sees."""

from __future__ import annotations


class PhaseFailed(RuntimeError):
    """A phase failed; the message is what the user sees."""
