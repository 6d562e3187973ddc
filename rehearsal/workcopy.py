"""Synthesize one stack and prepare a working copy of it; every difference from what ships is one override file.

The working copy is the synthesized stack directory, byte for byte, plus
``rehearsal_override.tf.json`` (a Terraform override file). Everything the rehearsal changes is in
that one file and listed by ``Deviation``: the backend, the provider version constraint, the
provider endpoints and credentials, the Powertools layer ARN, and, for the teardown only,
``lifecycle.prevent_destroy`` once it has refused. Nothing else may differ; a problem that blocks
the rehearsal in the stack itself is fixed in the stack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehearsal.terraform_cli import TerraformRunner

ROOT = Path(__file__).resolve().parent.parent
OVERRIDE_FILE = "rehearsal_override.tf.json"

#: Provider endpoint names by resource-type prefix. A resource type without an entry stops the
#: rehearsal: its calls would go to the real AWS endpoint, which must never happen.
SERVICE_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("aws_api_gateway_", "apigateway"),
    ("aws_cloudwatch_log_", "logs"),
    ("aws_cloudwatch_metric_alarm", "cloudwatch"),
    ("aws_cloudwatch_dashboard", "cloudwatch"),
    ("aws_cloudwatch_event_", "events"),
    ("aws_dynamodb_", "dynamodb"),
    ("aws_iam_", "iam"),
    ("aws_kms_", "kms"),
    ("aws_lambda_", "lambda"),
    ("aws_sns_", "sns"),
    ("aws_sqs_", "sqs"),
    ("aws_caller_identity", "sts"),
    ("aws_partition", ""),  # computed by the provider, no call
)
#: Always pointed at the emulator: the provider calls STS for the account id of every ARN it builds.
ALWAYS_ENDPOINTS = ("sts",)
POWERTOOLS_LAYER = re.compile(r"^arn:[^:]+:lambda:[^:]+:017000801446:layer:(AWSLambdaPowertoolsPython[^:]*):\d+$")


@dataclass
class WorkingCopy:
    """One synthesized stack prepared for terraform: the working tree's (``work``) or the base revision's (``base``)."""

    label: str
    path: Path
    doc: dict[str, Any]
    tf: TerraformRunner


class WorkCopyError(RuntimeError):
    """The stack could not be synthesized or does not have what the rehearsal needs."""


@dataclass(frozen=True)
class Deviation:
    """One way the working copy differs from the synthesized stack."""

    what: str
    ships: str
    rehearsal: str

    def describe(self) -> str:
        """``what: rehearsal (ships: ...)``."""
        return f"{self.what}: {self.rehearsal} (ships: {self.ships})"


def synthesize(suffix: str, outdir: Path, environ: Mapping[str, str] | None = None, timeout_seconds: float = 600, *, project: Path = ROOT, stack: str | None = None) -> Path:
    """Run ``python main.py`` of ``project`` (this checkout by default) for one environment into ``outdir``; the stack's directory.

    ``stack`` picks one of several stacks the synth writes (``account`` writes one per region); without it there must be exactly one.
    """
    env = dict(os.environ if environ is None else environ)
    env.update({"ENVIRONMENT_SUFFIX": suffix, "CDKTF_OUTDIR": str(outdir)})
    result = subprocess.run([sys.executable, "main.py"], cwd=project, env=env, capture_output=True, text=True, timeout=timeout_seconds)
    if result.returncode != 0:
        raise WorkCopyError(f"synth of environment {suffix!r} failed (exit {result.returncode}):\n{(result.stderr or result.stdout).strip()[-3000:]}")
    stacks = sorted(p for p in (outdir / "stacks").iterdir() if (p / "cdk.tf.json").is_file()) if (outdir / "stacks").is_dir() else []
    if stack is not None:
        chosen = [p for p in stacks if p.name == stack]
        if not chosen:
            raise WorkCopyError(
                f"stack: the synth of environment {suffix!r} wrote no stack {stack!r} (given --stack {stack}; it wrote {[p.name for p in stacks]}). Fix: pass one of those, or the --env that writes it"
            )
        return chosen[0]
    if len(stacks) != 1:
        raise WorkCopyError(f"synth of environment {suffix!r} wrote {len(stacks)} stacks into {outdir}/stacks, expected exactly one: {[p.name for p in stacks]}. Fix: pick one with --stack")
    return stacks[0]


def prepare(stack_dir: Path, workdir: Path) -> dict[str, Any]:
    """Copy the synthesized stack (with its assets) to ``workdir``; its parsed cdk.tf.json."""
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(stack_dir, workdir)
    return json.loads((workdir / "cdk.tf.json").read_text(encoding="utf-8"))


def pinned_provider_version(doc: Mapping[str, Any]) -> str:
    """The hashicorp/aws version the stack pins (``required_providers.aws.version``)."""
    try:
        version = doc["terraform"]["required_providers"]["aws"]["version"]
    except (KeyError, TypeError) as error:
        raise WorkCopyError("the stack has no terraform.required_providers.aws.version; the rehearsal needs a pinned provider") from error
    match = re.fullmatch(r"\s*=?\s*(\d+\.\d+\.\d+)\s*", str(version))
    if not match:
        raise WorkCopyError(f"the stack's provider constraint {version!r} is not one exact version; pin it (e.g. '6.25.0')")
    return match.group(1)


def shipped_backend(doc: Mapping[str, Any]) -> str:
    """A short description of the stack's own backend (``local``, ``s3 bucket/key``, ``cloud org/workspace``)."""
    terraform = doc.get("terraform", {})
    if "cloud" in terraform:
        cloud = terraform["cloud"]
        return f"HCP Terraform {cloud.get('organization', '?')}/{cloud.get('workspaces', {}).get('name', '?')}"
    for kind, settings in terraform.get("backend", {}).items():
        detail = settings.get("path") or "/".join(str(settings.get(k, "")) for k in ("bucket", "key") if settings.get(k))
        return f"{kind} {detail}".strip()
    return "local terraform.tfstate (no backend block)"


def endpoint_services(doc: Mapping[str, Any]) -> list[str]:
    """The provider endpoint names the stack's resources and data sources need; WorkCopyError on an unknown type."""
    types = set(doc.get("resource", {})) | set(doc.get("data", {}))
    services = set(ALWAYS_ENDPOINTS)
    unknown = []
    for rtype in sorted(types):
        match = next((service for prefix, service in SERVICE_ENDPOINTS if rtype.startswith(prefix)), None)
        if match is None:
            unknown.append(rtype)
        elif match:
            services.add(match)
    if unknown:
        raise WorkCopyError(
            f"no emulator endpoint is known for {', '.join(unknown)}; without one the provider would call real AWS. "
            "Fix: add the type's prefix and its provider endpoint name to rehearsal.workcopy.SERVICE_ENDPOINTS "
            "(and check that moto implements the service)."
        )
    return sorted(services)


def prevent_destroy_addresses(doc: Mapping[str, Any]) -> list[str]:
    """Addresses (``type.name``) of the resources whose ``lifecycle.prevent_destroy`` is true."""
    return sorted(f"{rtype}.{name}" for rtype, resources in doc.get("resource", {}).items() for name, resource in resources.items() if (resource.get("lifecycle") or {}).get("prevent_destroy") is True)


def function_package(doc: Mapping[str, Any], stack_dir: Path) -> Path | None:
    """The Lambda zip the stack's functions deploy (one for all of them), or None when the stack has no function."""
    files = {function.get("filename") for function in doc.get("resource", {}).get("aws_lambda_function", {}).values()}
    files.discard(None)
    if not files:
        return None
    if len(files) != 1:
        raise WorkCopyError(f"the stack's functions deploy {len(files)} different packages ({', '.join(sorted(files))}); the rehearsal runs one package per revision")
    return stack_dir / files.pop()


def powertools_layers(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """Functions that use the public Powertools layer: {function resource name: its layers}."""
    found = {}
    for name, function in doc.get("resource", {}).get("aws_lambda_function", {}).items():
        layers = list(function.get("layers", []))
        if any(POWERTOOLS_LAYER.match(layer) for layer in layers):
            found[name] = layers
    return found


def working_copy_override(
    doc: Mapping[str, Any],
    *,
    state_path: Path | None,
    provider_version: str | None,
    endpoint_url: str | None = None,
    access_key: str = "",
    secret_key: str = "",
    layer_arn: str | None = None,
    lift_prevent_destroy: tuple[str, ...] = (),
) -> tuple[dict[str, Any], list[Deviation]]:
    """The override file's content and the list of its deviations.

    ``state_path``: local state there instead of the shipped backend (None keeps the backend).
    ``provider_version``: constrain hashicorp/aws to it when it is not the pinned version.
    ``endpoint_url``: every service the stack uses at the emulator, with fake credentials.
    ``layer_arn``: the stand-in for the public Powertools layer (required with ``endpoint_url``).
    ``lift_prevent_destroy``: addresses whose ``lifecycle.prevent_destroy`` is set to false (the
    teardown, after the protection has refused, as an operator would before tearing down).
    """
    terraform: dict[str, Any] = {}
    deviations = []
    if state_path is not None:
        terraform["backend"] = {"local": {"path": str(state_path)}}
        deviations.append(Deviation("backend", shipped_backend(doc), f"local state {state_path}"))
    pinned = pinned_provider_version(doc)
    if provider_version and provider_version != pinned:
        terraform["required_providers"] = {"aws": {"source": "hashicorp/aws", "version": provider_version}}
        deviations.append(Deviation("provider version", pinned, f"{provider_version} (the newest the mirror holds)"))
    override: dict[str, Any] = {"terraform": terraform} if terraform else {}
    if endpoint_url is None:
        return override, deviations
    provider = dict(doc.get("provider", {}).get("aws", [{}])[0])
    services = endpoint_services(doc)
    override["provider"] = {
        "aws": [
            {
                "region": provider.get("region", "us-east-1"),
                "access_key": access_key,
                "secret_key": secret_key,
                "skip_credentials_validation": True,
                "skip_metadata_api_check": True,
                "skip_region_validation": True,
                "endpoints": [dict.fromkeys(services, endpoint_url)],
            }
        ]
    }
    deviations.append(Deviation("provider endpoints", "AWS", f"{', '.join(services)} at {endpoint_url}, fake credentials"))
    functions = powertools_layers(doc)
    if functions:
        if not layer_arn:
            raise WorkCopyError("the stack uses the public Powertools layer but no stand-in layer was published in the emulator")
        override["resource"] = {"aws_lambda_function": {name: {"layers": [layer_arn if POWERTOOLS_LAYER.match(layer) else layer for layer in layers]} for name, layers in functions.items()}}
        shipped = sorted({layer for layers in functions.values() for layer in layers if POWERTOOLS_LAYER.match(layer)})
        deviations.append(Deviation(f"Powertools layer of {len(functions)} function(s)", ", ".join(shipped), f"stand-in {layer_arn}"))
    if lift_prevent_destroy:
        resources = override.setdefault("resource", {})
        for address in lift_prevent_destroy:
            rtype, name = address.split(".", 1)
            resources.setdefault(rtype, {}).setdefault(name, {})["lifecycle"] = {"prevent_destroy": False}
        deviations.append(Deviation("lifecycle.prevent_destroy (teardown only, after it refused)", "true", f"false on {', '.join(lift_prevent_destroy)}"))
    return override, deviations


def write_override(workdir: Path, override: Mapping[str, Any]) -> Path | None:
    """Write the override file next to cdk.tf.json (remove it when there is nothing to override)."""
    path = workdir / OVERRIDE_FILE
    if not override:
        path.unlink(missing_ok=True)
        return None
    path.write_text(json.dumps(override, indent=2) + "\n", encoding="utf-8")
    return path
