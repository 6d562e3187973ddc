"""The rehearsal itself: synth, working copy, init, validate, apply to moto, use it, re-plan, destroy.

Two shapes: a **fresh** rehearsal deploys the working tree onto an empty emulator; an **upgrade**
rehearsal (``from_rev``) deploys a git revision first, puts orders into it through its handlers,
then plans the working tree against the same state, reviews that plan with the guard, applies it
and checks that the orders survived (``rehearsal.upgrade``). The same entry point validates and
plans against AWS for the pull-request workflow (``target="aws"``): synthesize, plan and save,
review with the guard; the deploy workflow then applies exactly that reviewed plan
(``apply_reviewed``, ``rehearsal.deploy``), and the nightly drift check runs a refresh-only plan
(``until="drift"``, ``rehearsal.drift_rehearsal``). A full rehearsal on moto rehearses that drift
check too: changes made behind Terraform's back must be reported exactly, then put back.

Each phase prints one line with its duration. Whatever fails, the runner destroys what it applied,
stops its moto server and says which resource failed and why; it exits non-zero.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipeline_config import ConfigError, output_keys
from pipeline_config.errors import ConfigProblem
from rehearsal.base_revision import BaseRevision
from rehearsal.deploy import DeployPhases
from rehearsal.drift import DriftReport
from rehearsal.drift_rehearsal import DriftPhases
from rehearsal.emulator import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, EmulatorError, RehearsalEmulator
from rehearsal.errors import PhaseFailed
from rehearsal.moto_server import PATCHES
from rehearsal.plan_guard import AllowEntry, Review, render_markdown, review
from rehearsal.plan_review import PlanReview, review_plan
from rehearsal.teardown import Teardown, TeardownFailed
from rehearsal.terraform_cli import RunResult, TerraformRunner, read_state, terraform_env
from rehearsal.toolchain import PLUGIN_CACHE_ENV_VAR, ProviderSource, Terraform, ToolchainError, cache_lock, choose_provider, find_terraform, plugin_cache_dir, write_cli_config
from rehearsal.upgrade import UpgradePhases
from rehearsal.workcopy import (
    OVERRIDE_FILE,
    POWERTOOLS_LAYER,
    Deviation,
    WorkCopyError,
    WorkingCopy,
    pinned_provider_version,
    powertools_layers,
    prepare,
    prevent_destroy_addresses,
    synthesize,
    working_copy_override,
    write_override,
)

ROOT = Path(__file__).resolve().parent.parent
#: How far a rehearsal goes: "validate" (no emulator), "plan" (a first plan against an empty
#: emulator, or against AWS with --target aws, reviewed by the guard), "drift" (--target aws only:
#: the nightly refresh-only check of the deployed stack), or "all" (apply, use, re-plan, drift, destroy).
UNTIL_CHOICES = ("validate", "plan", "drift", "all")
TARGETS = ("moto", "aws")
FIRST_PLAN = "first.tfplan"
#: What a ``ConfigError`` of the options is about (its first line).
OPTIONS_CONTEXT = "rehearsal options"
#: Bounds of the orders an upgrade rehearsal puts in (each kind); more only makes it slower.
SEED_RANGE = (1, 500)


@dataclass(frozen=True, kw_only=True)
class RehearsalOptions:
    """What to rehearse and how. Every field has a default: ``RehearsalOptions()`` rehearses dev fully on moto."""

    suffix: str = "dev"
    """Environment suffix of the stack (``dev``, ``staging``, ``prod``, ``account`` or e.g. ``pr-42``)."""
    stack: str | None = None
    """The stack to take from the synth when it writes several (``account`` writes one per region). None: the only one."""
    until: str = "all"
    """``validate``, ``plan`` or ``all`` (see ``UNTIL_CHOICES``)."""
    target: str = "moto"
    """``moto`` (the rehearsal's own emulator) or ``aws`` (validate/plan only, with the shipped backend
    and the caller's credentials: what the pull-request plan workflow runs)."""
    from_rev: str | None = None
    """Upgrade rehearsal: deploy this git revision first, put orders in, then upgrade to the working tree
    (``all`` on moto only). None: a fresh deploy of the working tree."""
    allow_data_loss: tuple[AllowEntry, ...] = ()
    """Data-loss changes allowed on purpose (``--allow-data-loss``, ``--allow-data-loss-from``); the guard blocks any other."""
    review_file: Path | None = None
    """Also write the guard's markdown summary of the reviewed plan here (the PR comment's top)."""
    stored_orders: int = 40
    """Upgrade rehearsal: orders stored before the upgrade."""
    queued_orders: int = 10
    """Upgrade rehearsal: orders left waiting in the queue during the upgrade."""
    workdir: Path | None = None
    """Where the synth output, working copy, state and logs go. None: a new temp dir."""
    keep: bool = False
    """Keep the temp dir after a successful run (it is always kept after a failure, for its logs)."""
    moto_port: int = 0
    """Port of the emulator on 127.0.0.1; 0 picks a free one."""
    pipeline_check: bool = True
    """After apply, run the handlers against what Terraform created (``all`` on moto only)."""
    plan_text_file: Path | None = None
    """Also write the reviewed plan's human-readable text here (the PR workflow comments it)."""
    drift_check: bool = True
    """Full rehearsal on moto: change the stack out of band after the re-plan; the drift check must report exactly that."""
    drift_report_file: Path | None = None
    """``until="drift"``: write the check's outcome here as JSON (the nightly workflow reads it); always written, an error included."""
    apply_reviewed: Path | None = None
    """Deploy: apply the plan that ``--target aws --until plan --workdir DIR`` saved and the guard passed, in DIR (``rehearsal.deploy``)."""
    outputs_file: Path | None = None
    """With ``apply_reviewed``: write the stack's outputs here, as ``cdktf output --outputs-file`` does (for ``ordersctl``)."""
    apply_timeout_seconds: float = 900
    """Longest an apply or destroy may take before it is stopped and reported as a hang."""
    environ: Mapping[str, str] | None = None
    """Environment for synth and terraform (None: os.environ)."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid option, in the project's one problem shape (setting, value, problem, fix)."""
        p: list[ConfigProblem] = []
        if self.until not in UNTIL_CHOICES:
            p.append(ConfigProblem("until", self.until, f"must be one of {', '.join(UNTIL_CHOICES)}", "pick one"))
        if self.target not in TARGETS:
            p.append(ConfigProblem("target", self.target, f"must be one of {', '.join(TARGETS)}", "pick one"))
        if self.target == "aws" and self.until == "all" and self.apply_reviewed is None:
            p.append(
                ConfigProblem(
                    "until",
                    self.until,
                    "applies and destroys (with --target aws); against AWS the rehearsal only validates, plans or checks drift",
                    "use --until plan, then --apply-reviewed with its workdir to deploy",
                )
            )
        if self.until == "drift" and self.target != "aws":
            p.append(
                ConfigProblem(
                    "until",
                    self.until,
                    f"checks a deployed stack, which only exists in AWS (not with --target {self.target})",
                    "add --target aws; a full rehearsal (no --until) rehearses the drift check on moto",
                )
            )
        if self.drift_report_file is not None and self.until != "drift":
            p.append(ConfigProblem("drift_report_file", str(self.drift_report_file), f"is written only by --until drift (not --until {self.until})", "add --until drift --target aws"))
        if self.apply_reviewed is not None and (self.target != "aws" or self.until != "all" or self.from_rev is not None):
            given = f"--target {self.target} --until {self.until}{' --from ' + self.from_rev if self.from_rev else ''}"
            p.append(
                ConfigProblem("apply_reviewed", str(self.apply_reviewed), f"applies a plan reviewed against AWS, on its own (not with {given})", "--target aws --apply-reviewed DIR, nothing else")
            )
        if self.outputs_file is not None and self.apply_reviewed is None:
            p.append(ConfigProblem("outputs_file", str(self.outputs_file), "is written after an apply of a reviewed plan, which --apply-reviewed names", "add --apply-reviewed DIR"))
        if self.from_rev is not None and (self.target != "moto" or self.until != "all"):
            given = f"--target {self.target} --until {self.until}"
            p.append(
                ConfigProblem(
                    "from_rev", self.from_rev, f"starts an upgrade rehearsal, which deploys, fills and upgrades a stack in the emulator (not with {given})", "drop --target/--until, or drop --from"
                )
            )
        for name in ("stored_orders", "queued_orders"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
                p.append(ConfigProblem(name, value, f"must be a whole number in [{SEED_RANGE[0]}, {SEED_RANGE[1]}]", "use e.g. 40 stored and 10 queued"))
        if isinstance(self.moto_port, bool) or not isinstance(self.moto_port, int) or not 0 <= self.moto_port <= 65535:
            p.append(ConfigProblem("moto_port", self.moto_port, "must be a TCP port in [0, 65535]", "use 0 to pick a free port"))
        return p


@dataclass
class PhaseResult:
    """One phase: its name, outcome, duration and a short detail."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class RehearsalReport:
    """What a rehearsal did; ``ok`` is the verdict."""

    stack: str = ""
    terraform: str = ""
    provider: ProviderSource | None = None
    deviations: list[Deviation] = field(default_factory=list)
    phases: list[PhaseResult] = field(default_factory=list)
    applied: int | None = None
    planned_to_add: int | None = None
    review: PlanReview | None = None
    guard: Review | None = None
    """The guard's review of the plan it judged (the first plan with ``--until plan``, the upgrade plan with ``--from``)."""
    base: BaseRevision | None = None
    data: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Upgrade rehearsal: ``kind -> (kept, put in)`` for stored, queued and dlq."""
    data_notes: list[str] = field(default_factory=list)
    destroyed: int | None = None
    drift: DriftReport | None = None
    """The drift check's last report (``until="drift"``)."""
    drift_line: str = ""
    """Full rehearsal: ``drift: 4 changed out of band, 4 reported, 0 after apply``."""
    failure: str = ""
    workdir: Path | None = None
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every phase passed."""
        return not self.failure and all(p.ok for p in self.phases)

    @property
    def exit_code(self) -> int:
        """0 passed, 1 failed; with a drift check (``until="drift"``) its own: 0 no drift, 2 drift, 1 not checked."""
        if self.drift is not None:
            return self.drift.exit_code if self.ok else 1
        return 0 if self.ok else 1

    @property
    def real_changes(self) -> int | None:
        """Real changes on the re-plan (None when there was none)."""
        return None if self.review is None else len(self.review.real)

    def phase(self, name: str) -> PhaseResult | None:
        """The phase of that name, if it ran."""
        return next((p for p in self.phases if p.name == name), None)

    def upgrade_line(self) -> str:
        """``upgrade from <rev>: 2 updated in place, ...; data kept: 40/40 stored, ...`` (empty without ``--from``)."""
        if self.base is None:
            return ""
        changes = self.guard.action_summary() if self.guard is not None else "not planned"
        if self.guard is not None and not self.guard.ok:
            changes += " (stopped by the guard: nothing applied)"
        kept = ", ".join(f"{found}/{total} {label}" for kind, label in (("stored", "stored"), ("queued", "queued"), ("dlq", "in DLQ")) if kind in self.data for found, total in [self.data[kind]])
        return f"upgrade from {self.base.short}: {changes}; data kept: {kept or 'not checked'}" + "".join(f"; {note}" for note in self.data_notes)

    def summary(self) -> str:
        """The closing line: provider, resources applied, real changes on re-plan, resources destroyed."""
        parts = [f"stack {self.stack or '?'}"]
        if self.provider is not None:
            parts.append(f"provider hashicorp/aws {self.provider.version}" + (f" (pinned {self.provider.pinned_version})" if self.provider.differs_from_pin else ""))
        if self.planned_to_add is not None:
            parts.append(f"planned to add {self.planned_to_add}")
        if self.applied is not None:
            parts.append(f"resources applied {self.applied}")
        if self.review is not None:
            parts.append(f"real changes on re-plan {len(self.review.real)} (emulator noise {len(self.review.noise)})")
        if self.destroyed is not None:
            parts.append(f"resources destroyed {self.destroyed}")
        total = sum(p.seconds for p in self.phases)
        return f"{'PASSED' if self.ok else 'FAILED'}: " + ", ".join(parts) + f"; {total:.1f} s"


class Rehearsal(UpgradePhases, DriftPhases, DeployPhases):
    """Runs the phases for one stack; ``run()`` returns the report and never leaves moto running."""

    def __init__(self, options: RehearsalOptions | None = None, *, out: TextIO | None = None) -> None:
        self.options = options or RehearsalOptions()
        self.out = out or sys.stdout
        self.report = RehearsalReport()
        self.environ = dict(os.environ if self.options.environ is None else self.options.environ)
        self.emulator: RehearsalEmulator | None = None
        self.copies: dict[str, WorkingCopy] = {}
        """The working copies, by label; ``work`` always, ``base`` in an upgrade rehearsal."""
        self.deployed: WorkingCopy | None = None
        """The copy whose configuration the state was last applied from (what a destroy plans with)."""
        self.root = Path(".")
        self._stack_dirs: dict[str, Path] = {}
        self._last_plan: dict[str, Any] = {}
        self._endpoint: tuple[str | None, str | None] = (None, None)
        self._lifted: list[str] = []
        self._log_counter = [0]
        self._notes: list[str] = []
        self._reviewed_plan = FIRST_PLAN

    # ------------------------------------------------------------------ output
    def say(self, text: str = "") -> None:
        """Print a line now (phases stream as they finish)."""
        print(text, file=self.out, flush=True)

    def _progress_line(self, line: str) -> None:
        """A long terraform command's progress (TerraformRunner's ticker), under the phase it belongs to."""
        self.say(f"{'':7}... {line}")

    def _phase(self, name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except (ToolchainError, WorkCopyError, EmulatorError, PhaseFailed, TeardownFailed) as error:
            detail, ok = str(error), False
        except Exception as error:  # noqa: BLE001 -- a bug in the rehearsal: report it as this phase's failure, then clean up
            where = traceback.extract_tb(error.__traceback__)[-1]
            detail, ok = f"unexpected {type(error).__name__} in the rehearsal itself: {error} ({where.filename}:{where.lineno}); please report it", False
        seconds = time.monotonic() - started
        self.report.phases.append(PhaseResult(name, ok, seconds, detail if ok else ""))
        first, *rest = (detail or "").splitlines() or [""]
        self.say(f"[{'ok' if ok else 'FAIL':>4}] {name:<12} {seconds:7.1f} s  {first}")
        for line in rest:
            self.say(f"{'':27}{line}")
        for note in self._notes:
            self.say(f"{'':7}{note}")
        self._notes.clear()
        if not ok and not self.report.failure:
            self.report.failure = f"{name}: {first}"
        return ok

    # ------------------------------------------------------------------ run
    def run(self) -> RehearsalReport:
        """Every phase up to ``options.until``; cleanup always runs."""
        problems = self.options.problems()
        if problems:
            raise ConfigError(problems, context=OPTIONS_CONTEXT)
        given = self.options.apply_reviewed or self.options.workdir
        temp = given is None
        root = Path(tempfile.mkdtemp(prefix="rehearsal-")) if given is None else Path(given)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.report.workdir = root
        try:
            self._run_phases()
        finally:
            self._cleanup()
        if self.report.upgrade_line():
            self.say(self.report.upgrade_line())
        if self.report.drift_line:
            self.say(self.report.drift_line)
        self.write_drift_report()
        self.say(self.report.summary())
        if temp and self.report.ok and not self.options.keep:
            shutil.rmtree(root, ignore_errors=True)
            self.report.workdir = None
        else:
            self.say(f"working copy, state and logs kept in {root}")
        return self.report

    def _run_phases(self) -> None:
        try:
            terraform = find_terraform(self.environ)
        except ToolchainError as error:
            self.report.failure = f"terraform: {error}"
            self.say(f"[FAIL] terraform: {error}")
            return
        self.report.terraform = terraform.version
        for name, action in self._steps(terraform):
            if not self._phase(name, action):
                return

    def _steps(self, terraform: Terraform) -> list[tuple[str, Callable[[], str]]]:
        opts = self.options
        if opts.apply_reviewed is not None:
            return [("reviewed", lambda: self._load_reviewed(terraform)), ("apply", self._apply_reviewed)]
        steps: list[tuple[str, Callable[[], str]]] = [("base", self._synth_base)] if opts.from_rev else []
        steps += [("synth", self._synth), ("prepare", lambda: self._prepare(terraform)), ("init", self._init), ("validate", self._validate)]
        if opts.until == "validate":
            return steps
        if opts.until == "drift":
            return [*steps, ("drift", self._drift_check)]
        if opts.target == "moto":
            steps.append(("emulator", self._start_emulator))
        steps.append(("plan", self._first_plan))
        if opts.until == "plan":
            return [*steps, ("review", self._review)]
        steps.append(("apply", self._apply))
        if opts.from_rev:
            steps += [("seed", self._seed), ("upgrade-plan", self._upgrade_plan), ("review", self._review), ("upgrade", self._upgrade), ("verify", self._verify)]
        if opts.pipeline_check:
            steps.append(("pipeline", self._pipeline_check))
        steps.append(("re-plan", self._replan))
        if opts.drift_check:
            steps.append(("drift", self._drift))
        return [*steps, ("destroy", self._destroy)]

    # ------------------------------------------------------------------ phases
    def _synth(self) -> str:
        stack_dir = synthesize(self.options.suffix, self.root / "cdktf.out", self.environ, stack=self.options.stack)
        self._stack_dirs["work"] = stack_dir
        self.report.stack = stack_dir.name
        base = self._stack_dirs.get("base")
        if base is not None and base.name != stack_dir.name:
            raise PhaseFailed(f"the base revision synthesizes stack {base.name} but the working tree {stack_dir.name}: they are not the same deployment")
        return f"{stack_dir.name} (python main.py, ENVIRONMENT_SUFFIX={self.options.suffix})"

    def _prepare(self, terraform: Terraform) -> str:
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        self.state_path = self.root / "state" / "terraform.tfstate"
        self.state_path.parent.mkdir(exist_ok=True)
        work_doc = prepare(self._stack_dirs["work"], self.root / "work")
        provider = choose_provider(pinned_provider_version(work_doc), self.environ)
        self.report.provider = provider
        cli_config = write_cli_config(provider, self.root)
        extra = {PLUGIN_CACHE_ENV_VAR: str(plugin_cache_dir(self.environ))}
        if self.options.target == "moto":
            # Never reach a real account: no profile, no ambient keys, no instance metadata.
            for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
                self.environ.pop(name, None)
            extra["AWS_EC2_METADATA_DISABLED"] = "true"
        env = terraform_env(self.environ, cli_config, extra=extra)
        # The base first: it is deployed first, and its copy's logs sort first.
        for label in [label for label in ("base", "work") if label in self._stack_dirs]:
            path = self.root / label
            doc = work_doc if label == "work" else prepare(self._stack_dirs[label], path)
            self.copies[label] = WorkingCopy(label, path, doc, TerraformRunner(terraform.path, path, logs, env, counter=self._log_counter, progress=self._progress_line))
        # Against moto, local state in the temp dir from the first init on (the shipped backend is
        # never touched); against AWS, the shipped backend. The endpoints come once moto runs.
        self._write_overrides()
        copies = ", ".join(f"{c.label} {c.path}" for c in self.copies.values())
        return f"working cop{'ies' if len(self.copies) > 1 else 'y'} {copies}\nterraform {terraform.version}; {provider.describe()}"

    def _write_overrides(self) -> None:
        """The override file of every working copy, for the current endpoint, layer and lifted protections."""
        endpoint_url, layer_arn = self._endpoint
        for copy in self.copies.values():
            override, deviations = working_copy_override(
                copy.doc,
                state_path=self.state_path if self.options.target == "moto" else None,
                provider_version=self.report.provider.version if self.report.provider else None,
                endpoint_url=endpoint_url,
                access_key=FAKE_ACCESS_KEY,
                secret_key=FAKE_SECRET_KEY,
                layer_arn=layer_arn,
                lift_prevent_destroy=tuple(a for a in self._lifted if a in prevent_destroy_addresses(copy.doc)),
            )
            write_override(copy.path, override)
            if copy.label == "work":
                self.report.deviations = deviations
        self._notes.append(f"differences from what ships (working cop{'ies' if len(self.copies) > 1 else 'y'} only, {OVERRIDE_FILE}):" + ("" if self.report.deviations else " none"))
        self._notes += [f"  - {deviation.describe()}" for deviation in self.report.deviations]

    def _init(self) -> str:
        # Validating against AWS needs no state: skip the backend, so no credentials are needed yet.
        no_backend = self.options.target == "aws" and self.options.until == "validate"
        source = self.report.provider
        for copy in self.copies.values():
            with cache_lock(Path(copy.tf.env[PLUGIN_CACHE_ENV_VAR])):
                result = copy.tf.run("init", "-input=false", "-no-color", *(["-backend=false"] if no_backend else []), timeout_seconds=600)
            if source is not None and source.kind == "mirror" and not result.ok:
                raise PhaseFailed(f"terraform init failed although the mirror {source.mirror} holds hashicorp/aws {source.version}:\n{result.failure()}")
            self._require(result, f"terraform init ({copy.label})")
        ready = "provider ready (backend skipped: validate only)" if no_backend else "backend and provider ready"
        return ready + (f" in {len(self.copies)} working copies (plugin cache shared)" if len(self.copies) > 1 else "")

    def _validate(self) -> str:
        self._require(self.work.tf.run("validate", "-no-color", timeout_seconds=300), "terraform validate")
        return "configuration is valid" + (" (the working tree; the base revision is validated by its plan)" if "base" in self.copies else "")

    def _start_emulator(self) -> str:
        self.emulator = RehearsalEmulator(port=self.options.moto_port)
        self.emulator.start()
        layer_arn = None
        layers = {match.group(1) for copy in self.copies.values() for layers in powertools_layers(copy.doc).values() for layer in layers if (match := POWERTOOLS_LAYER.match(layer))}
        held = ""
        for name in sorted(layers):
            layer_arn, held = self.emulator.publish_layer(name, self.region)
        self._endpoint = (self.emulator.endpoint_url, layer_arn)
        self._write_overrides()
        self._notes.append("moto gaps patched in the rehearsal's own moto server (rehearsal/moto_server.py):")
        self._notes += [f"  - {gap}" for gap, _ in PATCHES]
        return f"moto on {self.emulator.endpoint_url}" + (f"; stand-in layer {layer_arn} ({held})" if layer_arn else "")

    def _first_plan(self) -> str:
        copy = self.copies.get("base", self.work)
        plan = self._plan(copy, FIRST_PLAN, text=self.options.until == "plan")
        changes = plan.get("resource_changes", [])
        creates = [c for c in changes if c.get("change", {}).get("actions") == ["create"]]
        others = [c["address"] for c in changes if c.get("change", {}).get("actions") not in (["create"], ["no-op"], ["read"])]
        self.report.planned_to_add = len(creates)
        if self.options.target == "moto" and others:
            raise PhaseFailed(f"a plan against an empty emulator should only create, but it also changes: {', '.join(others)}")
        return f"{len(creates)} to add, {len(others)} to change or destroy" + (f" (base {self.report.base.short})" if self.report.base else "")

    def _plan(self, copy: WorkingCopy, plan_file: str, *, text: bool = False) -> dict[str, Any]:
        result = copy.tf.run("plan", "-input=false", "-no-color", "-lock-timeout=120s", f"-out={plan_file}", timeout_seconds=self.options.apply_timeout_seconds)
        if text and self.options.plan_text_file is not None:
            Path(self.options.plan_text_file).write_text(result.stdout + (("\n" + result.stderr) if result.stderr else ""), encoding="utf-8")
        if not result.ok and "prevent_destroy" in result.stderr:
            raise PhaseFailed(f"terraform refused the plan: a resource protected by lifecycle.prevent_destroy would be destroyed (a prod-like protection):\n    {result.failure()}")
        self._require(result, "terraform plan")
        self._last_plan = copy.tf.show_json(plan_file)
        return self._last_plan

    def _review(self) -> str:
        """The guard on the last plan: the markdown summary, written to ``review_file``; fails on data loss not allowed."""
        result = review(self._last_plan, stack=self.report.stack, allows=self.options.allow_data_loss)
        self.report.guard = result
        markdown = render_markdown(result, title="Upgrade plan review" if self.options.from_rev else "Plan review")
        if self.options.review_file is not None:
            Path(self.options.review_file).write_text(markdown + "\n", encoding="utf-8")
        if self.options.target == "aws" and not self.options.from_rev:
            self._record_review(result, FIRST_PLAN)
        if not result.ok:
            after = " Nothing from the upgrade was applied." if self.options.from_rev else ""
            raise PhaseFailed(f"the guard stopped the plan: {result.verdict()}.{after}\n{markdown}")
        return f"{result.verdict()}\n{markdown}"

    def _apply(self) -> str:
        # Applies exactly the first plan (the saved plan file), as a reviewed PR plan is applied.
        copy = self.copies.get("base", self.work)
        self.deployed = copy
        result = copy.tf.run("apply", "-input=false", "-json", FIRST_PLAN, timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        self._require(result, "terraform apply")
        self.report.applied = len(read_state(self.state_path))
        self.report.outputs = self._outputs(copy)
        return f"{self.report.applied} resources ({result.changes.get('add', '?')} added)" + (f" from the base {self.report.base.short}" if self.report.base else "")

    def _outputs(self, copy: WorkingCopy) -> dict[str, Any]:
        result = copy.tf.run("output", "-json", timeout_seconds=120)
        self._require(result, "terraform output")
        outputs = {name: entry.get("value") for name, entry in json.loads(result.stdout or "{}").items()}
        (self.root / "outputs.json").write_text(json.dumps(outputs, indent=2), encoding="utf-8")
        return outputs

    def _pipeline_check(self) -> str:
        # Its own process: the handlers log to stdout and keep per-process state; all of that goes
        # to the log file, and the last line is the verdict.
        from rehearsal.pipeline_check import RESULT_PREFIX

        assert self.emulator is not None
        if output_keys.ORDERS_TABLE_NAME not in self.report.outputs:
            return "skipped: this stack has no order pipeline (e.g. the account-level stack)"
        command = ["--outputs", str(self.root / "outputs.json"), "--endpoint-url", self.emulator.endpoint_url, "--stack", self.report.stack]
        return self._run_python("rehearsal.pipeline_check", command, "pipeline-check.log", RESULT_PREFIX, "the handlers failed against what Terraform created")

    def _run_python(self, module: str, args: list[str], log_name: str, prefix: str, failed: str) -> str:
        """``python -m module args`` with output to a log file; its last ``prefix`` line, or PhaseFailed."""
        log = self.root / "logs" / log_name
        with log.open("w", encoding="utf-8") as sink:
            try:
                done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=self._python_env(), stdout=sink, stderr=subprocess.STDOUT, timeout=600)
            except subprocess.TimeoutExpired as error:
                raise PhaseFailed(f"{module} did not finish within 600 s; log: {log}") from error
        lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith(prefix)]
        verdict = lines[-1][len(prefix) :] if lines else f"no verdict (exit {done.returncode})"
        if done.returncode != 0:
            raise PhaseFailed(f"{failed}: {verdict}\n    log: {log}")
        return verdict

    def _python_env(self) -> dict[str, str]:
        env = dict(self.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def _replan(self) -> str:
        result = review_plan(self._plan(self.work, "replan.tfplan"))
        self.report.review = result
        lines = [f"{len(result.real)} real changes, {len(result.noise)} emulator noise (JSON formatting only)"]
        lines += [f"noise: {line}" for change in result.noise for line in change.describe().splitlines()]
        if result.real:
            lines += [f"REAL: {line}" for change in result.real for line in change.describe().splitlines()]
            raise PhaseFailed("perpetual diff: the plan right after apply is not empty; users would see these changes in every PR plan\n" + "\n".join(lines[1:]))
        return "\n".join(lines)

    def _destroy(self) -> str:
        teardown = self._teardown(strict=True)
        # The re-plan just read every resource back: the destroy need not read them again.
        self.report.destroyed = teardown.run(refresh=False)
        self.deployed = None
        return f"{self.report.destroyed} resources" + "".join(f"\n{note}" for note in teardown.notes)

    def _teardown(self, *, strict: bool) -> Teardown:
        copy = self.deployed or self.work

        def lift(addresses: list[str]) -> None:
            self._lifted = sorted(set(self._lifted) | set(addresses))
            self._write_overrides()

        return Teardown(
            tf=copy.tf,
            state_file=self.state_path,
            protected=prevent_destroy_addresses(copy.doc),
            lift_prevent_destroy=lift,
            emulator=self.emulator,
            region=self.region,
            timeout_seconds=self.options.apply_timeout_seconds,
            strict=strict,
        )

    # ------------------------------------------------------------------ helpers
    @property
    def work(self) -> WorkingCopy:
        """The working tree's copy."""
        return self.copies["work"]

    @property
    def region(self) -> str:
        """The stack's region (its provider block)."""
        doc = self.copies["work"].doc if "work" in self.copies else {}
        return doc.get("provider", {}).get("aws", [{}])[0].get("region", "us-east-1")

    @staticmethod
    def _require(result: RunResult, what: str) -> None:
        if not result.ok:
            raise PhaseFailed(f"{what} failed:\n    {result.failure()}")

    def _cleanup(self) -> None:
        """Destroy what a failed run applied, then stop moto; both always attempted."""
        try:
            if self.deployed is not None and self.emulator is not None and self.emulator.running:
                self._phase("cleanup", self._cleanup_destroy)
        finally:
            if self.emulator is not None:
                self.emulator.stop()

    def _cleanup_destroy(self) -> str:
        teardown = self._teardown(strict=False)
        destroyed = teardown.run(refresh=True)
        self.deployed = None
        return f"destroyed what was applied ({destroyed} resources)" + "".join(f"; {note}" for note in teardown.notes)
