"""The emulator's DynamoDB, made fit for a stack that runs for hours (issue 9, item 9).

moto 5.2.5 has two leaks on the path every Haven write takes:

1. `transact_write_items` takes a rollback snapshot by deep-copying every table a transaction
   touches (about 3.5 MB per transaction at 3,000 items), and
2. every `Item` it ever makes stays in `Item.instances_tracked` (the moto dashboard's list), so
   nothing written is ever freed.

`install()` replaces the first with the semantics DynamoDB documents — every condition is
checked against the state before the transaction, then every write is applied, or none —
snapshotting only the items the transaction touches (as plain JSON, restored if a write fails
midway), and stops tracking DynamoDB's model instances (the dashboard keeps the other services',
so `make outbox` still reads SES). Called under `provision.make_dynamodb_atomic`'s lock, so a
transaction is all-or-nothing with respect to every other operation.
"""
from __future__ import annotations

from typing import Any

_INSTALLED = False


class _Untracked(list):
    """An `instances_tracked` list that keeps nothing."""

    def append(self, item) -> None:  # noqa: D102 - list API
        return None


def _key_of(table, op_type: str, op: dict) -> dict:
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MockValidationException, MultipleTransactionsException, TooManyTransactionsException,
        TransactionCanceledException, TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    plan: list[tuple[str, dict, str, dict, dict | None]] = []
    refused = False
    # 1. check every condition against the state before the transaction; nothing is written yet
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        table = self.get_table(table_name)
        key = _key_of(table, op_type, op)
        unique = (str(table_name), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        current = self.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                          op.get("ExpressionAttributeValues"))
            if not check.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                refused = True
                continue
        errors.append((None, None, None))
        before = current.to_json()["Attributes"] if current is not None else None
        plan.append((op_type, op, table_name, key, before))
    if refused:
        raise TransactionCanceledException(errors)
    # 2. apply every write; if one fails midway, put back what the earlier ones changed
    done: list[tuple[str, dict, dict | None]] = []
    try:
        for op_type, op, table_name, key, before in plan:
            if op_type == "ConditionCheck":
                continue
            done.append((table_name, key, before))
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            else:
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 expression_attribute_names=op.get("ExpressionAttributeNames"),
                                 expression_attribute_values=op.get("ExpressionAttributeValues"))
    except Exception as error:
        for table_name, key, before in reversed(done):
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        if isinstance(error, (MultipleTransactionsException, MockValidationException)):
            raise
        raise TransactionCanceledException(
            [(type(error).__name__, str(error), None) if i == len(done) - 1 else (None, None, None)
             for i in range(len(transact_items))]) from error


def install() -> None:
    """Patch this process's moto DynamoDB backend (the emulator runs in-process). Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    import moto.dynamodb.models as models
    from moto.core.model_instances import model_data

    models.DynamoDBBackend.transact_write_items = transact_write_items
    for cls in list(model_data.get("dynamodb", {}).values()):
        cls.instances_tracked = _Untracked()
    _INSTALLED = True
