"""ordersctl: pure logic with fakes, then every subcommand against a LocalPipeline (moto)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from ordersctl.cli import build_parser, main
from ordersctl.outputs import OutputsError, load_outputs, parse_outputs
from ordersctl.redrive import Message, MoveTask, MoveTaskUnsupported, redrive
from ordersctl.stats import percentile, summarize
from ordersctl.status import newest
from ordersctl.traffic import MAX_CONCURRENCY, load, verify, wait_for


# ============================================================================ pure: outputs
def test_outputs_pick_the_only_stack_and_unwrap_terraform_json(tmp_path):
    file = tmp_path / "out.json"
    file.write_text(json.dumps({"orders-dev": {"DLQUrl": {"value": "https://q/dlq", "type": "string", "sensitive": False}, "Region": "eu-west-1"}}))
    outputs = load_outputs(file)
    assert outputs.stack == "orders-dev" and outputs.suffix == "dev"
    assert outputs.get("DLQUrl") == "https://q/dlq" and outputs.region == "eu-west-1"


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object of stacks"),
        ('{"orders-dev": {}, "orders-prod": {}}', "several stacks (orders-dev, orders-prod)"),
    ],
)
def test_bad_outputs_files_explain_the_fix(tmp_path, content, fragment):
    file = tmp_path / "out.json"
    file.write_text(content)
    with pytest.raises(OutputsError, match="Fix") as error:
        load_outputs(file)
    assert fragment in str(error.value) and str(file) in str(error.value)


def test_missing_file_and_unknown_stack(tmp_path):
    with pytest.raises(OutputsError, match="no such outputs file"):
        load_outputs(tmp_path / "absent.json")
    with pytest.raises(OutputsError, match=r"no stack 'orders-qa'.*orders-dev"):
        parse_outputs({"orders-dev": {}}, stack="orders-qa")


def test_require_names_every_missing_key():
    outputs = parse_outputs({"orders-dev": {"OrderQueueUrl": "u", "DLQUrl": ""}}, source="out.json")
    with pytest.raises(OutputsError) as error:
        outputs.require(["OrderQueueUrl", "DLQUrl", "OrdersTableName"], command="status")
    message = str(error.value)
    assert "DLQUrl, OrdersTableName" in message and "'status'" in message and "OrderQueueUrl," not in message


# ============================================================================ pure: stats
def test_percentiles_use_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 99) == 99
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) is None
    summary = summarize([0.2, 0.1, 0.4, 0.3], elapsed_seconds=2.0)
    assert summary.p50 == 0.2 and summary.max == 0.4 and summary.throughput_per_second == 2.0
    with pytest.raises(ValueError, match="given 101"):
        percentile(values, 101)


def test_newest_orders_first():
    orders = [{"orderId": "a", "createdAt": "2026-01-02"}, {"orderId": "b", "createdAt": "2026-01-03"}, {"orderId": "c", "createdAt": "2026-01-01"}]
    assert [o["orderId"] for o in newest(orders, 2)] == ["b", "a"]


# ============================================================================ pure: redrive with a fake queue
class FakeQueues:
    """In-memory QueuePort: two queues, optional send failures, optional move-task support."""

    def __init__(self, dlq_bodies, *, fail_send_for=(), move_task=False):
        self.queues = {
            "dlq": [Message(message_id=f"m{i}", receipt_handle=f"r{i}", body=b, attributes={"kind": {"DataType": "String", "StringValue": "x"}}) for i, b in enumerate(dlq_bodies)],
            "queue": [],
        }
        self.invisible: set[str] = set()
        self.fail_send_for = set(fail_send_for)
        self.supports_move_task = move_task
        self.released: list[str] = []
        self.deleted: list[str] = []

    def depth(self, url):
        return len([m for m in self.queues[url] if m.message_id not in self.invisible])

    def receive(self, url, n, visibility):
        got = [m for m in self.queues[url] if m.message_id not in self.invisible][:n]
        self.invisible.update(m.message_id for m in got)
        return got

    def send_batch(self, url, messages):
        sent = {m.message_id for m in messages if m.body not in self.fail_send_for}
        self.queues[url].extend(Message(message_id="copy-" + m.message_id, receipt_handle="x", body=m.body, attributes=m.attributes) for m in messages if m.message_id in sent)
        return sent, {m.message_id: "Throttled: slow down" for m in messages if m.message_id not in sent}

    def delete_batch(self, url, messages):
        ids = {m.message_id for m in messages}
        self.deleted.extend(sorted(ids))
        self.queues[url] = [m for m in self.queues[url] if m.message_id not in ids]
        return {}

    def release(self, url, messages):
        for m in messages:
            self.invisible.discard(m.message_id)
            self.released.append(m.message_id)

    def start_move_task(self, source, destination):
        if not self.supports_move_task:
            raise MoveTaskUnsupported("500")
        self.queues["queue"].extend(self.queues["dlq"])
        self.queues["dlq"] = []
        return "handle"

    def move_task(self, source, handle):
        return MoveTask(status="COMPLETED", moved=len(self.queues["queue"]), to_move=len(self.queues["queue"]))


def _redrive(fake, **kwargs):
    return redrive(fake, dlq_url="dlq", queue_url="queue", dlq_arn="arn:dlq", queue_arn="arn:queue", **kwargs)


def test_copy_deletes_only_what_was_sent_and_releases_the_rest():
    fake = FakeQueues(["a", "BAD", "c"], fail_send_for={"BAD"})
    report = _redrive(fake, mode="copy")
    assert (report.moved, report.failed, report.remaining) == (2, 1, 1)
    assert [m.body for m in fake.queues["queue"]] == ["a", "c"]
    assert fake.queues["queue"][0].attributes == {"kind": {"DataType": "String", "StringValue": "x"}}
    assert "m1" not in fake.deleted and fake.released == ["m1"]
    assert any("Throttled" in e for e in report.errors)


def test_max_messages_bounds_the_copy():
    fake = FakeQueues([str(i) for i in range(25)])
    report = _redrive(fake, max_messages=12)
    assert report.method == "copy" and report.moved == 12 and report.remaining == 13


def test_auto_falls_back_to_copy_when_move_task_is_unsupported():
    fake = FakeQueues(["a", "b"])
    report = _redrive(fake)
    assert report.method == "copy" and report.moved == 2 and "StartMessageMoveTask unavailable" in report.note


def test_auto_uses_the_native_move_task_when_available():
    fake = FakeQueues(["a", "b", "c"], move_task=True)
    report = _redrive(fake)
    assert report.method == "move-task" and report.moved == 3 and report.remaining == 0


def test_dry_run_moves_nothing_and_hands_messages_back():
    fake = FakeQueues(["a", "b", "c"])
    report = _redrive(fake, dry=True)
    assert report.method == "dry-run" and report.moved == 0 and report.remaining == 3
    assert [p["body"] for p in report.peeked] == ["a", "b", "c"]
    assert fake.queues["queue"] == [] and fake.depth("dlq") == 3


def test_redrive_rejects_bad_arguments():
    with pytest.raises(ValueError, match="given 0"):
        _redrive(FakeQueues([]), max_messages=0)
    with pytest.raises(ValueError, match="--max-messages"):
        _redrive(FakeQueues([]), max_messages=3, mode="move-task")


# ============================================================================ pure: verification
class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_verify_waits_boundedly_and_reports_missing_and_dead_lettered():
    clock = FakeClock()
    stored = {"a"}
    result = verify(["a", "b", "c"], is_stored=stored.__contains__, dlq_ids=lambda: {"c", "old"}, timeout_seconds=5, clock=clock, sleep=clock.sleep)
    assert result.stored == 1 and result.missing == ("b", "c") and result.in_dlq == ("c",) and not result.ok
    assert 5 <= clock.now <= 6
    assert verify(["a"], is_stored=stored.__contains__, dlq_ids=set, timeout_seconds=5).ok


def test_wait_for_stops_as_soon_as_true():
    clock = FakeClock()
    calls = iter([False, False, True])
    assert wait_for(lambda: next(calls), timeout_seconds=10, interval_seconds=1, clock=clock, sleep=clock.sleep)
    assert clock.now == 2


# ============================================================================ pure: load concurrency
class GatedApi:
    """Fake OrdersApi whose first ``gate`` POSTs all wait until ``gate`` of them are in flight."""

    def __init__(self, gate):
        self.barrier = threading.Barrier(gate, timeout=20)
        self.gate = gate
        self.calls = 0
        self.lock = threading.Lock()

    def session(self):
        return object()

    def create_order(self, session, order):
        from ordersctl.api import ApiResponse

        with self.lock:
            self.calls += 1
            gated = self.calls <= self.gate
        if gated:
            self.barrier.wait()  # BrokenBarrierError (an error status) unless `gate` run at once
        return ApiResponse(status=202, body={"orderId": order["orderId"]}, latency_seconds=0.01)


def test_load_really_runs_100_senders_at_once():
    # The benchmark issue measures POST latency at concurrency 100: 100 requests must be in flight together.
    api = GatedApi(100)
    result = load(api, count=150, concurrency=100)
    assert result.statuses == {"202": 150} and len(result.accepted_ids) == 150 and result.errors == ()


def test_load_concurrency_bounds_are_checked_with_the_fix():
    with pytest.raises(ValueError, match=f"between 1 and {MAX_CONCURRENCY} \\(given {MAX_CONCURRENCY + 1}\\)"):
        load(GatedApi(1), count=1, concurrency=MAX_CONCURRENCY + 1)
    args = build_parser().parse_args(["load", "-c", "100"])
    assert args.concurrency == 100


def test_cli_rejects_too_much_concurrency_before_doing_anything(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["load", "-c", str(MAX_CONCURRENCY + 1), "--outputs", "/nonexistent.json"])
    assert exited.value.code == 2
    assert f"at most {MAX_CONCURRENCY} (given {MAX_CONCURRENCY + 1})" in capsys.readouterr().err


@pytest.mark.parametrize(
    "endpoint, emulated",
    [
        ("http://127.0.0.1:5000", True),
        ("http://localhost:4566", True),
        ("http://[::1]:5000", True),
        ("https://sqs.eu-west-1.amazonaws.com", False),
        ("https://vpce-123.sqs.eu-west-1.vpce.amazonaws.com", False),
        (None, False),
    ],
)
def test_only_local_endpoints_count_as_emulators(endpoint, emulated):
    from ordersctl.aws import is_emulator

    assert is_emulator(endpoint) is emulated


# ============================================================================ end to end on the local pipeline
@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A LocalPipeline (moto server + local API + poller) for this module."""
    from local_pipeline import LocalPipeline

    with LocalPipeline(suffix="opsctl", visibility_timeout_seconds=2, config_overrides={"batching_window_seconds": 0}) as running:
        yield running


@pytest.fixture(scope="module")
def outputs_file(pipeline, tmp_path_factory) -> Path:
    """The module pipeline's outputs, written where ``ordersctl --outputs`` reads them."""
    return pipeline.write_outputs(tmp_path_factory.mktemp("ordersctl") / "outputs.json")


def _run(capsys, *argv):
    # The handlers run in this process and log to stdout; the CLI's own output goes to `out`.
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "--no-progress"], stdout=out, stderr=err)
    capsys.readouterr()
    return code, out.getvalue(), err.getvalue()


def _order_message(order_id):
    from orders_core.model import utc_now

    return {"orderId": order_id, "customerId": "redrive-test", "currency": "USD", "items": [{"productId": "P-1", "quantity": 2, "unitPrice": 1.5}], "timestamp": utc_now()}


@pytest.mark.e2e
def test_smoke_round_trip(outputs_file, capsys):
    code, out, err = _run(capsys, "smoke", "--outputs", str(outputs_file), "--json", "--timeout", "20")
    result = json.loads(out)
    assert code == 0, (out, err)
    assert result["ok"] and result["post_status"] == 202 and result["round_trip_seconds"] > 0


@pytest.mark.e2e
def test_load_at_concurrency_100_against_the_local_api(outputs_file, capsys):
    # 100 clients connecting at once must all be served (the local API's listen backlog).
    code, out, err = _run(capsys, "load", "--outputs", str(outputs_file), "-n", "200", "-c", "100", "--json", "--verify-timeout", "60")
    result = json.loads(out)
    assert code == 0, (out, err)
    assert result["statuses"] == {"202": 200} and result["stored"] == 200 and result["in_dlq"] == []


@pytest.mark.e2e
def test_load_posts_and_verifies_every_order(pipeline, outputs_file, capsys):
    code, out, err = _run(capsys, "load", "--outputs", str(outputs_file), "-n", "12", "-c", "4", "--json", "--verify-timeout", "30")
    result = json.loads(out)
    assert code == 0, (out, err)
    assert result["accepted"] == 12 and result["stored"] == 12 and result["missing"] == [] and result["in_dlq"] == []
    assert result["statuses"] == {"202": 12}
    assert result["latency_seconds"]["p50"] <= result["latency_seconds"]["p95"] <= result["latency_seconds"]["p99"]
    table = pipeline.client("dynamodb")
    assert table.scan(TableName=pipeline.table_name, Select="COUNT")["Count"] >= 12


@pytest.mark.e2e
def test_redrive_dry_run_then_real_moves(pipeline, outputs_file, capsys):
    sqs = pipeline.client("sqs")
    ids = [f"redrive-{i}" for i in range(5)]
    for order_id in ids:
        sqs.send_message(
            QueueUrl=pipeline.dlq_url,
            MessageBody=json.dumps(_order_message(order_id)),
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
        )
    outputs = str(outputs_file)

    code, out, _ = _run(capsys, "redrive", "--outputs", outputs, "--dry-run", "--json")
    dry = json.loads(out)
    assert code == 0 and dry["method"] == "dry-run" and dry["moved"] == 0 and dry["remaining"] == 5
    assert len(dry["peeked"]) == 5 and all("origin" in p["attributes"] for p in dry["peeked"])
    assert pipeline.queue_depths()["dlq_visible"] == 5  # handed back, nothing moved

    code, out, _ = _run(capsys, "redrive", "--outputs", outputs, "--max-messages", "2", "--json")
    partial = json.loads(out)
    assert code == 0 and (partial["method"], partial["moved"], partial["remaining"]) == ("copy", 2, 3)

    code, out, _ = _run(capsys, "redrive", "--outputs", outputs)  # auto: moto lacks move tasks
    assert code == 0
    assert "moved: 3" in out and "remaining in DLQ: 0" in out and "StartMessageMoveTask unavailable" in out

    pipeline.wait_until_idle(timeout=30)
    dynamodb = pipeline.client("dynamodb")
    for order_id in ids:
        item = dynamodb.get_item(TableName=pipeline.table_name, Key={"orderId": {"S": order_id}})["Item"]
        assert Decimal(item["totalAmount"]["N"]) == Decimal("3")
    assert pipeline.queue_depths()["dlq_visible"] == 0


@pytest.mark.e2e
def test_status_shows_depths_alarms_and_orders(pipeline, outputs_file, capsys):
    cloudwatch = pipeline.client("cloudwatch")
    firing, quiet = pipeline.names.alarm("dlq-messages"), pipeline.names.alarm("processor-errors")
    for name in (firing, quiet, "orders-dlq-messages-otherenv"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    cloudwatch.set_alarm_state(AlarmName=firing, StateValue="ALARM", StateReason="test")
    cloudwatch.set_alarm_state(AlarmName=quiet, StateValue="OK", StateReason="test")
    sqs = pipeline.client("sqs")
    sqs.send_message(QueueUrl=pipeline.dlq_url, MessageBody="{}")
    try:
        code, out, _ = _run(capsys, "status", "--outputs", str(outputs_file), "--json")
        report = json.loads(out)
        assert code == 0
        assert report["dlq"]["visible"] == 1 and set(report["queue"]) == {"visible", "in_flight", "delayed"}
        assert {a["name"]: a["state"] for a in report["alarms"]} == {firing: "ALARM", quiet: "OK"}
        assert report["orders"] and report["orders"][0]["createdAt"] >= report["orders"][-1]["createdAt"]

        code, out, _ = _run(capsys, "status", "--outputs", str(outputs_file), "--check")
        assert code == 3
        assert "dead-letter queue" in out and firing in out and "alarm(s) firing" in out and "Newest" in out
    finally:
        sqs.purge_queue(QueueUrl=pipeline.dlq_url)
        cloudwatch.delete_alarms(AlarmNames=[firing, quiet, "orders-dlq-messages-otherenv"])


@pytest.mark.e2e
def test_bad_outputs_give_a_clear_error_and_exit_2(pipeline, tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, out, err = _run(capsys, "status", "--outputs", str(broken))
    assert code == 2 and out == "" and "not valid JSON" in err and str(broken) in err

    lacking = tmp_path / "lacking.json"
    lacking.write_text(json.dumps({"orders-opsctl": {"OrderQueueUrl": pipeline.queue_url}}))
    code, _, err = _run(capsys, "redrive", "--outputs", str(lacking))
    assert code == 2 and "DLQUrl" in err and "redrive" in err


@pytest.mark.e2e
def test_preflight_against_the_local_pipeline_uses_its_emulator(pipeline, outputs_file, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    code, out, _ = _run(capsys, "preflight", "--outputs", str(outputs_file), "--environment", "dev", "--json")
    report = json.loads(out)
    assert report["target"] == f"the endpoint {pipeline.endpoint_url}" and report["stacks"] == ["orders-dev"]
    checks = {c["name"]: c for c in report["checks"]}
    # The local pipeline emulates no layers and no account settings: preflight says so instead of passing.
    assert code == 1 and not checks["Powertools layer in us-east-1"]["ok"]
    assert checks["API Gateway account role in us-east-1"]["fix"].startswith("deploy orders-account-us-east-1 first")


def test_a_dead_local_endpoint_fails_at_once_with_the_command_that_restarts_it(tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the module's pipeline may have set it
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"orders-local": {"OrderQueueUrl": f"{dead}/1/q", "DLQUrl": f"{dead}/1/d", "OrdersTableName": "t", "Region": "us-east-1", "AwsEndpointUrl": dead}}))
    code, _, err = _run(capsys, "status", "--outputs", str(outputs))
    # The probe answers before any AWS call (botocore alone retries a refused connection for ~26 s).
    assert code == 2
    assert f"{dead} does not answer" in err and f'make local ARGS="--outputs-file {outputs}"' in err


@pytest.mark.slow
def test_the_missing_outputs_hint_gives_a_command_that_writes_the_file(tmp_path):
    import re
    import shlex
    import signal
    import time

    from tests.project_copy import ROOT, clean_environ

    target = tmp_path / "outputs.json"
    with pytest.raises(OutputsError) as missing:
        load_outputs(target)
    (command,) = re.findall(r'`(make local ARGS="[^"]*")`', str(missing.value))
    argv = shlex.split(command)
    # As hinted, plus a free API port, so a test never collides with a pipeline someone runs on 8080.
    argv[-1] += " --port 0"
    process = subprocess.Popen(argv, cwd=ROOT, env=clean_environ(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not target.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert process.stderr is not None  # Popen(stderr=subprocess.PIPE) above
        assert target.exists(), process.stderr.read() if process.poll() is not None else "no outputs file after 120 s"
        time.sleep(0.5)  # written in one go, but give the writer its moment
        outputs = load_outputs(target)
        assert outputs.get("AwsEndpointUrl", "").startswith("http://127.0.0.1:") and outputs.get("ApiEndpoint")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


@pytest.mark.slow
def test_make_ops_runs_ordersctl_in_the_project_environment():
    from tests.project_copy import ROOT, clean_environ

    # The system Python may lack tqdm and boto3; `make ops` uses the project's environment.
    done = subprocess.run(["make", "ops", "ARGS=preflight --help"], cwd=ROOT, env=clean_environ(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "usage: bin/ordersctl preflight" in done.stdout and "--concurrency-quota" in done.stdout


def test_outputs_json_is_ignored_by_git():
    from tests.project_copy import ROOT

    assert "outputs.json" in (ROOT / ".gitignore").read_text().splitlines()


def _shell_env(tmp_path):
    """The environment of a fresh shell with no AWS setup at all (no keys, profile, region or IMDS)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    return env


def _ordersctl(env, *argv):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-m", "ordersctl", *argv], cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.e2e
def test_a_plain_shell_without_aws_credentials_works_against_the_local_pipeline(outputs_file, tmp_path):
    # As a user runs it: `python -m local_pipeline --outputs-file outputs.json`, then ordersctl
    # in another shell that has no AWS credentials (the emulator accepts any).
    env = _shell_env(tmp_path)
    status = _ordersctl(env, "status", "--outputs", str(outputs_file), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["stack"] == "orders-opsctl"
    dry = _ordersctl(env, "redrive", "--outputs", str(outputs_file), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["method"] == "dry-run"


@pytest.mark.slow
def test_missing_credentials_against_aws_are_a_clear_error(tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"orders-dev": {"OrderQueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q", "DLQUrl": "https://sqs.eu-west-1.amazonaws.com/1/d", "OrdersTableName": "t", "Region": "eu-west-1"}})
    )
    done = _ordersctl(_shell_env(tmp_path), "status", "--outputs", str(outputs))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no AWS credentials found" in done.stderr and "aws configure" in done.stderr


@pytest.mark.parametrize("command", ["status", "redrive", "smoke", "load", "preflight"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "--outputs" in capsys.readouterr().out


# ============================================================================ pure: request signing / API keys
class RecordingSession:
    """Stands in for requests.Session: records the request, answers 202."""

    def __init__(self):
        self.calls = []

    def request(self, method, url, data=None, headers=None, timeout=None):
        self.calls.append({"method": method, "url": url, "data": data, "headers": headers})

        class Response:
            status_code = 202
            text = "{}"

            @staticmethod
            def json():
                return {"orderId": "x"}

        return Response()


def test_aws_iam_requests_are_sigv4_signed_for_execute_api():
    from botocore.credentials import Credentials

    from ordersctl.api import OrdersApi

    session = RecordingSession()
    api = OrdersApi(
        "https://abc.execute-api.eu-west-1.amazonaws.com/v1/", authorization="AWS_IAM", region="eu-west-1", credentials=Credentials("AKIDEXAMPLE", "secret", "token"), session_factory=lambda: session
    )
    response = api.create_order(api.session(), {"orderId": "o-1"})
    assert response.status == 202
    call = session.calls[0]
    assert call["url"] == "https://abc.execute-api.eu-west-1.amazonaws.com/v1/orders"
    authorization = call["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/eu-west-1/execute-api/aws4_request" in authorization
    assert call["headers"]["X-Amz-Security-Token"] == "token" and "x-api-key" not in call["headers"]


def test_api_key_mode_sends_the_key_and_requires_one():
    from ordersctl.api import OrdersApi

    session = RecordingSession()
    api = OrdersApi("http://localhost:1", authorization="API_KEY", api_key="k-123", session_factory=lambda: session)
    api.get_order(api.session(), "o/1")
    assert session.calls[0]["headers"]["x-api-key"] == "k-123" and session.calls[0]["url"].endswith("/orders/o%2F1")
    with pytest.raises(ValueError, match="--api-key"):
        OrdersApi("http://localhost:1", authorization="API_KEY")
