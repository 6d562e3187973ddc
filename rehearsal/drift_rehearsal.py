"""The drift phases, mixed into ``rehearsal.runner.Rehearsal``: the rehearsed one (moto) and the nightly one (AWS).

``drift`` (a full rehearsal, after the re-plan): change the applied stack behind Terraform's back
with boto3, the way someone in the console would (``OUT_OF_BAND``: a queue's visibility timeout,
an alarm's threshold, a tag, a function's log group deleted), then run ``rehearsal.drift.check_drift``,
the code the nightly job runs. It must report exactly those resources and attributes and nothing
else; a check that reports nothing when something changed fails the phase. Then a plan of the
code, which must set back exactly what drifted, is applied, and the check must find no drift.

``drift`` with ``--target aws --until drift`` (the nightly workflow): the same check against the
deployed stack, its report written for the workflow (``--drift-report``); the exit code is the
check's: 0 no drift, 2 drift, 1 not checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rehearsal.drift import ERROR, DriftReport, check_drift, load_schema
from rehearsal.errors import PhaseFailed
from rehearsal.plan_guard import review
from rehearsal.plan_review import DELETED_PATH, UNKNOWN, read_changes
from rehearsal.terraform_cli import StateResource, read_state

if TYPE_CHECKING:
    from rehearsal.runner import Rehearsal

DRIFT_FIX_PLAN = "drift-fix.tfplan"
#: The tag the rehearsal adds out of band.
DRIFT_TAG = ("DriftCheck", "changed-outside-terraform")


@dataclass(frozen=True)
class OutOfBand:
    """One change made behind Terraform's back, and the drift it must show as: ``address`` and attribute ``path``."""

    what: str
    address: str
    path: str


def _first(state: list[StateResource], rtype: str, prefer: Callable[[StateResource], bool] = lambda r: True) -> StateResource | None:
    candidates = [r for r in state if r.type == rtype]
    return next((r for r in candidates if prefer(r)), candidates[0] if candidates else None)


def _queue_visibility(state: list[StateResource], client: Callable[[str], Any]) -> OutOfBand | None:
    queue = _first(state, "aws_sqs_queue", lambda r: bool(r.attributes.get("redrive_policy")))
    if queue is None:
        return None
    seconds = int(queue.attributes.get("visibility_timeout_seconds") or 30) + 7
    client("sqs").set_queue_attributes(QueueUrl=queue.attributes["url"], Attributes={"VisibilityTimeout": str(seconds)})
    return OutOfBand(f"visibility timeout of {queue.attributes.get('name')} set to {seconds} s", queue.address, "visibility_timeout_seconds")


def _alarm_threshold(state: list[StateResource], client: Callable[[str], Any]) -> OutOfBand | None:
    alarm = _first(state, "aws_cloudwatch_metric_alarm")
    if alarm is None:
        return None
    cloudwatch = client("cloudwatch")
    (current,) = cloudwatch.describe_alarms(AlarmNames=[alarm.attributes["alarm_name"]])["MetricAlarms"]
    fields = (
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "ComparisonOperator",
        "TreatMissingData",
        "Metrics",
    )
    request = {key: current[key] for key in fields if current.get(key) not in (None, [])}
    request["Threshold"] = float(current["Threshold"]) + 1
    cloudwatch.put_metric_alarm(**request)
    return OutOfBand(f"threshold of {alarm.attributes['alarm_name']} set to {request['Threshold']:g}", alarm.address, "threshold")


def _tag(state: list[StateResource], client: Callable[[str], Any]) -> OutOfBand | None:
    key, value = DRIFT_TAG
    table = _first(state, "aws_dynamodb_table")
    if table is not None:
        client("dynamodb").tag_resource(ResourceArn=table.attributes["arn"], Tags=[{"Key": key, "Value": value}])
        return OutOfBand(f"tag {key}={value} added to {table.attributes.get('name')}", table.address, f"tags.{key}")
    queue = _first(state, "aws_sqs_queue")
    if queue is not None:
        client("sqs").tag_queue(QueueUrl=queue.attributes["url"], Tags={key: value})
        return OutOfBand(f"tag {key}={value} added to {queue.attributes.get('name')}", queue.address, f"tags.{key}")
    role = _first(state, "aws_iam_role")
    if role is not None:
        client("iam").tag_role(RoleName=role.attributes["name"], Tags=[{"Key": key, "Value": value}])
        return OutOfBand(f"tag {key}={value} added to role {role.attributes['name']}", role.address, f"tags.{key}")
    return None


def _log_group_deleted(state: list[StateResource], client: Callable[[str], Any]) -> OutOfBand | None:
    group = _first(state, "aws_cloudwatch_log_group", lambda r: str(r.attributes.get("name", "")).startswith("/aws/lambda/"))
    if group is None:
        return None
    client("logs").delete_log_group(logGroupName=group.attributes["name"])
    return OutOfBand(f"log group {group.attributes['name']} deleted (Lambda would recreate it without its key and retention)", group.address, DELETED_PATH)


def _role_session(state: list[StateResource], client: Callable[[str], Any]) -> OutOfBand | None:
    role = _first(state, "aws_iam_role")
    if role is None:
        return None
    hours = int(role.attributes.get("max_session_duration") or 3600) // 3600 % 12 + 1
    client("iam").update_role(RoleName=role.attributes["name"], MaxSessionDuration=hours * 3600)
    return OutOfBand(f"maximum session of role {role.attributes['name']} set to {hours} h", role.address, "max_session_duration")


def _role_description(state: list[StateResource], client: Callable[[str], Any]) -> OutOfBand | None:
    role = _first(state, "aws_iam_role")
    if role is None:
        return None
    iam = client("iam")
    # moto 5.2.5 resets MaxSessionDuration when UpdateRole leaves it out (AWS keeps it): pass the current one.
    current = iam.get_role(RoleName=role.attributes["name"])["Role"].get("MaxSessionDuration", 3600)
    iam.update_role(RoleName=role.attributes["name"], Description="changed outside Terraform", MaxSessionDuration=current)
    return OutOfBand(f"description of role {role.attributes['name']} changed", role.address, "description")


#: The out-of-band changes, in order of preference; one that does not fit the stack (no such resource) is
#: skipped, and the first ``WANTED`` that fit are made. An environment stack takes the first four; the
#: account-level stack (a role and the region's API Gateway setting) the tag and the role's two.
OUT_OF_BAND: tuple[Callable[[list[StateResource], Callable[[str], Any]], OutOfBand | None], ...] = (
    _queue_visibility,
    _alarm_threshold,
    _tag,
    _log_group_deleted,
    _role_session,
    _role_description,
)
WANTED = 4
#: Fewer than this many changes proves too little: the phase fails instead.
MIN_CHANGES = 3


def change_out_of_band(state: list[StateResource], client: Callable[[str], Any]) -> list[OutOfBand]:
    """Make the first ``WANTED`` changes of ``OUT_OF_BAND`` that fit the applied stack; what each must show as."""
    changes: list[OutOfBand] = []
    for make in OUT_OF_BAND:
        if len(changes) < WANTED and (change := make(state, client)) is not None:
            changes.append(change)
    return changes


class DriftPhases:
    """The drift phase of a full rehearsal and of ``--until drift``; they use the runner's working copy, state, emulator and report.

    Mixed into ``rehearsal.runner.Rehearsal`` only: each method declares ``self: Rehearsal``, so
    mypy checks its body against the runner's real attributes. mypy accepts only a protocol as
    a mixin's self-type ("erased type of self ... is not a supertype", code misc); a protocol
    would repeat the runner's attributes here, so each method carries that one ignore instead.
    """

    def _drift(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        assert self.emulator is not None
        copy = self.deployed or self.work
        schema = load_schema(copy.tf)  # once for both checks: the provider does not change in between

        def client(service: str) -> Any:
            assert self.emulator is not None
            return self.emulator.client(service, self.region)

        state = read_state(self.state_path)
        changes = change_out_of_band(state, client)
        if len(changes) < MIN_CHANGES:
            raise PhaseFailed(f"only {len(changes)} out-of-band change(s) fit this stack ({', '.join(c.what for c in changes) or 'none'}); the drift check needs {MIN_CHANGES} to prove anything")
        found = self._checked(check_drift(copy.tf, stack=self.report.stack, schema=schema, timeout_seconds=self.options.apply_timeout_seconds))
        expected = {(c.address, c.path) for c in changes}
        missing, unexpected = expected - found.keys(), found.keys() - expected
        if missing or unexpected:
            lines = [f"missed (changed, not reported): {a} {p}" for a, p in sorted(missing)] + [f"unexpected (reported, not changed): {a} {p}" for a, p in sorted(unexpected)]
            raise PhaseFailed("the drift check did not report exactly what was changed out of band:\n" + "\n".join(lines))
        fixed = self._put_code_back(copy, {c.address for c in changes})
        after = self._checked(check_drift(copy.tf, stack=self.report.stack, schema=schema, timeout_seconds=self.options.apply_timeout_seconds))
        self.report.drift_line = f"drift: {len(changes)} changed out of band, {len(found.drifts)} reported, {len(after.drifts)} after apply"
        if after.drifts:
            raise PhaseFailed(f"{self.report.drift_line}: the apply did not put the code back:\n" + "\n".join(d.describe() for d in after.drifts))
        lines = [self.report.drift_line[len("drift: ") :]]
        lines += [f"out of band: {c.what}" for c in changes]
        lines += [f"reported: {d.describe()}" for d in found.drifts]
        lines += [f"set aside: {s.address} {s.path}: {s.reason}" for s in found.set_aside]
        return "\n".join([*lines, fixed])

    def _checked(self: Rehearsal, report: DriftReport) -> DriftReport:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        if report.status == ERROR:
            raise PhaseFailed(f"the drift check could not run: {report.error}")
        return report

    def _put_code_back(self: Rehearsal, copy: Any, drifted: set[str]) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        """A plan of the code, reviewed and applied as a deploy would: it must put back every drifted resource, and change nothing else but what follows from them."""
        plan = self._plan(copy, DRIFT_FIX_PLAN)
        verdict = review(plan, stack=self.report.stack, allows=self.options.allow_data_loss)
        if not verdict.ok:
            raise PhaseFailed(f"the guard stopped the plan that puts the code back: {verdict.verdict()}")
        changes = read_changes(plan)
        planned = {change.address for change in changes}
        # A recreated resource has a new ARN: what refers to it is updated with a value known only after apply.
        consequences = {c.address for c in changes if c.action == "update" and c.diffs and all(d.after == UNKNOWN for d in c.diffs)}
        if not drifted <= planned or planned - drifted - consequences:
            raise PhaseFailed(
                f"the plan of the code should put back exactly the drifted resources; it changes {sorted(planned)}, drifted {sorted(drifted)}"
                + (f" (follow-on updates: {sorted(consequences)})" if consequences else "")
            )
        result = copy.tf.run("apply", "-input=false", "-json", DRIFT_FIX_PLAN, timeout_seconds=self.options.apply_timeout_seconds, json_stream=True)
        self._require(result, "terraform apply of the code over the drift")
        done = result.changes
        follow = f" (follow-on updates: {', '.join(sorted(planned - drifted))})" if planned - drifted else ""
        return f"apply of the code: {done.get('add', '?')} added, {done.get('change', '?')} changed, {done.get('remove', '?')} destroyed{follow}"

    def _drift_check(self: Rehearsal) -> str:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        """``--until drift``: the nightly check against the deployed stack; fails (exit 1) only when it could not run."""
        report = check_drift(self.work.tf, stack=self.report.stack, timeout_seconds=self.options.apply_timeout_seconds)
        self.report.drift = report
        if report.status == ERROR:
            raise PhaseFailed(report.error)
        lines = [report.line()] + [d.describe() for d in report.drifts]
        return "\n".join(lines)

    def write_drift_report(self: Rehearsal) -> None:  # type: ignore[misc]  # Rehearsal mixin (class docstring)
        """The ``--drift-report`` file: always written, an error when the check did not run (so a missing check is never 'no drift')."""
        path = self.options.drift_report_file
        if path is None:
            return
        report = self.report.drift
        if report is None or (not self.report.ok and report.status != ERROR):
            report = DriftReport(stack=self.report.stack or "?", status=ERROR, error=self.report.failure or "the drift check did not run")
            self.report.drift = report
        Path(path).write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
