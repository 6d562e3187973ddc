"""The rehearsal itself: synth, working copy, init, validate, apply to moto, use it, re-plan, destroy.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

ROOT = Path(__file__).resolve().parent.parent

from pipeline_config import output_keys
from rehearsal.emulator import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, EmulatorError, RehearsalEmulator
from rehearsal.moto_server import PATCHES
from rehearsal.plan_review import PlanReview, review_plan
from rehearsal.terraform_cli import RunResult, TerraformRunner, terraform_env
from rehearsal.toolchain import ProviderSource, Terraform, ToolchainError, choose_provider, find_terraform, write_cli_config
from rehearsal.workcopy import (
    Deviation,
    WorkCopyError,
    pinned_provider_version,
    working_copy_override,
    powertools_layers,
    prepare,
    synthesize,
    write_override,
    POWERTOOLS_LAYER,
)

#: How far a rehearsal goes: "validate" (no emulator), "plan" (a first plan against an empty
#: emulator, or against AWS with --target aws), or "all" (apply, use, re-plan, destroy).
UNTIL_CHOICES = ("validate", "plan", "all")
TARGETS = ("moto", "aws")
FIRST_PLAN = "first.tfplan"


@dataclass(frozen=True, kw_only=True)
class RehearsalOptions:
    """What to rehearse and how. Every field has a default: ``RehearsalOptions()`` rehearses dev fully on moto."""

    suffix: str = "dev"
    """Environment suffix of the stack (``dev``, ``staging``, ``prod`` or e.g. ``pr-42``)."""
    until: str = "all"
    """``validate``, ``plan`` or ``all`` (see ``UNTIL_CHOICES``)."""
    target: str = "moto"
    """``moto`` (the rehearsal's own emulator) or ``aws`` (validate/plan only, with the shipped backend
    and the caller's credentials: what the pull-request plan workflow runs)."""
    workdir: Path | None = None
    """Where the synth output, working copy, state and logs go. None: a new temp dir."""
    keep: bool = False
    """Keep the temp dir after a successful run (it is always kept after a failure, for its logs)."""
    moto_port: int = 0
    """Port of the emulator on 127.0.0.1; 0 picks a free one."""
    pipeline_check: bool = True
    """After apply, run the handlers against what Terraform created (``all`` on moto only)."""
    plan_text_file: Path | None = None
    """Also write the plan's human-readable text here (the PR workflow comments it)."""
    apply_timeout_seconds: float = 900
    """Longest an apply or destroy may take before it is stopped and reported as a hang."""
    environ: Mapping[str, str] | None = None
    """Environment for synth and terraform (None: os.environ)."""

    def problems(self) -> list[str]:
        """Every invalid option, as 'setting: problem (given value). Fix: ...' lines."""
        p = []
        if self.until not in UNTIL_CHOICES:
            p.append(f"until: must be one of {', '.join(UNTIL_CHOICES)} (given {self.until!r}). Fix: pick one")
        if self.target not in TARGETS:
            p.append(f"target: must be one of {', '.join(TARGETS)} (given {self.target!r}). Fix: pick one")
        if self.target == "aws" and self.until == "all":
            p.append("until: 'all' applies and destroys; against AWS the rehearsal only validates and plans (given 'all' with target 'aws'). Fix: use --until plan, and deploy with cdktf deploy")
        if isinstance(self.moto_port, bool) or not isinstance(self.moto_port, int) or not 0 <= self.moto_port <= 65535:
            p.append(f"moto_port: must be a TCP port in [0, 65535] (given {self.moto_port!r}). Fix: use 0 to pick a free port")
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
    destroyed: int | None = None
    failure: str = ""
    workdir: Path | None = None
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every phase passed."""
        return not self.failure and all(p.ok for p in self.phases)

    @property
    def real_changes(self) -> int | None:
        """Real changes on the re-plan (None when there was none)."""
        return None if self.review is None else len(self.review.real)

    def phase(self, name: str) -> PhaseResult | None:
        """The phase of that name, if it ran."""
        return next((p for p in self.phases if p.name == name), None)

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


class Rehearsal:
    """Runs the phases for one stack; ``run()`` returns the report and never leaves moto running."""

    def __init__(self, options: RehearsalOptions | None = None, *, out: TextIO | None = None) -> None:
        self.options = options or RehearsalOptions()
        self.out = out or sys.stdout
        self.report = RehearsalReport()
        self.environ = dict(os.environ if self.options.environ is None else self.options.environ)
        self.emulator: RehearsalEmulator | None = None
        self.tf: TerraformRunner | None = None
        self.doc: dict[str, Any] = {}
        self._applied_anything = False
        self._notes: list[str] = []

    # ------------------------------------------------------------------ output
    def say(self, text: str = "") -> None:
        """Print a line now (phases stream as they finish)."""
        print(text, file=self.out, flush=True)

    def _phase(self, name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except (ToolchainError, WorkCopyError, EmulatorError, PhaseFailed) as error:
            detail, ok = str(error), False
        seconds = time.monotonic() - started
        self.report.phases.append(PhaseResult(name, ok, seconds, detail if ok else ""))
        first, *rest = (detail or "").splitlines() or [""]
        self.say(f"[{'ok' if ok else 'FAIL':>4}] {name:<9} {seconds:7.1f} s  {first}")
        for line in rest:
            self.say(f"{'':24}{line}")
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
            raise ValueError("invalid rehearsal options:\n  - " + "\n  - ".join(problems))
        temp = self.options.workdir is None
        root = Path(tempfile.mkdtemp(prefix="rehearsal-")) if temp else Path(self.options.workdir)
        root.mkdir(parents=True, exist_ok=True)
        self.report.workdir = root
        try:
            self._run_phases(root)
        finally:
            self._cleanup()
        self.say(self.report.summary())
        if temp and self.report.ok and not self.options.keep:
            shutil.rmtree(root, ignore_errors=True)
            self.report.workdir = None
        else:
            self.say(f"working copy, state and logs kept in {root}")
        return self.report

    def _run_phases(self, root: Path) -> None:
        opts = self.options
        try:
            terraform = find_terraform(self.environ)
        except ToolchainError as error:
            self.report.failure = f"terraform: {error}"
            self.say(f"[FAIL] terraform: {error}")
            return
        self.report.terraform = terraform.version
        stack_dir: list[Path] = []
        if not self._phase("synth", lambda: self._synth(root, stack_dir)):
            return
        if not self._phase("prepare", lambda: self._prepare(root, stack_dir[0], terraform)):
            return
        steps: list[tuple[str, Callable[[], str]]] = [("init", self._init), ("validate", self._validate)]
        if opts.until != "validate":
            if opts.target == "moto":
                steps.append(("emulator", self._start_emulator))
            steps.append(("plan", self._first_plan))
            if opts.until == "all":
                steps.append(("apply", self._apply))
                if opts.pipeline_check:
                    steps.append(("pipeline", self._pipeline_check))
                steps += [("re-plan", self._replan), ("destroy", self._destroy)]
        for name, action in steps:
            if not self._phase(name, action):
                return

    # ------------------------------------------------------------------ phases
    def _synth(self, root: Path, found: list[Path]) -> str:
        stack_dir = synthesize(self.options.suffix, root / "cdktf.out", self.environ)
        found.append(stack_dir)
        self.report.stack = stack_dir.name
        return f"{stack_dir.name} (python main.py, ENVIRONMENT_SUFFIX={self.options.suffix})"

    def _prepare(self, root: Path, stack_dir: Path, terraform: Terraform) -> str:
        self.workcopy = root / "work"
        self.doc = prepare(stack_dir, self.workcopy)
        provider = choose_provider(pinned_provider_version(self.doc), self.environ)
        self.report.provider = provider
        cli_config = write_cli_config(provider, root)
        extra = {}
        if self.options.target == "moto":
            # Never reach a real account: no profile, no ambient keys, no instance metadata.
            for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
                self.environ.pop(name, None)
            extra = {"AWS_EC2_METADATA_DISABLED": "true"}
        logs = root / "logs"
        logs.mkdir(exist_ok=True)
        self.tf = TerraformRunner(terraform.path, self.workcopy, logs, terraform_env(self.environ, cli_config, extra=extra))
        self.state_path = root / "state" / "terraform.tfstate"
        self.state_path.parent.mkdir(exist_ok=True)
        # Against moto, local state in the temp dir from the first init on (the shipped backend is
        # never touched); against AWS, the shipped backend. The endpoints come once moto runs.
        self._write_override()
        return f"working copy {self.workcopy}\nterraform {terraform.version}; {provider.describe()}"

    def _write_override(self, endpoint_url: str | None = None, layer_arn: str | None = None) -> None:
        provider = self.report.provider
        override, deviations = working_copy_override(
            self.doc,
            state_path=self.state_path if self.options.target == "moto" else None,
            provider_version=provider.version if provider else None,
            endpoint_url=endpoint_url,
            access_key=FAKE_ACCESS_KEY,
            secret_key=FAKE_SECRET_KEY,
            layer_arn=layer_arn,
        )
        write_override(self.workcopy, override)
        self.report.deviations = deviations
        self._notes.append("differences from what ships (working copy only, rehearsal_override.tf.json):" + ("" if deviations else " none"))
        self._notes += [f"  - {deviation.describe()}" for deviation in deviations]

    def _init(self) -> str:
        # Validating against AWS needs no state: skip the backend, so no credentials are needed yet.
        no_backend = self.options.target == "aws" and self.options.until == "validate"
        result = self._tf("init", "-input=false", "-no-color", *(["-backend=false"] if no_backend else []), timeout_seconds=600)
        source = self.report.provider
        if source is not None and source.kind == "mirror" and not result.ok:
            raise PhaseFailed(f"terraform init failed although the mirror {source.mirror} holds hashicorp/aws {source.version}:\n{result.failure()}")
        self._require(result, "terraform init")
        return "provider ready (backend skipped: validate only)" if no_backend else "backend and provider ready"

    def _validate(self) -> str:
        self._require(self._tf("validate", "-no-color", timeout_seconds=300), "terraform validate")
        return "configuration is valid"

    def _start_emulator(self) -> str:
        self.emulator = RehearsalEmulator(port=self.options.moto_port)
        self.emulator.start()
        layer_arn = None
        region = self.doc.get("provider", {}).get("aws", [{}])[0].get("region", "us-east-1")
        layers = {POWERTOOLS_LAYER.match(layer).group(1) for layers in powertools_layers(self.doc).values() for layer in layers if POWERTOOLS_LAYER.match(layer)}
        held = ""
        for name in sorted(layers):
            layer_arn, held = self.emulator.publish_layer(name, region)
        self._write_override(self.emulator.endpoint_url, layer_arn)
        self._notes.append("moto gaps patched in the rehearsal's own moto server (rehearsal/moto_server.py):")
        self._notes += [f"  - {gap}" for gap, _ in PATCHES]
        return f"moto on {self.emulator.endpoint_url}" + (f"; stand-in layer {layer_arn} ({held})" if layer_arn else "")

    def _first_plan(self) -> str:
        plan = self._plan(FIRST_PLAN)
        creates = [c for c in plan.get("resource_changes", []) if c.get("change", {}).get("actions") == ["create"]]
        others = [c["address"] for c in plan.get("resource_changes", []) if c.get("change", {}).get("actions") not in (["create"], ["no-op"], ["read"])]
        self.report.planned_to_add = len(creates)
        if self.options.target == "moto" and others:
            raise PhaseFailed(f"a plan against an empty emulator should only create, but it also changes: {', '.join(others)}")
        return f"{len(creates)} to add, {len(others)} to change or destroy"

    def _plan(self, plan_file: str) -> dict[str, Any]:
        result = self._tf("plan", "-input=false", "-no-color", "-lock-timeout=120s", f"-out={plan_file}", timeout_seconds=self.options.apply_timeout_seconds)
        if self.options.plan_text_file is not None:
            Path(self.options.plan_text_file).write_text(result.stdout + (("\n" + result.stderr) if result.stderr else ""), encoding="utf-8")
        self._require(result, "terraform plan")
        assert self.tf is not None
        return self.tf.show_json(plan_file)

    def _apply(self) -> str:
        # Applies exactly the first plan (the saved plan file), as a reviewed PR plan is applied.
        self._applied_anything = True
        result = self._tf("apply", "-input=false", "-json", FIRST_PLAN, timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        self._require(result, "terraform apply")
        assert self.tf is not None
        self.report.applied = len(self.tf.managed_resources())
        self.report.outputs = self._outputs()
        return f"{self.report.applied} resources ({result.changes.get('add', '?')} added)"

    def _outputs(self) -> dict[str, Any]:
        result = self._tf("output", "-json", timeout_seconds=120)
        self._require(result, "terraform output")
        return {name: entry.get("value") for name, entry in json.loads(result.stdout or "{}").items()}

    def _pipeline_check(self) -> str:
        # Its own process: the handlers log to stdout and keep per-process state; all of that goes
        # to the log file, and the last line is the verdict.
        from rehearsal.pipeline_check import RESULT_PREFIX

        assert self.emulator is not None and self.report.workdir is not None
        if output_keys.ORDERS_TABLE_NAME not in self.report.outputs:
            return "skipped: this stack has no order pipeline (e.g. the account-level stack)"
        outputs_file = self.report.workdir / "outputs.json"
        outputs_file.write_text(json.dumps(self.report.outputs, indent=2), encoding="utf-8")
        log = self.report.workdir / "logs" / "pipeline-check.log"
        command = [sys.executable, "-m", "rehearsal.pipeline_check", "--outputs", str(outputs_file), "--endpoint-url", self.emulator.endpoint_url, "--stack", self.report.stack]
        with log.open("w", encoding="utf-8") as sink:
            try:
                done = subprocess.run(command, cwd=ROOT, env=self._python_env(), stdout=sink, stderr=subprocess.STDOUT, timeout=600)
            except subprocess.TimeoutExpired as error:
                raise PhaseFailed(f"the handlers did not finish within 600 s; log: {log}") from error
        lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith(RESULT_PREFIX)]
        verdict = lines[-1][len(RESULT_PREFIX):] if lines else f"no verdict (exit {done.returncode})"
        if done.returncode != 0:
            raise PhaseFailed(f"the handlers failed against what Terraform created: {verdict}\n    log: {log}")
        return verdict

    def _python_env(self) -> dict[str, str]:
        env = dict(self.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def _replan(self) -> str:
        review = review_plan(self._plan("replan.tfplan"))
        self.report.review = review
        lines = [f"{len(review.real)} real changes, {len(review.noise)} emulator noise (JSON formatting only)"]
        lines += [f"noise: {line}" for change in review.noise for line in change.describe().splitlines()]
        if review.real:
            lines += [f"REAL: {line}" for change in review.real for line in change.describe().splitlines()]
            raise PhaseFailed("perpetual diff: the plan right after apply is not empty; users would see these changes in every PR plan\n" + "\n".join(lines[1:]))
        return "\n".join(lines)

    def _destroy(self) -> str:
        assert self.tf is not None
        before = len(self.tf.managed_resources())
        note = self._destroy_everything()
        self._applied_anything = False
        self.report.destroyed = before
        return f"{before} resources" + (f"; {note}" if note else "")

    def _destroy_everything(self) -> str:
        """``terraform destroy`` until the state is empty; a deletion-protected table is expected to refuse.

        Prod-like environments protect their table. The first destroy must fail on it (that proves
        the protection works); the rehearsal then lifts it in the emulator, as an operator would
        before tearing such a stack down, and destroys again.
        """
        assert self.tf is not None
        result = self._tf("destroy", "-auto-approve", "-input=false", "-json", timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        note = ""
        protected = [d for d in result.diagnostics if "DeletionProtectionEnabled" in f"{d.summary} {d.detail}"]
        if not result.ok and protected and self.emulator is not None and self.emulator.running:
            tables = self._lift_table_deletion_protection()
            note = f"deletion protection refused the destroy of {', '.join(tables)} as it should; lifted in the emulator, destroyed again"
            result = self._tf("destroy", "-auto-approve", "-input=false", "-json", timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        self._require(result, "terraform destroy")
        left = self.tf.managed_resources()
        if left:
            raise PhaseFailed(f"destroy left {len(left)} resources in state: {', '.join(left)}")
        return note

    def _lift_table_deletion_protection(self) -> list[str]:
        assert self.tf is not None and self.emulator is not None
        region = self.doc.get("provider", {}).get("aws", [{}])[0].get("region", "us-east-1")
        dynamodb = self.emulator.client("dynamodb", region)
        state = self.tf.show_json()
        tables = [
            r["values"]["name"]
            for r in state.get("values", {}).get("root_module", {}).get("resources", [])
            if r.get("type") == "aws_dynamodb_table" and r.get("values", {}).get("deletion_protection_enabled")
        ]
        for table in tables:
            dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
        return tables

    # ------------------------------------------------------------------ helpers
    def _tf(self, *args: str, timeout_seconds: float, json_stream: bool = False) -> RunResult:
        assert self.tf is not None
        return self.tf.run(*args, timeout_seconds=timeout_seconds, json_stream=json_stream)

    @staticmethod
    def _require(result: RunResult, what: str) -> None:
        if not result.ok:
            raise PhaseFailed(f"{what} failed:\n    {result.failure()}")

    def _cleanup(self) -> None:
        """Destroy what a failed run applied, then stop moto; both always attempted."""
        try:
            if self._applied_anything and self.tf is not None and self.emulator is not None and self.emulator.running:
                self._phase("cleanup", self._cleanup_destroy)
        finally:
            if self.emulator is not None:
                self.emulator.stop()

    def _cleanup_destroy(self) -> str:
        assert self.tf is not None
        before = len(self.tf.managed_resources())
        note = self._destroy_everything()
        return f"destroyed what was applied ({before} resources)" + (f"; {note}" if note else "")


class PhaseFailed(RuntimeError):
    """A phase failed; the message is what the user sees."""
