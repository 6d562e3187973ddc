"""The cdktf context, read in pure Python the way the cdktf CLI and ``cdktf.App`` combine it.

The cdktf CLI reads ``cdktf.json``'s ``context`` and hands it to the app as the JSON in
``CDKTF_CONTEXT_JSON``; ``cdktf.App`` then lets those keys win over the context it was
built with. ``python main.py`` (``make synth``, CI, the plan workflow) has no CLI in
front of it, so it reads ``cdktf.json`` itself and applies ``CDKTF_CONTEXT_JSON`` on top,
key by key at the top level, exactly as ``App`` does. Both paths therefore see the same
context (a test synthesizes through both and compares the JSON).

Parsed here, in Python, not through jsii: jsii silently drops ``null`` values, and a
malformed ``CDKTF_CONTEXT_JSON`` would otherwise surface as a 30-line jsii traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline_config.errors import ConfigProblem, ContextError

CONTEXT_ENV_VAR = "CDKTF_CONTEXT_JSON"
PROJECT_FILE = "cdktf.json"
#: The project directory: where cdktf.json lives (the cdktf CLI runs the app from there).
PROJECT_DIR = Path(__file__).resolve().parent.parent


def _reject_constant(name: str) -> Any:
    # Python accepts NaN/Infinity; JavaScript's JSON.parse (cdktf.App) does not.
    raise ValueError(f"{name} is not JSON")


def _parse_object(text: str, *, source: str, fix: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        line = text.splitlines()[error.lineno - 1] if text.splitlines() else text
        raise ContextError(ConfigProblem(source, line.strip()[:120], f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})", fix)) from None
    except ValueError as error:
        raise ContextError(ConfigProblem(source, text.strip()[:120], f"is not valid JSON ({error})", fix)) from None
    if not isinstance(value, dict):
        raise ContextError(ConfigProblem(source, value, "must be a JSON object", fix))
    return value


def file_context(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The ``context`` object of ``<project_dir>/cdktf.json`` ({} when the file or the key is absent)."""
    path = Path(project_dir) / PROJECT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ContextError(ConfigProblem(PROJECT_FILE, str(path), f"cannot be read ({error.strerror})", "check the file's permissions")) from None
    document = _parse_object(text, source=PROJECT_FILE, fix=f"correct the JSON syntax of {path} at the line shown")
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise ContextError(ConfigProblem(f"{PROJECT_FILE}: context", context, "must be a JSON object", 'use e.g. "context": {"orderPipeline": {"prod": {"alarm_email": "oncall@example.com"}}}'))
    return context


def read_context(environ: Mapping[str, str] | None = None, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """cdktf.json's context with ``CDKTF_CONTEXT_JSON``'s top-level keys on top; ``ContextError`` when either is unreadable."""
    environ = os.environ if environ is None else environ
    context = file_context(project_dir)
    raw = environ.get(CONTEXT_ENV_VAR)
    if raw:  # cdktf.App ignores an empty value too
        from_env = _parse_object(
            raw,
            source=CONTEXT_ENV_VAR,
            fix=f"""give a JSON object, e.g. {CONTEXT_ENV_VAR}='{{"orderPipeline": {{"dev": {{"log_level": "DEBUG"}}}}}}', or unset it to use {PROJECT_FILE}""",
        )
        context = {**context, **from_env}
    return context
