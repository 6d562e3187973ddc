"""Each function's role grants exactly what its recorded calls (and the documented platform) need.

Runs after every other test of tests/e2e (``after_all_scenarios``): by then the recorder has seen
the calls of the whole scenario set. The comparison is against the synthesized dev stack, in
logical resources (tests/least_privilege.py). A failure names the grant to add or to drop.
"""

from __future__ import annotations

import copy

import pytest

from pipeline_config.environments import config_for
from tests.e2e.conftest import AFTER_ALL_SCENARIOS
from tests.least_privilege import (
    API_HANDLER,
    EVENT_SWEEPER,
    FUNCTIONS,
    PROCESSOR,
    Access,
    compare,
    granted_accesses,
    logical_name,
    required_accesses,
    role_statements,
)
from tests.tfjson import resources

pytestmark = [pytest.mark.e2e, pytest.mark.after_all_scenarios]
assert AFTER_ALL_SCENARIOS == "after_all_scenarios"

E2E_NAMES = config_for("e2e").names
DEV_NAMES = config_for("dev").names

#: The scenario set, by the tests that play it (node-id fragments). Every scenario must be
#: collected and must have made calls: a partial set would ask to drop real grants, and a check
#: that skips itself when a scenario is renamed proves nothing while the run stays green.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "happy path": ("test_happy_path.py::test_orders_flow_from_api_to_table_and_topic",),
    "listing": ("test_happy_path.py::test_customer_listing_pages_with_next_token",),
    "read missing": ("test_happy_path.py::test_unknown_order_is_404_with_the_error_shape",),
    "duplicates": (
        "test_duplicates_and_poison.py::test_same_order_posted_twice_is_stored_and_published_once",
        "test_duplicates_and_poison.py::test_sqs_duplicate_delivery_is_stored_and_published_once",
    ),
    "conflicts": ("test_order_conflicts.py::",),
    "poison": ("test_duplicates_and_poison.py::test_poison_message_reaches_the_dlq_after_exactly_max_receive_count_receives",),
    "faults": ("test_transient_failures.py::",),
    "redrive": ("test_redrive.py::",),
    "event sweep": ("test_event_sweep.py::",),
}


def missing_scenarios(nodeids: list[str]) -> list[str]:
    """The scenarios none of whose fragments is in any of ``nodeids``."""
    return [name for name, fragments in SCENARIOS.items() if not any(f in nodeid for f in fragments for nodeid in nodeids)]


@pytest.fixture(scope="module")
def scenario_calls(request, recorded_calls):
    """The calls recorded over the whole scenario set; a scenario not run is a failure, never a skip."""
    missing = missing_scenarios([item.nodeid for item in request.session.items])
    if missing:
        pytest.fail(
            f"least privilege cannot be checked: scenarios not collected in this session: {', '.join(missing)}. "
            "If a scenario test was renamed or moved, update SCENARIOS in tests/e2e/test_least_privilege.py; "
            "otherwise run all of tests/e2e (make test PYTEST_ARGS=tests/e2e)."
        )
    calls = recorded_calls.snapshot()
    silent = [name for name, fragments in SCENARIOS.items() if not any(f in call.test for f in fragments for call in calls)]
    assert not silent, f"these scenarios ran but the recorder saw no AWS call of theirs: {silent}; is it still attached to the handlers' clients?"
    return calls


def encrypted_resources(doc: dict, names) -> set[str]:
    """Logical resources encrypted with the stack's customer-managed key (queues, topics, the table)."""
    out = set()
    for rtype in ("aws_sqs_queue", "aws_sns_topic"):
        for resource in resources(doc, rtype).values():
            if str(resource.get("kms_master_key_id", "")).startswith("${aws_kms_key."):
                out.add(logical_name(resource["name"], names))
    for table in resources(doc, "aws_dynamodb_table").values():
        if str(table.get("server_side_encryption", {}).get("kms_key_arn", "")).startswith("${aws_kms_key."):
            out.add(logical_name(table["name"], names))
    return out


def problems_for(doc: dict, calls, mutate=None) -> list[str]:
    """Every ADD/DROP needed for the roles of ``doc`` (optionally after ``mutate(function, statements)``)."""
    needed = required_accesses(calls, E2E_NAMES, encrypted=encrypted_resources(doc, DEV_NAMES))
    problems = []
    for function in FUNCTIONS:
        statements, log_group = role_statements(doc, function)
        if mutate:
            statements = mutate(function, copy.deepcopy(statements))
        problems += compare(function, needed.get(function, {}), granted_accesses(statements, doc, DEV_NAMES, log_group))
    return problems


def test_each_role_grants_exactly_the_recorded_calls_plus_the_documented_platform_extras(dev, scenario_calls):
    problems = problems_for(dev, scenario_calls)
    assert problems == [], "least privilege drifted from the code's calls:\n  " + "\n  ".join(problems)


def test_a_renamed_scenario_test_is_reported_not_skipped():
    """The failure mode that turned every check into a skip: one scenario test renamed."""
    collected = [f"tests/e2e/{fragment}{'test_x' if fragment.endswith('::') else ''}" for fragments in SCENARIOS.values() for fragment in fragments]
    assert missing_scenarios(collected) == []
    renamed = [n.replace("test_customer_listing_pages_with_next_token", "test_customer_listing_pages") for n in collected]
    assert missing_scenarios(renamed) == ["listing"]


def test_the_recorded_calls_are_the_ones_the_handlers_are_known_to_make(scenario_calls):
    # A guard on the recorder itself: if this set shrank to nothing the comparison above would
    # only test the platform extras.
    needed = required_accesses(scenario_calls, E2E_NAMES)
    assert Access("sqs:SendMessage", "order_queue") in needed[API_HANDLER]
    assert Access("dynamodb:Query", "orders_table/index/CustomerIdIndex") in needed[API_HANDLER]
    assert Access("dynamodb:PutItem", "orders_table") in needed[PROCESSOR]
    assert Access("dynamodb:UpdateItem", "orders_table") in needed[PROCESSOR]
    assert Access("sns:Publish", "order_events_topic") in needed[PROCESSOR]
    assert Access("dynamodb:Query", "orders_table/index/UnpublishedIndex") in needed[EVENT_SWEEPER]
    assert Access("dynamodb:UpdateItem", "orders_table") in needed[EVENT_SWEEPER]
    assert Access("sns:Publish", "order_events_topic") in needed[EVENT_SWEEPER]


def test_every_recorded_call_is_one_whose_errors_the_handlers_classify(scenario_calls):
    """The error-code table (orders_core.aws_errors) covers the operations the handlers really call."""
    from orders_core.aws_errors import HANDLER_OPERATIONS

    made = {(call.service, call.operation) for call in scenario_calls}
    declared = {(service, operation) for service, operations in HANDLER_OPERATIONS.items() for operation in operations}
    assert made <= declared, f"add to HANDLER_OPERATIONS (and classify their errors): {sorted(made - declared)}"


# --------------------------------------------------------------------------- negative controls
def test_a_removed_grant_is_reported_as_one_to_add(dev, scenario_calls):
    def drop_send(function, statements):
        return [s for s in statements if s.get("Sid") != "SendToOrderQueue"] if function == API_HANDLER else statements

    problems = problems_for(dev, scenario_calls, drop_send)
    assert len(problems) == 1, problems
    assert problems[0].startswith("api-handler: ADD sqs:SendMessage on order_queue (needed by: sqs SendMessage in tests/e2e/")
    assert "QueueWithDeadLetterQueue.grant_send_statements()" in problems[0]


def test_an_extra_grant_is_reported_as_one_to_drop(dev, scenario_calls):
    table_arn = next(s["Resource"][0] for s in role_statements(dev, PROCESSOR)[0] if s.get("Sid") == "WriteOrders")

    def add_delete(function, statements):
        if function == PROCESSOR:
            statements.append({"Sid": "Extra", "Effect": "Allow", "Action": ["dynamodb:DeleteItem"], "Resource": [table_arn]})
        return statements

    problems = problems_for(dev, scenario_calls, add_delete)
    assert problems == [
        (
            "order-processor: DROP dynamodb:DeleteItem on orders_table (statement 'Extra'): no recorded call of any e2e scenario "
            "and no documented platform need uses it. Remove it from its grant, or, if an untested code path needs it, add an "
            "e2e scenario that makes the call."
        )
    ]


def test_a_grant_widened_from_the_index_to_the_table_is_reported(dev, scenario_calls):
    def widen(function, statements):
        for s in statements:
            if s.get("Sid") == "QueryCustomerIndex":
                s["Resource"] = [s["Resource"][0].split("/index/")[0]]
        return statements

    problems = problems_for(dev, scenario_calls, widen)
    assert sorted(p.split(" (")[0] for p in problems) == [
        "api-handler: ADD dynamodb:Query on orders_table/index/CustomerIdIndex",
        "api-handler: DROP dynamodb:Query on orders_table",
    ]
