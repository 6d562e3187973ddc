"""``ordersctl preflight``: what a deploy of the selected stacks needs from the account, checked before it.

The stacks are the ones ``make synth`` would write with the same environment and
cdktf.json (``pipeline_config.selection``). Each check is a pure function of what the
account answered through a ``PreflightPort``, so its arithmetic and wording are tested
with plain objects; ``ordersctl.aws.AwsPreflightPort`` answers for AWS or an emulator.
A check that cannot get an answer fails with the reason: a preflight that passes by not
looking would be worse than none.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline_config.addresses import EXECUTION_LOG_GROUP_ADDRESS, import_command
from pipeline_config.naming import API_STAGE_NAME, account_stack_name, api_execution_log_group, default_tags, stack_of_cloudwatch_role, suffix_of_stack
from pipeline_config.selection import Selection

#: Lambda keeps this much of the regional quota unreserved, whatever functions reserve.
LAMBDA_MIN_UNRESERVED = 100
LAMBDA_CONCURRENCY_QUOTA_CODE = "L-B99A9384"


class Unsupported(Exception):
    """The endpoint does not implement a call (an emulator's gap); the check says so instead of guessing."""


class PreflightPort(Protocol):
    """What preflight asks the account (``ordersctl.aws.AwsPreflightPort`` answers for AWS and emulators)."""

    def concurrency_settings(self, region: str) -> tuple[int, int]:
        """(regional concurrency quota, unreserved concurrency now); ``Unsupported`` when the endpoint lacks it."""

    def function_reservation(self, region: str, function_name: str) -> int:
        """A function's reserved concurrency now (0: none, or no such function)."""

    def all_reservations(self, region: str) -> dict[str, int]:
        """Reserved concurrency of every function in the region that has one, by name."""

    def layer_version_exists(self, region: str, arn: str) -> bool:
        """Whether a Lambda layer version ARN can be used."""

    def account_cloudwatch_role_arn(self, region: str) -> str | None:
        """API Gateway's account CloudWatch role ARN, or None when unset."""

    def role_exists(self, role_name: str) -> bool:
        """Whether an IAM role exists."""

    def bucket_exists(self, bucket: str, region: str) -> bool:
        """Whether an S3 bucket exists (and can be reached)."""

    def table_hash_key(self, table: str, region: str) -> list[tuple[str, str]] | None:
        """A DynamoDB table's hash key as [(name, type)], or None when there is no such table."""

    def cloud_workspace_exists(self, hostname: str, organization: str, workspace: str) -> bool:
        """Whether an HCP Terraform workspace exists."""

    def rest_api_ids(self, region: str, api_name: str) -> list[str]:
        """The ids of the REST APIs named ``api_name`` in the region (none before the first deploy)."""

    def log_group_tags(self, region: str, name: str) -> dict[str, str] | None:
        """The tags of a CloudWatch log group, or None when there is no such group."""


@dataclass(frozen=True)
class CheckResult:
    """One check: what it looked at, whether it passed, what it found, and the fix when it did not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


# ----------------------------------------------------------------------------- Lambda concurrency
@dataclass(frozen=True)
class Reservation:
    """One function a selected stack reserves concurrency for."""

    stack: str
    function_name: str
    reserved: int


@dataclass(frozen=True, kw_only=True)
class ConcurrencyFacts:
    """What the account said about Lambda concurrency in one region."""

    quota: int
    """The regional quota (ConcurrentExecutions)."""
    reserved_by_others: int
    """Reserved by functions the selected stacks do not deploy."""
    source: str = "GetAccountSettings"
    """Where the quota came from (for the report)."""


def planned_reservations(selection: Selection, region: str) -> list[Reservation]:
    """The reservations the selected environment stacks of ``region`` make."""
    return [Reservation(c.names.stack, c.names.order_processor_function, c.processor_reserved_concurrency) for c in selection.environments if c.region == region and c.processor_reserved_concurrency]


def concurrency_facts(port: PreflightPort, region: str, our_functions: Sequence[str], quota_override: int | None) -> ConcurrencyFacts:
    """Quota and the other functions' reservations; ``Unsupported`` when neither the endpoint nor the caller gives a quota."""
    try:
        quota, unreserved = port.concurrency_settings(region)
    except Unsupported:
        if quota_override is None:
            raise
        # Without account settings, add up every other function's reservation instead.
        others = sum(n for name, n in port.all_reservations(region).items() if name not in our_functions)
        return ConcurrencyFacts(quota=quota_override, reserved_by_others=others, source="--concurrency-quota")
    ours_now = sum(port.function_reservation(region, name) for name in our_functions)
    others = quota - unreserved - ours_now
    if quota_override is not None:
        return ConcurrencyFacts(quota=quota_override, reserved_by_others=others, source=f"--concurrency-quota; the account has {quota}")
    return ConcurrencyFacts(quota=quota, reserved_by_others=others)


def concurrency_check(region: str, facts: ConcurrencyFacts, planned: Sequence[Reservation]) -> CheckResult:
    """Pass when the quota covers the other functions' reservations, ours, and Lambda's unreserved 100."""
    ours = sum(r.reserved for r in planned)
    needed = facts.reserved_by_others + ours + LAMBDA_MIN_UNRESERVED
    listed = ", ".join(f"{r.stack} {r.reserved}" for r in planned) or "nothing"
    name = f"Lambda concurrency in {region}"
    detail = (
        f"quota {facts.quota} ({facts.source}); other functions reserve {facts.reserved_by_others}; "
        f"these stacks reserve {ours} ({listed}); Lambda keeps {LAMBDA_MIN_UNRESERVED} unreserved: needs {needed}"
    )
    if needed <= facts.quota:
        return CheckResult(name, True, detail)
    environments = ", ".join(sorted({suffix_of_stack(r.stack) or r.stack for r in planned})) or "these environments"
    fix = (
        f"ask for a Lambda concurrency quota of at least {needed} in {region} (Service Quotas > AWS Lambda > "
        f"Concurrent executions, {LAMBDA_CONCURRENCY_QUOTA_CODE}), or reserve less: "
        f'"processor_reserved_concurrency": "off" (or a smaller number) for {environments} in cdktf.json'
    )
    return CheckResult(name, False, detail, fix)


# ----------------------------------------------------------------------------- Powertools layer
def layer_check(region: str, arn: str, exists: bool, stacks: Sequence[str]) -> CheckResult:
    """Pass when the pinned Powertools layer version exists in the region."""
    name = f"Powertools layer in {region}"
    if exists:
        return CheckResult(name, True, f"{arn} exists (used by {', '.join(stacks)})")
    return CheckResult(
        name,
        False,
        f"{arn} does not exist or cannot be read (used by {', '.join(stacks)})",
        f"`aws ssm get-parameter --name /aws/service/powertools/python/x86_64/python3.12/latest --region {region}` shows the newest "
        "layer ARN; set powertools_layer_version to its version (or powertools_layer_arn to a copy you publish) in cdktf.json",
    )


# ----------------------------------------------------------------------------- API Gateway account role
@dataclass(frozen=True, kw_only=True)
class AccountRoleFacts:
    """What the account said about API Gateway's CloudWatch role in one region."""

    role_arn: str | None
    role_exists: bool = True


def account_role_check(region: str, facts: AccountRoleFacts, *, owner: str, selected: Sequence[str], environments_selected: bool) -> CheckResult:
    """Is the account role set, by which stack, and does this deploy need it set first?"""
    name = f"API Gateway account role in {region}"
    if facts.role_arn is None:
        # A designated environment sets it in the same apply, before its stage (depends_on).
        # The account-level stack does so only when it is deployed before the environments.
        owner_is_account_stack = owner == account_stack_name(region)
        if owner in selected and (not owner_is_account_stack or not environments_selected):
            return CheckResult(name, True, f"not set yet; {owner}, selected here, sets it")
        return CheckResult(
            name,
            False,
            "not set: API Gateway refuses stages with access or execution logging until the account has a CloudWatch role",
            f"deploy {owner} first (`cdktf deploy {owner}`), then the environments (README, 'Deploy')",
        )
    role_name = facts.role_arn.rsplit("/", 1)[-1]
    if not facts.role_exists:
        return CheckResult(name, False, f"points at {facts.role_arn}, which no longer exists: no API in {region} can log", f"deploy {owner}: it sets its own role")
    setter = stack_of_cloudwatch_role(role_name)
    if setter == owner:
        return CheckResult(name, True, f"set by {owner} ({facts.role_arn})")
    if setter is not None:
        return CheckResult(
            name, True, f"set by {setter} ({facts.role_arn}), from before {owner} owned it; deploying {owner} takes it over (docs/api-gateway-account.md, 'API Gateway account settings')"
        )
    return CheckResult(name, True, f"set outside this project ({facts.role_arn}); deploying {owner} replaces it with its own role")


# ----------------------------------------------------------------------------- API execution log group
@dataclass(frozen=True, kw_only=True)
class ExecutionLogGroupFacts:
    """What the account said about one environment's API and its execution log group."""

    rest_api_ids: tuple[str, ...]
    """REST APIs with the environment's API name (none before its first deploy)."""
    group_tags: dict[str, dict[str, str] | None]
    """Per API id: the tags of ``API-Gateway-Execution-Logs_<id>/<stage>``, None when the group does not exist."""


def execution_log_group_check(stack: str, suffix: str, facts: ExecutionLogGroupFacts) -> CheckResult:
    """Fail when the API's execution log group exists but the stack never created it.

    Deployments from before the stack pre-created the group let API Gateway create it on first
    write (untagged, unencrypted, never expiring). The stack's first apply with the group in it
    then fails with ResourceAlreadyExistsException until the group is imported into the state,
    once. A group the stack created carries its default tags, so the tags tell the two apart.
    """
    name = f"API execution log group of {stack}"
    if not facts.rest_api_ids:
        return CheckResult(name, True, "the API does not exist yet: the first apply creates it and its execution log group")
    ours = default_tags(suffix)
    adopt = []
    for api_id in facts.rest_api_ids:
        group = api_execution_log_group(api_id, API_STAGE_NAME)
        tags = facts.group_tags.get(api_id)
        if tags is not None and not all(tags.get(k) == v for k, v in ours.items()):
            adopt.append((api_id, group))
    if not adopt:
        return CheckResult(name, True, "absent (the apply creates it) or already created by the stack (it carries the stack's tags)")
    (api_id, group), *more = adopt
    detail = (
        f"{group} exists without this stack's tags (Environment={suffix}, ManagedBy=cdktf): API Gateway created it before the "
        "stack pre-created the group, and the next apply would fail with ResourceAlreadyExistsException"
    )
    if more:
        detail += f"; {len(adopt)} APIs are named like this stack's ({', '.join(a for a, _ in adopt)}): adopt the one the stack's state holds"
    fix = (
        f"adopt it into the state once, then apply (which sets its retention, key and tags): `{import_command(stack, EXECUTION_LOG_GROUP_ADDRESS, group)}` "
        "(docs/deploy.md, 'API execution log group'). Already imported? Apply once and this check passes."
    )
    return CheckResult(name, False, detail, fix)


# ----------------------------------------------------------------------------- state backend
def _missing_bucket(bucket: str) -> CheckResult:
    return CheckResult(
        "state bucket",
        False,
        f"s3://{bucket} does not exist or cannot be reached",
        "create it once, outside this project (versioning on, public access blocked, encryption on), or fix TF_STATE_BUCKET / TF_STATE_REGION (docs/state-backends.md, 'Terraform state backends')",
    )


def lock_table_check(table: str, key: list[tuple[str, str]] | None) -> CheckResult:
    """Pass when the DynamoDB lock table exists with the key Terraform writes (LockID, a string)."""
    if key is None:
        return CheckResult(
            "state lock table", False, f"DynamoDB table {table} does not exist", "create it with the partition key LockID (a string), or unset TF_STATE_LOCK_TABLE to lock with the S3 lock file"
        )
    if key != [("LockID", "S")]:
        return CheckResult("state lock table", False, f"DynamoDB table {table} has the key {key}, not LockID (a string)", "point TF_STATE_LOCK_TABLE at a table whose partition key is LockID (S)")
    return CheckResult("state lock table", True, f"DynamoDB table {table} exists with the key LockID")


def backend_checks(port: PreflightPort, backend: Any, stacks: Sequence[str], default_region: str) -> list[CheckResult]:
    """The state backend's parts exist: S3 bucket (+ lock table), HCP Terraform workspaces, or nothing for local files."""
    if backend.kind == "local":
        where = "terraform.<stack>.tfstate in the project directory" if backend.local_path is None else backend.local_path
        return [CheckResult("state backend", True, f"local state files ({where}); nothing to create")]
    if backend.kind == "s3":
        region = backend.s3_region or default_region
        results = [CheckResult("state bucket", True, f"s3://{backend.s3_bucket} exists") if port.bucket_exists(backend.s3_bucket, region) else _missing_bucket(backend.s3_bucket)]
        if backend.s3_lock_table:
            results.append(lock_table_check(backend.s3_lock_table, port.table_hash_key(backend.s3_lock_table, region)))
        return results
    results = []
    for stack in stacks:
        name = f"HCP Terraform workspace {stack}"
        if port.cloud_workspace_exists(backend.cloud_hostname, backend.cloud_organization, stack):
            results.append(CheckResult(name, True, f"exists in organization {backend.cloud_organization}"))
        else:
            results.append(
                CheckResult(
                    name,
                    False,
                    f"does not exist in organization {backend.cloud_organization} ({backend.cloud_hostname})",
                    f"create it (CLI-driven run workflow), or let `terraform init` in cdktf.out/stacks/{stack} create it with a token that may",
                )
            )
    return results


# ----------------------------------------------------------------------------- all of it
@dataclass(frozen=True, kw_only=True)
class PreflightInputs:
    """Everything preflight checks against: the selected stacks and the state backend."""

    selection: Selection
    """What ``make synth`` would write with the same environment and cdktf.json."""
    backend: Any
    """``pipeline_config.backend.BackendSettings`` of this run (``Selection.backend``)."""
    concurrency_quota: int | None = None
    """Quota to assume instead of (or, on an emulator, in the absence of) the account's."""


@contextmanager
def _guarded(results: list[CheckResult], name: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Run the check in the ``with`` body; an error of ``errors`` becomes a failed ``name`` check, so the others still run."""
    try:
        yield
    except errors as error:
        results.append(CheckResult(name, False, f"could not check: {error}", "fix the cause (usually the caller's read permissions, docs/operations.md, 'ordersctl'), then run preflight again"))


def run_checks(port: PreflightPort, inputs: PreflightInputs, errors: tuple[type[BaseException], ...] = ()) -> list[CheckResult]:
    """Every check, in deploy order of concern: capacity, code, logging, state. ``errors``: AWS errors a check may fail with."""
    selection = inputs.selection
    regions = sorted({c.region for c in selection.environments} | {a.region for a in selection.account_stacks})
    selected = selection.stack_names
    results: list[CheckResult] = []
    for region in regions:
        if any(c.region == region for c in selection.environments):
            planned = planned_reservations(selection, region)
            with _guarded(results, f"Lambda concurrency in {region}", errors):
                results.append(_concurrency(port, region, planned, selection, inputs.concurrency_quota))
        layers: dict[str, list[str]] = {}
        for config in selection.environments:
            if config.region == region:
                layers.setdefault(config.effective_powertools_layer_arn, []).append(config.names.stack)
        for arn, stacks in layers.items():
            with _guarded(results, f"Powertools layer in {region}", errors):
                results.append(layer_check(region, arn, port.layer_version_exists(region, arn), stacks))
        with _guarded(results, f"API Gateway account role in {region}", errors):
            results.append(_account_role(port, region, inputs, selected))
        for config in selection.environments:
            if config.region == region:
                with _guarded(results, f"API execution log group of {config.names.stack}", errors):
                    results.append(_execution_log_group(port, region, config))
    default_region = regions[0] if regions else "us-east-1"
    with _guarded(results, "state backend", errors):
        results += backend_checks(port, inputs.backend, selected, default_region)
    return results


def _concurrency(port: PreflightPort, region: str, planned: list[Reservation], selection: Selection, quota: int | None) -> CheckResult:
    functions = [c.names.order_processor_function for c in selection.environments if c.region == region]
    try:
        facts = concurrency_facts(port, region, functions, quota)
    except Unsupported as gap:
        return CheckResult(
            f"Lambda concurrency in {region}",
            False,
            f"the endpoint cannot tell the account's concurrency quota ({gap})",
            "pass the quota to check against with --concurrency-quota N (Service Quotas > AWS Lambda > Concurrent executions)",
        )
    return concurrency_check(region, facts, planned)


def _execution_log_group(port: PreflightPort, region: str, config: Any) -> CheckResult:
    ids = tuple(port.rest_api_ids(region, config.names.api))
    tags = {api_id: port.log_group_tags(region, api_execution_log_group(api_id, API_STAGE_NAME)) for api_id in ids}
    return execution_log_group_check(config.names.stack, config.environment_suffix, ExecutionLogGroupFacts(rest_api_ids=ids, group_tags=tags))


def _account_role(port: PreflightPort, region: str, inputs: PreflightInputs, selected: Sequence[str]) -> CheckResult:
    owner = inputs.selection.account_setting_owners.get(region, account_stack_name(region))
    arn = port.account_cloudwatch_role_arn(region)
    exists = port.role_exists(arn.rsplit("/", 1)[-1]) if arn else True
    return account_role_check(
        region,
        AccountRoleFacts(role_arn=arn, role_exists=exists),
        owner=owner,
        selected=selected,
        environments_selected=bool(inputs.selection.environments),
    )


def render(stacks: Sequence[str], target: str, results: Sequence[CheckResult]) -> str:
    """The text report: one PASS/FAIL line per check, the fix under each failure, a count."""
    lines = [f"preflight of {', '.join(stacks)} against {target}"]
    for result in results:
        lines.append(f"{'PASS' if result.ok else 'FAIL'}  {result.name}: {result.detail}")
        if not result.ok and result.fix:
            lines.append(f"      Fix: {result.fix}")
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)
