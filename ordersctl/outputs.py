"""Stack outputs (``cdktf output --outputs-file``) as a typed, validated object."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_config import output_keys
from pipeline_config.naming import suffix_of_stack


class OutputsError(ValueError):
    """The outputs file is missing, malformed, ambiguous or lacks a key a command needs."""


@dataclass(frozen=True)
class StackOutputs:
    """The outputs of one stack, by Terraform output name."""

    stack: str
    values: Mapping[str, Any]
    source: str = "<memory>"

    def get(self, key: str, default: Any = None) -> Any:
        """One output, or ``default`` when it is absent or empty."""
        value = self.values.get(key)
        return default if value in (None, "") else value

    def require(self, keys: Iterable[str], *, command: str) -> None:
        """Raise ``OutputsError`` naming every key ``command`` needs that is missing."""
        missing = [key for key in keys if self.get(key) is None]
        if missing:
            raise OutputsError(
                f"{self.source}: stack {self.stack!r} has no output(s) {', '.join(missing)}, which '{command}' needs. "
                f"Fix: re-run `cdktf output {self.stack} --outputs-file {self.source}` after a deploy that includes them "
                f"(present: {', '.join(sorted(self.values)) or 'none'})."
            )

    @property
    def suffix(self) -> str:
        """Environment suffix, from the stack name ``orders-<suffix>`` (another name is taken as it is)."""
        return suffix_of_stack(self.stack) or self.stack

    @property
    def region(self) -> str | None:
        """AWS region of the stack's resources."""
        return self.get(output_keys.REGION)


def _plain(value: Any) -> Any:
    # `cdktf output --outputs-file` writes plain values; `terraform output -json` wraps each
    # one as {"value": ..., "type": ..., "sensitive": ...}. Accept both.
    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "type", "sensitive"}:
        return value["value"]
    return value


def parse_outputs(document: Any, *, stack: str | None = None, source: str = "<memory>") -> StackOutputs:
    """Pick one stack's outputs from ``{"<stack>": {...}}`` (``stack`` chooses among several)."""
    if not isinstance(document, Mapping) or not document or not all(isinstance(v, Mapping) for v in document.values()):
        raise OutputsError(f'{source}: expected a JSON object of stacks, like {{"orders-dev": {{"ApiEndpoint": ...}}}}. Fix: write it with `cdktf output <stack> --outputs-file <file>`.')
    if stack is None:
        if len(document) > 1:
            raise OutputsError(f"{source}: holds several stacks ({', '.join(sorted(document))}). Fix: pick one with --stack.")
        stack = next(iter(document))
    if stack not in document:
        raise OutputsError(f"{source}: no stack {stack!r} (found: {', '.join(sorted(document))}). Fix: pass one of those to --stack.")
    return StackOutputs(stack=stack, values={k: _plain(v) for k, v in document[stack].items()}, source=source)


def load_outputs(path: str | Path, *, stack: str | None = None) -> StackOutputs:
    """Read and parse an outputs file; every failure is an ``OutputsError`` with a fix."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutputsError(
            f"{file}: no such outputs file. Fix: write it: after a deploy, `cdktf output <stack> --outputs-file {file}` "
            f"(the cdktf CLI, README 'Deploy'); for the local pipeline, `make local ARGS=\"--outputs-file {file}\"` "
            "in another terminal, kept running."
        ) from None
    except OSError as error:
        raise OutputsError(f"{file}: cannot read it ({error.strerror}).") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsError(f"{file}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}). Fix: regenerate it with `cdktf output --outputs-file`.") from None
    return parse_outputs(document, stack=stack, source=str(file))
