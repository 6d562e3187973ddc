"""Plan review: JSON-formatting-only updates are emulator noise; every other change is real."""

from __future__ import annotations

from rehearsal.plan_review import review_plan, same_json_text


def _change(address: str, actions: list[str], before=None, after=None, unknown=None) -> dict:
    return {"address": address, "change": {"actions": actions, "before": before, "after": after, "after_unknown": unknown or {}}}


def test_reformatted_json_string_is_noise():
    plan = {"resource_changes": [_change("aws_sqs_queue.q", ["update"], {"redrive_policy": '{"a": 1, "b": [1, 2]}', "name": "q"}, {"redrive_policy": '{"b":[1,2],"a":1}', "name": "q"})]}
    review = review_plan(plan)
    assert review.clean and [c.address for c in review.noise] == ["aws_sqs_queue.q"]


def test_changed_json_value_is_real():
    plan = {"resource_changes": [_change("aws_sqs_queue.q", ["update"], {"redrive_policy": '{"maxReceiveCount": 3}'}, {"redrive_policy": '{"maxReceiveCount": 5}'})]}
    review = review_plan(plan)
    assert not review.clean and review.real[0].diffs[0].path == "redrive_policy"


def test_noise_next_to_a_real_difference_makes_the_resource_real():
    before = {"policy": '{"a": 1}', "timeout": 10}
    after = {"policy": '{"a":1}', "timeout": 30}
    review = review_plan({"resource_changes": [_change("aws_lambda_function.f", ["update"], before, after)]})
    assert [c.address for c in review.real] == ["aws_lambda_function.f"]
    assert {d.path: d.noise for d in review.real[0].diffs} == {"policy": True, "timeout": False}


def test_creates_deletes_and_replacements_are_real_and_reads_and_no_ops_are_ignored():
    plan = {
        "resource_changes": [
            _change("aws_sns_topic.a", ["create"], None, {"name": "a"}),
            _change("aws_sns_topic.b", ["delete"], {"name": "b"}, None),
            _change("aws_sns_topic.c", ["delete", "create"], {"name": "c"}, {"name": "c2"}),
            _change("aws_sns_topic.d", ["no-op"], {"name": "d"}, {"name": "d"}),
            _change("data.aws_caller_identity.x", ["read"], None, {}),
        ]
    }
    review = review_plan(plan)
    assert [c.address for c in review.real] == ["aws_sns_topic.a", "aws_sns_topic.b", "aws_sns_topic.c"]
    assert review.noise == ()


def test_a_value_known_only_after_apply_is_real_even_inside_lists():
    before = {"tags": [{"k": "v"}]}
    after = {"tags": [{"k": None}]}
    review = review_plan({"resource_changes": [_change("aws_x.y", ["update"], before, after, {"tags": [{"k": True}]})]})
    assert review.real and review.real[0].diffs[0].path == "tags[0].k" and review.real[0].diffs[0].after == "(known after apply)"


def test_update_without_a_visible_difference_is_real_and_says_where_to_look():
    review = review_plan({"resource_changes": [_change("aws_x.y", ["update"], {"a": 1}, {"a": 1})]})
    assert review.real and "terraform show" in review.real[0].describe()


def test_same_json_text_needs_two_different_strings_holding_equal_json():
    assert same_json_text('{"a":1}', '{ "a": 1 }')
    assert not same_json_text('{"a":1}', '{"a":1}')  # identical: no diff at all
    assert not same_json_text("not json", "not  json")
    assert not same_json_text('{"a":1}', {"a": 1})
