"""ordersctl preflight: the checks' arithmetic and wording on plain objects, then the whole command against moto."""

from __future__ import annotations

import email.message
import io
import json
import urllib.error
import zipfile

import pytest

from ordersctl.cli import main
from ordersctl.hcp import HcpError, find_token, workspace_exists
from ordersctl.preflight import (
    AccountRoleFacts,
    ConcurrencyFacts,
    ExecutionLogGroupFacts,
    PreflightInputs,
    PreflightPort,
    Unsupported,
    account_role_check,
    backend_checks,
    concurrency_check,
    concurrency_facts,
    execution_log_group_check,
    lock_table_check,
    planned_reservations,
    run_checks,
)
from pipeline_config.addresses import EXECUTION_LOG_GROUP_ADDRESS
from pipeline_config.backend import BackendSettings
from pipeline_config.selection import select_stacks

DEFAULT_CONTEXT = {"orderPipeline": {"prod": {"alarm_email": "oncall@example.com"}}}


def default_selection(**environ):
    return select_stacks(environ, DEFAULT_CONTEXT)


# ============================================================================ Lambda concurrency
def test_the_default_environments_need_a_quota_of_350():
    planned = planned_reservations(default_selection(), "us-east-1")
    assert [(r.stack, r.reserved) for r in planned] == [("orders-dev", 100), ("orders-staging", 50), ("orders-prod", 100)]
    new_account = concurrency_check("us-east-1", ConcurrencyFacts(quota=10, reserved_by_others=0), planned)
    assert not new_account.ok
    assert "these stacks reserve 250" in new_account.detail and "needs 350" in new_account.detail
    assert "at least 350" in new_account.fix and "L-B99A9384" in new_account.fix and '"off"' in new_account.fix
    assert concurrency_check("us-east-1", ConcurrencyFacts(quota=350, reserved_by_others=0), planned).ok
    # Other functions' reservations come on top.
    assert not concurrency_check("us-east-1", ConcurrencyFacts(quota=350, reserved_by_others=1), planned).ok


def test_reservations_turned_off_reserve_nothing():
    selection = select_stacks({}, {"orderPipeline": {**DEFAULT_CONTEXT["orderPipeline"], "dev": {"processor_reserved_concurrency": "off"}}})
    assert [r.stack for r in planned_reservations(selection, "us-east-1")] == ["orders-staging", "orders-prod"]


def test_a_review_environment_reserves_nothing_unless_told_to():
    assert planned_reservations(default_selection(ENVIRONMENT_SUFFIX="pr-7"), "us-east-1") == []
    told = select_stacks({"ENVIRONMENT_SUFFIX": "pr-7"}, {"orderPipeline": {"pr-7": {"processor_reserved_concurrency": 10}}})
    assert [(r.stack, r.reserved) for r in planned_reservations(told, "us-east-1")] == [("orders-pr-7", 10)]


def test_what_already_reserves_in_the_account_counts_and_what_the_plan_adds_comes_on_top():
    """The case the default quota of 1,000 meets: dev, staging and prod (250) and six older review
    environments that reserved 100 each (600) are deployed; Lambda keeps 100 unreserved."""
    deployed = {"order-processor-dev": 100, "order-processor-staging": 50, "order-processor-prod": 100}
    deployed.update({f"order-processor-pr-{n}": 100 for n in range(1, 7)})
    port = FakeLambda(settings=(1000, 1000 - sum(deployed.values())), reservations=deployed)

    # A 7th review environment with the new default: nothing to reserve, the deploy fits.
    review = default_selection(ENVIRONMENT_SUFFIX="pr-7")
    facts = concurrency_facts(port, "us-east-1", [c.names.order_processor_function for c in review.environments], None)
    assert facts.reserved_by_others == 850
    assert concurrency_check("us-east-1", facts, planned_reservations(review, "us-east-1")).ok

    # The same environment told to reserve 100 would not fit: 850 + 100 + 100 > 1000.
    told = select_stacks({"ENVIRONMENT_SUFFIX": "pr-7"}, {"orderPipeline": {"pr-7": {"processor_reserved_concurrency": 100}}})
    result = concurrency_check("us-east-1", facts, planned_reservations(told, "us-east-1"))
    assert not result.ok and "other functions reserve 850" in result.detail and "needs 1050" in result.detail
    assert "at least 1050" in result.fix and "pr-7" in result.fix

    # Re-deploying prod replaces its own 100 instead of adding to it: 750 + 100 + 100 <= 1000.
    prod = default_selection(ENVIRONMENT_SUFFIX="prod")
    facts = concurrency_facts(port, "us-east-1", ["order-processor-prod"], None)
    assert facts.reserved_by_others == 750 and concurrency_check("us-east-1", facts, planned_reservations(prod, "us-east-1")).ok


class UnaskedPort(PreflightPort):
    """A ``PreflightPort`` whose every question fails the test; fakes answer only what their check asks."""

    def _unasked(self, question: str) -> AssertionError:
        return AssertionError(f"preflight asked {question}, which this test's fake does not answer")

    def concurrency_settings(self, region):
        raise self._unasked("concurrency_settings")

    def function_reservation(self, region, function_name):
        raise self._unasked("function_reservation")

    def all_reservations(self, region):
        raise self._unasked("all_reservations")

    def layer_version_exists(self, region, arn):
        raise self._unasked("layer_version_exists")

    def account_cloudwatch_role_arn(self, region):
        raise self._unasked("account_cloudwatch_role_arn")

    def role_exists(self, role_name):
        raise self._unasked("role_exists")

    def bucket_exists(self, bucket, region):
        raise self._unasked("bucket_exists")

    def table_hash_key(self, table, region):
        raise self._unasked("table_hash_key")

    def cloud_workspace_exists(self, hostname, organization, workspace):
        raise self._unasked("cloud_workspace_exists")

    def rest_api_ids(self, region, api_name):
        raise self._unasked("rest_api_ids")

    def log_group_tags(self, region, name):
        raise self._unasked("log_group_tags")


class FakeLambda(UnaskedPort):
    def __init__(self, settings=None, reservations=None):
        self.settings, self.reservations = settings, reservations or {}

    def concurrency_settings(self, region):
        if self.settings is None:
            raise Unsupported("GetAccountSettings answered 404")
        return self.settings

    def function_reservation(self, region, name):
        return self.reservations.get(name, 0)

    def all_reservations(self, region):
        return dict(self.reservations)


def test_our_current_reservations_are_replaced_not_added():
    # quota 1000, unreserved 700: 300 reserved, 100 of them by our own processor (replaced by the deploy).
    port = FakeLambda(settings=(1000, 700), reservations={"order-processor-dev": 100, "billing": 200})
    facts = concurrency_facts(port, "us-east-1", ["order-processor-dev"], None)
    assert (facts.quota, facts.reserved_by_others, facts.source) == (1000, 200, "GetAccountSettings")


def test_without_account_settings_the_quota_must_be_given():
    port = FakeLambda(settings=None, reservations={"order-processor-dev": 100, "billing": 200})
    with pytest.raises(Unsupported):
        concurrency_facts(port, "us-east-1", ["order-processor-dev"], None)
    facts = concurrency_facts(port, "us-east-1", ["order-processor-dev"], 500)
    assert (facts.quota, facts.reserved_by_others, facts.source) == (500, 200, "--concurrency-quota")


# ============================================================================ API execution log group
LOG_GROUP = "API-Gateway-Execution-Logs_a1b2c3/v1"
OUR_TAGS = {"Project": "order-pipeline", "Environment": "dev", "ManagedBy": "cdktf", "CostCenter": "1"}


@pytest.mark.parametrize(
    ("ids", "tags", "ok", "fragment"),
    [
        ((), {}, True, "does not exist yet"),
        (("a1b2c3",), {"a1b2c3": None}, True, "absent"),
        (("a1b2c3",), {"a1b2c3": OUR_TAGS}, True, "already created by the stack"),
        (("a1b2c3",), {"a1b2c3": {}}, False, f"{LOG_GROUP} exists without this stack's tags"),
        (("a1b2c3",), {"a1b2c3": {**OUR_TAGS, "Environment": "prod"}}, False, "ResourceAlreadyExistsException"),
    ],
)
def test_an_execution_log_group_api_gateway_created_must_be_adopted_once(ids, tags, ok, fragment):
    result = execution_log_group_check("orders-dev", "dev", ExecutionLogGroupFacts(rest_api_ids=ids, group_tags=tags))
    assert result.ok is ok and fragment in result.detail, result
    if not ok:
        assert result.fix.startswith("adopt it into the state once, then apply")
        assert f"cd cdktf.out/stacks/orders-dev && terraform init && terraform import '{EXECUTION_LOG_GROUP_ADDRESS}' '{LOG_GROUP}'" in result.fix


def test_two_apis_of_the_same_name_are_named_in_the_report():
    facts = ExecutionLogGroupFacts(rest_api_ids=("a1", "b2"), group_tags={"a1": {}, "b2": {}})
    result = execution_log_group_check("orders-dev", "dev", facts)
    assert not result.ok and "2 APIs are named like this stack's (a1, b2)" in result.detail


# ============================================================================ API Gateway account role
ROLE = "arn:aws:iam::123456789012:role/orders-apigw-cloudwatch-us-east-1"
ALL = ["orders-dev", "orders-staging", "orders-prod", "orders-account-us-east-1"]


@pytest.mark.parametrize(
    ("facts", "owner", "selected", "environments", "ok", "fragment"),
    [
        (AccountRoleFacts(role_arn=None), "orders-account-us-east-1", ALL, True, False, "deploy orders-account-us-east-1 first"),
        (AccountRoleFacts(role_arn=None), "orders-account-us-east-1", ["orders-dev"], True, False, "deploy orders-account-us-east-1 first"),
        (AccountRoleFacts(role_arn=None), "orders-account-us-east-1", ["orders-account-us-east-1"], False, True, "orders-account-us-east-1, selected here, sets it"),
        (AccountRoleFacts(role_arn=None), "orders-prod", ["orders-prod"], True, True, "orders-prod, selected here, sets it"),
        (AccountRoleFacts(role_arn=ROLE), "orders-account-us-east-1", ["orders-dev"], True, True, f"set by orders-account-us-east-1 ({ROLE})"),
        (AccountRoleFacts(role_arn="arn:aws:iam::1:role/orders-api-pr-7-apigw-cloudwatch"), "orders-account-us-east-1", ALL, True, True, "set by orders-pr-7"),
        (AccountRoleFacts(role_arn="arn:aws:iam::1:role/theirs"), "orders-account-us-east-1", ALL, True, True, "set outside this project"),
        (AccountRoleFacts(role_arn=ROLE, role_exists=False), "orders-account-us-east-1", ALL, True, False, "which no longer exists"),
    ],
)
def test_account_role_is_set_by_whom_and_in_time(facts, owner, selected, environments, ok, fragment):
    result = account_role_check("us-east-1", facts, owner=owner, selected=selected, environments_selected=environments)
    assert result.ok is ok
    assert fragment in result.detail + result.fix


# ============================================================================ state backend
class FakeBackendPort(UnaskedPort):
    def __init__(self, buckets=(), tables=None, workspaces=()):
        self.buckets, self.tables, self.workspaces = set(buckets), tables or {}, set(workspaces)

    def bucket_exists(self, bucket, region):
        return bucket in self.buckets

    def table_hash_key(self, table, region):
        return self.tables.get(table)

    def cloud_workspace_exists(self, hostname, organization, workspace):
        return workspace in self.workspaces


def test_s3_backend_needs_the_bucket_and_a_lock_table_keyed_by_lockid():
    backend = BackendSettings(kind="s3", s3_bucket="acme-state", s3_lock_table="locks")
    missing = backend_checks(FakeBackendPort(), backend, ["orders-dev"], "us-east-1")
    assert [(r.name, r.ok) for r in missing] == [("state bucket", False), ("state lock table", False)]
    assert "create it once" in missing[0].fix and "LockID" in missing[1].fix
    wrong_key = lock_table_check("locks", [("id", "S")])
    assert not wrong_key.ok and "not LockID" in wrong_key.detail
    present = backend_checks(FakeBackendPort(buckets={"acme-state"}, tables={"locks": [("LockID", "S")]}), backend, ["orders-dev"], "us-east-1")
    assert all(r.ok for r in present)


def test_cloud_backend_needs_a_workspace_per_stack_and_local_needs_nothing():
    backend = BackendSettings(kind="cloud", cloud_organization="acme")
    results = backend_checks(FakeBackendPort(workspaces={"orders-dev"}), backend, ["orders-dev", "orders-prod"], "us-east-1")
    assert [(r.name, r.ok) for r in results] == [("HCP Terraform workspace orders-dev", True), ("HCP Terraform workspace orders-prod", False)]
    assert "cdktf.out/stacks/orders-prod" in results[1].fix
    (local,) = backend_checks(FakeBackendPort(), BackendSettings(), ["orders-dev"], "us-east-1")
    assert local.ok


# ============================================================================ a check that cannot ask
class Denied(Exception):
    """Stands for the AWS error (``ClientError``) the CLI passes to ``run_checks``."""


class DeniedPort(UnaskedPort):
    """Every question (each method of ``UnaskedPort``) fails with ``Denied`` naming the question and its arguments."""

    def __getattribute__(self, name):
        if name.startswith("_"):
            return object.__getattribute__(self, name)

        def ask(*args):
            raise Denied(f"{name}{args}")

        return ask


def test_a_question_that_fails_fails_its_own_check_only_and_each_check_asked_about_its_own_region_and_stack():
    # Two regions, so a check that asked with another iteration's region or stack would show in the detail.
    selection = select_stacks({}, {"orderPipeline": {**DEFAULT_CONTEXT["orderPipeline"], "staging": {"region": "eu-west-1"}}})
    inputs = PreflightInputs(selection=selection, backend=BackendSettings())
    results = run_checks(DeniedPort(), inputs, errors=(Denied,))
    layer = {c.region: c.effective_powertools_layer_arn for c in selection.environments}
    assert [(r.name, r.ok, r.detail.removeprefix("could not check: ")) for r in results[:-1]] == [
        ("Lambda concurrency in eu-west-1", False, "concurrency_settings('eu-west-1',)"),
        ("Powertools layer in eu-west-1", False, f"layer_version_exists('eu-west-1', '{layer['eu-west-1']}')"),
        ("API Gateway account role in eu-west-1", False, "account_cloudwatch_role_arn('eu-west-1',)"),
        ("API execution log group of orders-staging", False, "rest_api_ids('eu-west-1', 'orders-api-staging')"),
        ("Lambda concurrency in us-east-1", False, "concurrency_settings('us-east-1',)"),
        ("Powertools layer in us-east-1", False, f"layer_version_exists('us-east-1', '{layer['us-east-1']}')"),
        ("API Gateway account role in us-east-1", False, "account_cloudwatch_role_arn('us-east-1',)"),
        ("API execution log group of orders-dev", False, "rest_api_ids('us-east-1', 'orders-api-dev')"),
        ("API execution log group of orders-prod", False, "rest_api_ids('us-east-1', 'orders-api-prod')"),
    ]
    assert all("read permissions" in r.fix for r in results[:-1])
    # The local backend asks nothing, so it passes after the others failed.
    assert (results[-1].name, results[-1].ok) == ("state backend", True)
    # An error the caller did not list is a bug, not a failed check: it propagates.
    with pytest.raises(Denied):
        run_checks(DeniedPort(), inputs)


class FakeResponse:
    status = 200

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_hcp_workspace_lookup_sends_the_token_to_the_api_and_maps_404():
    seen = {}

    def opener(request, timeout):
        seen["url"], seen["auth"] = request.full_url, request.get_header("Authorization")
        if request.full_url.endswith("/orders-prod"):
            raise urllib.error.HTTPError(request.full_url, 404, "Not Found", email.message.Message(), None)
        return FakeResponse()

    environ = {"TF_TOKEN_app_terraform_io": "secret-token"}
    assert workspace_exists("app.terraform.io", "acme", "orders-dev", environ=environ, opener=opener)
    assert seen == {"url": "https://app.terraform.io/api/v2/organizations/acme/workspaces/orders-dev", "auth": "Bearer secret-token"}
    assert not workspace_exists("app.terraform.io", "acme", "orders-prod", environ=environ, opener=opener)


def test_hcp_without_or_with_a_refused_token_is_an_error_that_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no `terraform login` credentials either
    with pytest.raises(HcpError, match=r"terraform login app\.terraform\.io.*TF_TOKEN_app_terraform_io"):
        workspace_exists("app.terraform.io", "acme", "orders-dev", environ={}, opener=lambda *a, **k: None)

    def refused(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 401, "Unauthorized", email.message.Message(), None)

    with pytest.raises(HcpError, match="refused the token") as caught:
        workspace_exists("app.terraform.io", "acme", "orders-dev", environ={"TF_TOKEN_app_terraform_io": "secret-token"}, opener=refused)
    assert "secret-token" not in str(caught.value)
    # `terraform login` stores the token in the CLI's credentials file.
    credentials = tmp_path / ".terraform.d" / "credentials.tfrc.json"
    credentials.parent.mkdir()
    credentials.write_text(json.dumps({"credentials": {"app.terraform.io": {"token": "from-login"}}}))
    assert find_token("app.terraform.io", {}, home=tmp_path) == "from-login"


# ============================================================================ the command, against moto
@pytest.fixture
def moto_url():
    """A fresh moto server on a free local port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    finally:
        server.stop()


def preflight(monkeypatch, url, *args, context=None, **environ):
    for name in ("ENVIRONMENT_SUFFIX", "TF_STATE_BACKEND", "TF_STATE_BUCKET", "TF_STATE_LOCK_TABLE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDKTF_CONTEXT_JSON", json.dumps(context or DEFAULT_CONTEXT))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    code = main(["preflight", "--endpoint-url", url, "--json", *args], stdout=out, stderr=err)
    report = json.loads(out.getvalue()) if out.getvalue() else {}
    return code, {c["name"]: c for c in report.get("checks", [])}, err.getvalue()


def client(url, service):
    import boto3

    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def publish_stand_in_layer(url, versions: int) -> str:
    """The Powertools layer's name published in moto's account (moto has no public layers); the last version's ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("python/stand_in.py", "")
    lam = client(url, "lambda")
    for _ in range(versions):
        arn = lam.publish_layer_version(LayerName="AWSLambdaPowertoolsPythonV3-python312-x86_64", Content={"ZipFile": archive.getvalue()})["LayerVersionArn"]
    return arn


@pytest.mark.e2e
def test_an_empty_account_fails_every_check_it_can_and_says_how_to_fix_each(moto_url, monkeypatch):
    code, checks, _ = preflight(monkeypatch, moto_url)
    assert code == 1
    concurrency = checks["Lambda concurrency in us-east-1"]
    assert not concurrency["ok"] and "--concurrency-quota" in concurrency["fix"]  # moto cannot tell the quota
    layer = checks["Powertools layer in us-east-1"]
    assert not layer["ok"] and ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27" in layer["detail"]
    role = checks["API Gateway account role in us-east-1"]
    assert not role["ok"] and "deploy orders-account-us-east-1 first" in role["fix"]
    assert checks["state backend"]["ok"]


@pytest.mark.e2e
def test_a_prepared_account_passes_and_each_gap_is_found(moto_url, monkeypatch):
    layer_arn = publish_stand_in_layer(moto_url, 2)
    context = {"orderPipeline": {env: {"powertools_layer_arn": layer_arn} for env in ("dev", "staging", "prod")}}
    context["orderPipeline"]["prod"]["alarm_email"] = "oncall@example.com"
    iam = client(moto_url, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role_arn = iam.create_role(RoleName="orders-apigw-cloudwatch-us-east-1", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    client(moto_url, "apigateway").update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}])
    # Another team's function already reserves 700 of the quota.
    function_role = iam.create_role(RoleName="billing-role", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "def handler(e, c): return e\n")
    lam = client(moto_url, "lambda")
    lam.create_function(FunctionName="billing", Runtime="python3.12", Role=function_role, Handler="app.handler", Code={"ZipFile": archive.getvalue()})
    lam.put_function_concurrency(FunctionName="billing", ReservedConcurrentExecutions=700)
    s3_backend = {"TF_STATE_BACKEND": "s3", "TF_STATE_BUCKET": "acme-state", "TF_STATE_LOCK_TABLE": "terraform-locks"}

    code, checks, _ = preflight(monkeypatch, moto_url, "--concurrency-quota", "1000", context=context, **s3_backend)
    assert code == 1
    assert checks["Powertools layer in us-east-1"]["ok"], checks["Powertools layer in us-east-1"]
    assert checks["API Gateway account role in us-east-1"]["detail"] == f"set by orders-account-us-east-1 ({role_arn})"
    concurrency = checks["Lambda concurrency in us-east-1"]
    assert not concurrency["ok"] and "other functions reserve 700" in concurrency["detail"] and "at least 1050" in concurrency["fix"]
    assert not checks["state bucket"]["ok"] and not checks["state lock table"]["ok"]

    client(moto_url, "s3").create_bucket(Bucket="acme-state")
    client(moto_url, "dynamodb").create_table(
        TableName="terraform-locks",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code, checks, _ = preflight(monkeypatch, moto_url, "--concurrency-quota", "1050", context=context, **s3_backend)
    assert code == 0, {name: c for name, c in checks.items() if not c["ok"]}
    log_groups = {f"API execution log group of orders-{env}" for env in ("dev", "staging", "prod")}
    assert set(checks) == {"Lambda concurrency in us-east-1", "Powertools layer in us-east-1", "API Gateway account role in us-east-1", "state bucket", "state lock table", *log_groups}

    # A deployment from before the stack pre-created the execution log group: API Gateway made it, untagged.
    api_id = client(moto_url, "apigateway").create_rest_api(name="orders-api-dev")["id"]
    logs = client(moto_url, "logs")
    logs.create_log_group(logGroupName=f"API-Gateway-Execution-Logs_{api_id}/v1")
    code, checks, _ = preflight(monkeypatch, moto_url, "--concurrency-quota", "1050", context=context, **s3_backend)
    adopt = checks["API execution log group of orders-dev"]
    assert code == 1 and not adopt["ok"] and f"terraform import '{EXECUTION_LOG_GROUP_ADDRESS}' 'API-Gateway-Execution-Logs_{api_id}/v1'" in adopt["fix"]
    # Once adopted and applied, the group carries the stack's tags and the check passes.
    logs.tag_resource(
        resourceArn=f"arn:aws:logs:us-east-1:123456789012:log-group:API-Gateway-Execution-Logs_{api_id}/v1", tags={"Project": "order-pipeline", "Environment": "dev", "ManagedBy": "cdktf"}
    )
    code, checks, _ = preflight(monkeypatch, moto_url, "--concurrency-quota", "1050", context=context, **s3_backend)
    assert code == 0 and checks["API execution log group of orders-dev"]["ok"], checks["API execution log group of orders-dev"]

    # A missing layer version is found: one past the last published.
    missing = layer_arn.rsplit(":", 1)[0] + ":3"
    context["orderPipeline"]["dev"]["powertools_layer_arn"] = missing
    code, checks, _ = preflight(monkeypatch, moto_url, "--concurrency-quota", "1050", "--environment", "dev", context=context, **s3_backend)
    assert code == 1 and not checks["Powertools layer in us-east-1"]["ok"] and missing in checks["Powertools layer in us-east-1"]["detail"]


def test_a_bad_configuration_or_a_dead_endpoint_is_exit_2(moto_url, monkeypatch):
    code, _, err = preflight(monkeypatch, moto_url, context={"orderPipeline": {"prd": {}}})
    assert code == 2 and "did you mean 'prod'" in err
    code, _, err = preflight(monkeypatch, "http://127.0.0.1:9", context=DEFAULT_CONTEXT)
    assert code == 2 and "does not answer" in err
