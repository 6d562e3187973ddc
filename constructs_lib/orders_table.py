"""``OrdersTable``: the DynamoDB table of orders, with a by-customer index, PITR and KMS encryption."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs_lib.support.framework import Construct, TerraformResourceLifecycle, is_unresolved
from constructs_lib.support.provider import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs_lib.validation import raise_problems
from pipeline_config.errors import ConfigProblem
from pipeline_config.naming import CUSTOMER_INDEX_NAME, UNPUBLISHED_INDEX_NAME

if TYPE_CHECKING:
    from constructs_lib.encryption_key import EncryptionKey
    from constructs_lib.python_function import PythonFunction

PARTITION_KEY = "orderId"
CUSTOMER_INDEX_HASH_KEY = "customerId"
CUSTOMER_INDEX_RANGE_KEY = "timestamp"
#: The sparse index of orders whose event is not confirmed: only items holding the shard attribute
#: (set when stored, removed when published) are in it. The handlers write these attribute names
#: (``orders_core.model``; the package ships alone, a test ties them to these).
UNPUBLISHED_INDEX_HASH_KEY = "unpublishedShard"
UNPUBLISHED_INDEX_RANGE_KEY = "createdAt"


@dataclass(frozen=True, kw_only=True)
class OrdersTableProps:
    """Settings of ``OrdersTable``."""

    table_name: str = "orders-table"
    """Physical table name. Default ``orders-table``; the stack passes ``ResourceNames.orders_table``."""
    encryption_key: EncryptionKey | None = None
    """Customer-managed KMS key for SSE (an ``EncryptionKey``). ``None``: the AWS-managed
    ``aws/dynamodb`` key (SSE stays on either way; DynamoDB cannot be unencrypted). With a key, the
    table's grants also give the key's use through DynamoDB (``grant_read_statements``)."""
    deletion_protection: bool = False
    """DynamoDB deletion protection. Default off (dev); the stack turns it on in prod-like environments."""
    prevent_destroy: bool = False
    """Terraform ``lifecycle.prevent_destroy``: any plan that destroys or replaces the table (a
    rename, ``terraform destroy``) fails before AWS is asked. Default off; the stack turns it on
    in prod-like environments."""

    def problems(self) -> list[ConfigProblem]:
        """Every invalid setting (tokens are skipped)."""
        problems: list[ConfigProblem] = []
        name = self.table_name
        if not is_unresolved(name) and (not isinstance(name, str) or not 3 <= len(name) <= 255):
            problems.append(ConfigProblem("table_name", name, "must be a table name of 3 to 255 characters", "give e.g. 'orders-table-dev'"))
        key = self.encryption_key
        if key is not None and not (hasattr(key, "key_arn") and hasattr(key, "region")):
            problems.append(ConfigProblem("encryption_key", key, "must be an EncryptionKey (or None for the AWS-managed key)", "pass the stack's EncryptionKey construct, not its ARN"))
        for setting in ("deletion_protection", "prevent_destroy"):
            if not isinstance(getattr(self, setting), bool):
                problems.append(ConfigProblem(setting, getattr(self, setting), "must be true or false", f"set {setting} to True or False"))
        return problems


class OrdersTable(Construct):
    """On-demand orders table keyed by ``orderId`` with a ``CustomerIdIndex`` GSI and the sparse ``UnpublishedIndex``; PITR always on."""

    def __init__(self, scope: Construct, id: str, props: OrdersTableProps | None = None) -> None:
        props = props or OrdersTableProps()
        raise_problems(props, "OrdersTable", id)
        super().__init__(scope, id)

        key = props.encryption_key
        encryption = DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key.key_arn) if key is not None else DynamodbTableServerSideEncryption(enabled=True)
        table = DynamodbTable(
            self,
            "table",
            name=props.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            attribute=[
                DynamodbTableAttribute(name=PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=CUSTOMER_INDEX_HASH_KEY, type="S"),
                DynamodbTableAttribute(name=CUSTOMER_INDEX_RANGE_KEY, type="S"),
                DynamodbTableAttribute(name=UNPUBLISHED_INDEX_HASH_KEY, type="S"),
                DynamodbTableAttribute(name=UNPUBLISHED_INDEX_RANGE_KEY, type="S"),
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=CUSTOMER_INDEX_NAME,
                    hash_key=CUSTOMER_INDEX_HASH_KEY,
                    range_key=CUSTOMER_INDEX_RANGE_KEY,
                    projection_type="ALL",
                ),
                # Sparse: only orders whose event is pending carry its key. ALL, because the sweep
                # rebuilds each event from the item; the index holds only the pending few.
                DynamodbTableGlobalSecondaryIndex(
                    name=UNPUBLISHED_INDEX_NAME,
                    hash_key=UNPUBLISHED_INDEX_HASH_KEY,
                    range_key=UNPUBLISHED_INDEX_RANGE_KEY,
                    projection_type="ALL",
                ),
            ],
            # Forced, not configurable: orders are the system of record.
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=encryption,
            deletion_protection_enabled=props.deletion_protection,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
        )

        self.table: DynamodbTable = table
        self.table_name: str = table.name
        self.table_arn: str = table.arn
        self.customer_index_name: str = CUSTOMER_INDEX_NAME
        self.customer_index_arn: str = f"{table.arn}/index/{CUSTOMER_INDEX_NAME}"
        self._key = key
        self.unpublished_index_name: str = UNPUBLISHED_INDEX_NAME
        self.unpublished_index_arn: str = f"{table.arn}/index/{UNPUBLISHED_INDEX_NAME}"

    def grant_read(self, grantee: PythonFunction) -> None:
        """Let ``grantee``'s role read orders (``grant_read_statements``)."""
        grantee.add_to_role_policy(self.grant_read_statements())

    def grant_write(self, grantee: PythonFunction) -> None:
        """Let ``grantee``'s role store orders (``grant_write_statements``)."""
        grantee.add_to_role_policy(self.grant_write_statements())

    def grant_sweep(self, grantee: PythonFunction) -> None:
        """Let ``grantee``'s role find and mark orders whose event is pending (``grant_sweep_statements``)."""
        grantee.add_to_role_policy(self.grant_sweep_statements())

    def grant_sweep_statements(self) -> list[dict]:
        """IAM statements of the event sweeper: Query on the sparse ``UnpublishedIndex`` only, and
        UpdateItem on the table, which authorizes each Update of the ``TransactWriteItems`` that
        marks events published (no PutItem: the sweeper never stores an order)."""
        return [
            {"Sid": "QueryUnpublishedIndex", "Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [self.unpublished_index_arn]},
            {"Sid": "MarkOrdersPublished", "Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": [self.table_arn]},
            *self._key_statements(),
        ]

    def grant_read_statements(self) -> list[dict]:
        """IAM statements to read single orders (GetItem on the table) and list a customer's orders
        (Query on the customer index only: nothing queries the table itself)."""
        return [
            {"Sid": "ReadOrders", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [self.table_arn]},
            {"Sid": "QueryCustomerIndex", "Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [self.customer_index_arn]},
            *self._key_statements(),
        ]

    def grant_write_statements(self) -> list[dict]:
        """IAM statements the processor needs on the table: the conditional PutItem that stores an order
        once, and UpdateItem, which is what authorizes each Update of ``TransactWriteItems``
        (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html)."""
        return [
            {"Sid": "WriteOrders", "Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"], "Resource": [self.table_arn]},
            *self._key_statements(),
        ]

    def _key_statements(self) -> list[dict]:
        """The key's use for this table's reads and writes: kms:Decrypt, only when DynamoDB asks for it.

        DynamoDB calls KMS as the caller to decrypt the table key (CloudTrail shows the caller's role,
        invoked by dynamodb), so every role that reads or writes a table encrypted with a
        customer-managed key needs kms:Decrypt on that key. ``kms:ViaService`` limits it to requests
        DynamoDB makes in this region, the condition AWS documents for this use
        (https://docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html, "Authorizing use
        of your KMS key"; https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
        Its own statement, so tightening the queue's or topic's key grants never breaks table access.
        """
        if self._key is None:
            return []
        return [
            {
                "Sid": "UseKeyForOrdersTable",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [self._key.key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{self._key.region}.amazonaws.com"}},
            }
        ]


#: Why each statement of these grants exists (docs/security.md, "Security" renders them).
GRANT_REASONS: dict[str, str] = {
    "ReadOrders": "GET /orders/{orderId} reads one order (GetItem)",
    "QueryCustomerIndex": "GET /customers/{customerId}/orders pages through CustomerIdIndex (Query on the index only)",
    "WriteOrders": "the processor stores each order once (conditional PutItem) and marks it published (TransactWriteItems of Updates = UpdateItem)",
    "UseKeyForOrdersTable": "DynamoDB decrypts the table key with the caller's credentials on every read and write of a table encrypted with the CMK; "
    "only through DynamoDB in this region (kms:ViaService)",
    "QueryUnpublishedIndex": "the event sweep finds stored orders whose event never got out (Query on the sparse UnpublishedIndex only)",
    "MarkOrdersPublished": "the event sweep marks the events it published (TransactWriteItems of Updates = UpdateItem; no PutItem)",
}
