"""The soak's moto patch is still needed (stock moto copies whole tables per transaction item) and keeps rollback right."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_pipeline.emulator import MotoEmulator, emulator_client

if TYPE_CHECKING:  # boto3-stubs (a dev dependency): the request shapes
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef, TransactWriteItemTypeDef

pytestmark = pytest.mark.e2e

TABLE: CreateTableInputTypeDef = {
    "TableName": "t",
    "KeySchema": [{"AttributeName": "orderId", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "orderId", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def mark(order_id: str, condition: str = "attribute_exists(orderId)") -> TransactWriteItemTypeDef:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"orderId": {"S": order_id}},
            "UpdateExpression": "SET published = :t",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":t": {"BOOL": True}},
        }
    }


def test_stock_moto_copies_the_whole_table_once_per_transaction_item(monkeypatch):
    """When this fails, moto stopped copying tables per item: drop local_pipeline/soak_moto.py and this test."""
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table

    copies = []
    real = copy.deepcopy

    class Counting:
        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            if isinstance(value, Table):
                copies.append(len(value.items))
            return real(value, memo)

    with mock_aws():
        monkeypatch.setattr(dynamodb_models, "copy", Counting())
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**TABLE)
        for i in range(50):
            ddb.put_item(TableName="t", Item={"orderId": {"S": f"o-{i}"}})
        ddb.transact_write_items(TransactItems=[mark(f"o-{i}") for i in range(10)])
    assert copies == [50] * 10  # ten copies of all fifty items, for a transaction of ten


@pytest.fixture(scope="module")
def patched():
    emulator = MotoEmulator(server_module="local_pipeline.soak_moto")
    emulator.start()
    ddb = emulator_client(emulator.endpoint_url, "dynamodb", "us-east-1")
    ddb.create_table(**TABLE)
    yield ddb
    emulator.stop()


def test_a_patched_transaction_applies_every_item(patched):
    for i in range(3):
        patched.put_item(TableName="t", Item={"orderId": {"S": f"a-{i}"}})
    patched.transact_write_items(TransactItems=[mark(f"a-{i}") for i in range(3)])
    assert all(patched.get_item(TableName="t", Key={"orderId": {"S": f"a-{i}"}})["Item"]["published"] == {"BOOL": True} for i in range(3))


def test_a_cancelled_patched_transaction_rolls_back_what_it_touched_and_nothing_else(patched):
    patched.put_item(TableName="t", Item={"orderId": {"S": "b-1"}, "v": {"N": "1"}})
    patched.put_item(TableName="t", Item={"orderId": {"S": "untouched"}, "v": {"N": "7"}})
    items = [
        mark("b-1"),  # applies, then must be rolled back
        {"Put": {"TableName": "t", "Item": {"orderId": {"S": "b-new"}}}},  # created, then must be removed
        mark("b-missing"),  # fails its condition: the whole transaction is cancelled
    ]
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        patched.transact_write_items(TransactItems=items)
    assert patched.get_item(TableName="t", Key={"orderId": {"S": "b-1"}})["Item"] == {"orderId": {"S": "b-1"}, "v": {"N": "1"}}
    assert "Item" not in patched.get_item(TableName="t", Key={"orderId": {"S": "b-new"}})
    assert patched.get_item(TableName="t", Key={"orderId": {"S": "untouched"}})["Item"]["v"] == {"N": "7"}
