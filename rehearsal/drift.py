"""Drift: does what is deployed still match what Terraform last applied from the code? One check, nightly and in the rehearsal.

``check_drift`` runs ``terraform plan -refresh-only -detailed-exitcode`` in a stack's folder: the
refresh reads every resource from AWS and compares it with the state. Terraform's exit code is
0 (nothing differs), 2 (something differs) or 1 (no plan: credentials, a held state lock, a broken
configuration). An error is never "no drift": it is its own outcome, and the nightly job fails.

What differs is read from the plan's ``resource_drift`` by ``rehearsal.plan_review.read_drift``
(the one plan reader): for each attribute, the **deployed** value (what the refresh read) and the
**coded** value, which is the value in the state before the refresh: what Terraform last applied
from the code. (A code change that was merged but not yet deployed is not drift; the next deploy's
plan shows it.) Not every difference is a change someone made, so ``read_drift_report`` sets these
aside, each with its reason, and counts only the rest:

- the provider filling in defaults (null to empty) and JSON formatting (``read_drift`` already);
- an attribute that mirrors a separate resource (a queue's ``policy`` and its ``aws_sqs_queue_policy``,
  a role's ``inline_policy`` and its ``aws_iam_role_policy`` resources, ...) when the mirror holds
  exactly what that resource holds: the separate resource is checked itself, and reports the drift
  once. A mirror that holds something else (an inline policy added by hand) is drift;
- ``tags`` next to ``tags_all``: one tag change is reported once, as ``tags.<key>``, with
  ``tags_all``'s values (which include the provider's default tags, as the code sets them);
- an attribute only the provider computes (the provider's schema says so), when a setting of the
  same resource drifted too: it follows from that setting (an event source mapping's ``state``
  follows ``enabled``). Alone, it is reported (a function's ``code_sha256`` is its code changed by
  hand), unless both values are timestamps: *when* a resource was last touched is not *what* changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rehearsal.plan_review import DELETED_PATH, Drift, prior_state_resources, read_drift, same_json_text
from rehearsal.provider_schema import ProviderSchema, SchemaError
from rehearsal.terraform_cli import TerraformRunner

DRIFT_PLAN = "drift.tfplan"
#: Outcomes and their exit codes, as ``terraform plan -detailed-exitcode`` has them.
CLEAN, ERROR, DRIFTED = "clean", "error", "drift"
EXIT_CODES = {CLEAN: 0, ERROR: 1, DRIFTED: 2}
#: The label every drift issue carries, and the marker that finds a stack's issue again.
ISSUE_LABEL = "drift"
#: GitHub refuses issue bodies longer than this.
ISSUE_BODY_LIMIT = 65_536


@dataclass(frozen=True)
class Mirror:
    """An attribute of ``owner`` that mirrors separate ``source`` resources, which name the owner in ``link``."""

    owner: str
    attribute: str
    source: str
    link: str
    """The source's attribute that names the owner (a queue URL, a topic ARN, a role name)."""
    owner_key: tuple[str, ...]
    """The owner's attributes the link may hold (``name`` or ``id`` for a role)."""
    value: str
    """The source's attribute that holds what the mirror shows."""
    keyed_by: str = ""
    """For a mirror that is a list of objects (a role's inline policies): the field that names each entry."""


#: Attributes that mirror a separate resource. Provider docs, e.g. aws_iam_role: "If no blocks are
#: configured, Terraform will not manage any inline policies in this resource".
MIRRORS: tuple[Mirror, ...] = (
    Mirror("aws_sqs_queue", "policy", "aws_sqs_queue_policy", "queue_url", ("url", "id"), "policy"),
    Mirror("aws_sqs_queue", "redrive_policy", "aws_sqs_queue_redrive_policy", "queue_url", ("url", "id"), "redrive_policy"),
    Mirror("aws_sqs_queue", "redrive_allow_policy", "aws_sqs_queue_redrive_allow_policy", "queue_url", ("url", "id"), "redrive_allow_policy"),
    Mirror("aws_sns_topic", "policy", "aws_sns_topic_policy", "arn", ("arn", "id"), "policy"),
    Mirror("aws_api_gateway_rest_api", "policy", "aws_api_gateway_rest_api_policy", "rest_api_id", ("id",), "policy"),
    Mirror("aws_iam_role", "inline_policy", "aws_iam_role_policy", "role", ("name", "id"), "policy", keyed_by="name"),
    Mirror("aws_iam_role", "managed_policy_arns", "aws_iam_role_policy_attachment", "role", ("name", "id"), "policy_arn"),
)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class SetAside:
    """A difference the check does not count as drift, and why."""

    address: str
    path: str
    reason: str


@dataclass(frozen=True)
class DriftReport:
    """The outcome of one drift check of one stack."""

    stack: str
    status: str
    drifts: tuple[Drift, ...] = ()
    set_aside: tuple[SetAside, ...] = ()
    error: str = ""
    terraform_exit: int | None = None

    @property
    def exit_code(self) -> int:
        """0 no drift, 2 drift, 1 the check could not run (as ``terraform plan -detailed-exitcode``)."""
        return EXIT_CODES[self.status]

    @property
    def resources(self) -> list[str]:
        """The drifted resources, in report order, once each."""
        return list(dict.fromkeys(d.address for d in self.drifts))

    def keys(self) -> set[tuple[str, str]]:
        """``(address, attribute path)`` of every drift."""
        return {(d.address, d.path) for d in self.drifts}

    def line(self) -> str:
        """One line: ``orders-dev: no drift`` / ``... 2 resources drifted (3 attributes)`` / ``... could not be checked: ...``."""
        if self.status == ERROR:
            return f"{self.stack}: could not be checked: {self.error.splitlines()[0] if self.error else 'unknown error'}"
        aside = f"; {len(self.set_aside)} difference(s) set aside (not changes anyone made)" if self.set_aside else ""
        if self.status == CLEAN:
            return f"{self.stack}: no drift{aside}"
        return f"{self.stack}: {len(self.resources)} resource(s) drifted ({len(self.drifts)} attribute(s)){aside}"

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable: what the nightly workflow reads (with the issue's title and body)."""
        title, body = render_issue(self) if self.status == DRIFTED else (issue_title(self.stack), "")
        return {
            "stack": self.stack,
            "status": self.status,
            "exit_code": self.exit_code,
            "terraform_exit": self.terraform_exit,
            "line": self.line(),
            "error": self.error,
            "drifts": [{"address": d.address, "attribute": d.path, "deployed": d.deployed, "coded": d.coded} for d in self.drifts],
            "set_aside": [{"address": s.address, "attribute": s.path, "reason": s.reason} for s in self.set_aside],
            "issue": {"title": title, "body": body, "label": ISSUE_LABEL, "marker": issue_marker(self.stack)},
            "summary": render_summary(self),
        }


# ------------------------------------------------------------------ reading a refresh-only plan
def read_drift_report(plan: Mapping[str, Any], *, stack: str, schema: ProviderSchema | None = None, terraform_exit: int | None = None) -> DriftReport:
    """The drift of a ``-refresh-only`` plan's JSON, with what is not a change set aside (module docstring). ``schema=None``: nothing is set aside as computed."""
    state = prior_state_resources(plan)
    kept: list[Drift] = []
    aside: list[SetAside] = []
    for drift in _split_maps(read_drift(plan)):
        reason = _mirror_reason(drift, state)
        if reason:
            aside.append(SetAside(drift.address, drift.path, reason))
        else:
            kept.append(drift)
    kept = _merge_tags(kept)
    if schema is not None:
        kept, computed = _computed_aside(kept, schema)
        aside += computed
    kept = _unmirrored_entries(kept, state)
    return DriftReport(stack=stack, status=DRIFTED if kept else CLEAN, drifts=tuple(kept), set_aside=tuple(aside), terraform_exit=terraform_exit)


def _split_maps(drifts: Iterable[Drift]) -> list[Drift]:
    """A map that was null (or empty) on one side, e.g. ``tags``, as one drift per key."""
    out = []
    for d in drifts:
        coded = {} if d.coded is None else d.coded
        deployed = {} if d.deployed is None else d.deployed
        if isinstance(coded, dict) and isinstance(deployed, dict) and (d.coded is None or d.deployed is None or not d.coded or not d.deployed):
            for key in sorted(set(coded) | set(deployed)):
                if coded.get(key) != deployed.get(key):
                    out.append(Drift(d.address, f"{d.path}.{key}", coded=coded.get(key), deployed=deployed.get(key), type=d.type))
        else:
            out.append(d)
    return out


def _sources(mirror: Mirror, owner: Mapping[str, Any], state: Mapping[str, tuple[str, Mapping[str, Any]]]) -> list[tuple[str, Mapping[str, Any]]]:
    """The separate resources (address, values) that name this owner."""
    names = {owner.get(key) for key in mirror.owner_key} - {None, ""}
    return [(address, values) for address, (rtype, values) in state.items() if rtype == mirror.source and values.get(mirror.link) in names]


def _same(a: Any, b: Any) -> bool:
    return a == b or same_json_text(a, b)


def _mirror_reason(drift: Drift, state: Mapping[str, tuple[str, Mapping[str, Any]]]) -> str:
    """Why a mirrored attribute's drift is not counted (the separate resource holds the same), or ''."""
    top = drift.path.split(".")[0].split("[")[0]
    mirror = next((m for m in MIRRORS if m.owner == drift.type and m.attribute == top), None)
    owner = state.get(drift.address, ("", None))[1]
    if mirror is None or owner is None:
        return ""
    sources = _sources(mirror, owner, state)
    if not sources or mirror.keyed_by:
        return ""  # no separate resource: drift; a keyed mirror is judged per entry by _unmirrored_entries
    names = ", ".join(address for address, _ in sources)
    deployed = owner.get(mirror.attribute)
    held = [values.get(mirror.value) for _, values in sources]
    if isinstance(deployed, list):
        consistent = sorted(map(str, deployed)) == sorted(map(str, held))
    else:
        consistent = len(held) == 1 and _same(deployed, held[0])
    return f"mirrors {names}, which holds the same and is checked itself" if consistent else ""


def _unmirrored_entries(drifts: list[Drift], state: Mapping[str, tuple[str, Mapping[str, Any]]]) -> list[Drift]:
    """A keyed mirror (a role's inline policies): only the entries no separate resource holds, as ``inline_policy.<name>``."""
    out: list[Drift] = []
    done: set[tuple[str, str]] = set()
    for d in drifts:
        top = d.path.split(".")[0].split("[")[0]
        mirror = next((m for m in MIRRORS if m.owner == d.type and m.attribute == top and m.keyed_by), None)
        owner = state.get(d.address, ("", None))[1]
        if mirror is None or owner is None or not _sources(mirror, owner, state):
            out.append(d)
            continue
        if (d.address, top) in done:
            continue
        done.add((d.address, top))
        held = {values.get(mirror.keyed_by): values.get(mirror.value) for _, values in _sources(mirror, owner, state)}
        for entry in owner.get(mirror.attribute) or []:
            name = entry.get(mirror.keyed_by) if isinstance(entry, dict) else None
            if not name:
                continue  # the provider's empty placeholder entry
            if name not in held:
                out.append(Drift(d.address, f"{top}.{name}", coded="(not in the code)", deployed=entry.get(mirror.value), type=d.type))
            elif not _same(held[name], entry.get(mirror.value)):
                out.append(Drift(d.address, f"{top}.{name}", coded=held[name], deployed=entry.get(mirror.value), type=d.type))
    return out


def _merge_tags(drifts: list[Drift]) -> list[Drift]:
    """``tags_all.K`` reported as ``tags.K`` (default tags included); ``tags`` itself left out where ``tags_all`` drifted."""
    with_all = {d.address for d in drifts if d.path == "tags_all" or d.path.startswith("tags_all.")}
    out = []
    for d in drifts:
        if d.address in with_all and (d.path == "tags" or d.path.startswith("tags.")):
            continue
        if d.path.startswith("tags_all."):
            d = Drift(d.address, "tags." + d.path[len("tags_all.") :], coded=d.coded, deployed=d.deployed, type=d.type)
        out.append(d)
    return out


def _computed_aside(drifts: list[Drift], schema: ProviderSchema) -> tuple[list[Drift], list[SetAside]]:
    """Attributes only the provider computes: set aside when a setting of the same resource drifted, or when both values are timestamps."""
    settings = {d.address for d in drifts if d.path == DELETED_PATH or schema.settable(d.type, d.path) is not False}
    kept, aside = [], []
    for d in drifts:
        if d.path == DELETED_PATH or schema.settable(d.type, d.path) is not False:
            kept.append(d)
        elif d.address in settings:
            aside.append(SetAside(d.address, d.path, "computed by the provider; follows from a setting of this resource that drifted (reported)"))
        elif _timestamp(d.coded) and _timestamp(d.deployed):
            aside.append(SetAside(d.address, d.path, "a timestamp the provider computes: when the resource was last touched, not what changed"))
        else:
            kept.append(d)
    return kept, aside


def _timestamp(value: Any) -> bool:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ running the check
def check_drift(tf: TerraformRunner, *, stack: str, schema: ProviderSchema | None = None, lock_timeout_seconds: int = 300, timeout_seconds: float = 900) -> DriftReport:
    """``terraform plan -refresh-only -detailed-exitcode`` in ``tf``'s folder, read into a report; every failure is an ``error`` report."""
    result = tf.run(
        "plan",
        "-refresh-only",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        f"-lock-timeout={lock_timeout_seconds}s",
        f"-out={DRIFT_PLAN}",
        timeout_seconds=timeout_seconds,
    )
    if result.timed_out or result.returncode not in (0, 2):
        return DriftReport(stack=stack, status=ERROR, error=f"terraform plan -refresh-only failed (exit {result.returncode}):\n    {result.failure()}", terraform_exit=result.returncode)
    try:
        plan = tf.show_json(DRIFT_PLAN)
        schema = schema or load_schema(tf)
    except (RuntimeError, ValueError) as error:
        return DriftReport(stack=stack, status=ERROR, error=str(error), terraform_exit=result.returncode)
    if not prior_state_resources(plan):
        # A wrong state key or bucket, or a stack never deployed: an empty state drifts from nothing.
        return DriftReport(
            stack=stack,
            status=ERROR,
            error=f"the state of {stack} holds no resources, so there is nothing to compare. Fix: check the state backend settings (TF_STATE_BUCKET, TF_STATE_KEY_PREFIX, the workspace) and that the stack was deployed",
            terraform_exit=result.returncode,
        )
    report = read_drift_report(plan, stack=stack, schema=schema, terraform_exit=result.returncode)
    if result.returncode == 0 and report.drifts:
        # Terraform saw nothing, the reader something: never quietly pick one.
        return DriftReport(stack=stack, status=ERROR, error="terraform reported no drift (exit 0) but its plan holds drift; report this", terraform_exit=0)
    return report


def load_schema(tf: TerraformRunner) -> ProviderSchema:
    """The AWS provider's resource schemas, as ``terraform providers schema -json`` in ``tf``'s folder prints them."""
    result = tf.run("providers", "schema", "-json", timeout_seconds=300)
    if not result.ok:
        raise RuntimeError(f"terraform providers schema -json failed: {result.failure()}")
    try:
        return ProviderSchema.from_json(json.loads(result.stdout or "{}"))
    except (ValueError, SchemaError) as error:
        raise RuntimeError(f"terraform providers schema -json: {error}") from None


# ------------------------------------------------------------------ what people read
def issue_title(stack: str) -> str:
    """The drift issue's title: one open issue per stack, found again by its marker."""
    return f"Drift: {stack} differs from the code"


def issue_marker(stack: str) -> str:
    """The hidden line that identifies a stack's drift issue (titles can be edited)."""
    return f"<!-- drift-check:{stack} -->"


def _cell(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return f"`{text}`" if text else "(empty)"


def _table(drifts: Iterable[Drift]) -> list[str]:
    rows = ["| resource | attribute | deployed | coded (last applied) |", "|---|---|---|---|"]
    for d in drifts:
        attribute = "the resource" if d.path == DELETED_PATH else _cell(d.path)
        rows.append(f"| `{d.address}` | {attribute} | {_cell(d.deployed)} | {_cell(d.coded)} |")
    return rows


def render_summary(report: DriftReport) -> str:
    """Markdown for the job summary: the outcome, the table of drift, what was set aside."""
    icon = {CLEAN: "✅", DRIFTED: "⚠️", ERROR: "❌"}[report.status]
    lines = [f"#### {icon} Drift check: {report.line()}", ""]
    if report.status == ERROR:
        return "\n".join([*lines, "```", report.error, "```", "", "Not checked is not clean: fix the cause (credentials, a held state lock, the configuration) and run the check again."])
    if report.drifts:
        lines += [*_table(report.drifts), ""]
    if report.set_aside:
        lines += [f"<details><summary>Set aside ({len(report.set_aside)}): not changes anyone made</summary>", ""]
        lines += [f"- `{s.address}` `{s.path}`: {s.reason}" for s in report.set_aside] + ["", "</details>", ""]
    return "\n".join(lines)


def render_issue(report: DriftReport, *, run_url: str = "", checked_at: str = "") -> tuple[str, str]:
    """The drift issue's title and body: which resource, which attribute, the deployed and the coded value, and what to do."""
    head = [
        issue_marker(report.stack),
        (
            f"The drift check found **{len(report.resources)} resource(s)** of `{report.stack}` changed outside Terraform "
            f"({len(report.drifts)} attribute(s)). **Deployed** is what AWS holds now; **coded** is the value Terraform last "
            "applied from the code (the state before the refresh)."
        ),
        "",
    ]
    tail = [
        "",
        (
            "**What to do.** To put the coded values back, run the deploy workflow (Actions → deploy → Run workflow): its plan "
            "shows these attributes being set back, reviewed by the guard. To keep a deployed value, change the code to match "
            "and merge it. This issue is updated while the drift lasts and closed by the first check that finds none."
        ),
        "",
    ]
    if report.set_aside:
        tail += [f"<details><summary>Set aside ({len(report.set_aside)}): not changes anyone made</summary>", ""]
        tail += [f"- `{s.address}` `{s.path}`: {s.reason}" for s in report.set_aside] + ["", "</details>", ""]
    footer = "_" + " · ".join(filter(None, [f"checked {checked_at}" if checked_at else "", f"[run]({run_url})" if run_url else ""])) + "_" if (checked_at or run_url) else ""
    rows = _table(report.drifts)
    body = "\n".join(head + rows + tail + [footer])
    while len(body) > ISSUE_BODY_LIMIT and len(rows) > 3:
        rows = rows[:-1]
        cut = len(report.drifts) - (len(rows) - 2)
        body = "\n".join(head + rows + [f"| … | {cut} more row(s): the job summary of the run lists them all | | |"] + tail + [footer])
    return issue_title(report.stack), body
