"""DynamoDB ``TransactWriteItems`` in moto that backs up the items it writes, not the tables.

moto 5.2.5 starts every ``TransactWriteItems`` with ``copy.deepcopy`` of each table the transaction names, so it can
put the copy back if the transaction is cancelled. A transaction therefore costs time in proportion to the size of
its tables: about a second per transaction at 20,000 items. Segments writes each membership transition and its
statistics in one transaction (docs/decisions.md, 11), so an import whose contacts enter segments slowed down
quadratically with the number of profiles.

``dynamodb_item_transactions()`` replaces ``DynamoDBBackend.transact_write_items`` with moto's own code (the same
checks, writes, error collection and ``CancellationReasons``) in which the backup holds a deep copy of each item
the transaction names (or "absent") and the length of each table's stream shard. A cancelled transaction puts
those items back (or removes them) and drops the stream records it added -- what moto's table swap restored.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb import models as ddb_models
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table

from ._patching import PatchPointMoved, PatchSet, require_attr, require_params, require_source


class ItemBackup:
    """The items a transaction names, as they were before it, and the length of each table's stream."""

    def __init__(self, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        self._streams: dict[str, tuple[Table, int | None]] = {}
        self._items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = backend.tables.get(op.get("TableName"))
                if table is None:
                    continue  # moto records the error; nothing is written for it
                if table.name not in self._streams:
                    shard = table.stream_shard
                    self._streams[table.name] = (table, None if shard is None else len(shard.items))
                key = op["Item"] if "Item" in op else op["Key"]
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except Exception:  # a malformed operation: moto refuses it before writing anything
                continue
            self._items.append(
                (table, hash_value, range_value, copy.deepcopy(_current(table, hash_value, range_value)))
            )

    def restore(self) -> None:
        for table, hash_value, range_value, item in reversed(self._items):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item  # type: ignore[assignment]
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item
        for table, length in self._streams.values():
            if length is not None and table.stream_shard is not None:
                del table.stream_shard.items[length:]


def _current(table: Table, hash_value: DynamoType, range_value: DynamoType | None) -> Item | None:
    # not table.get_item: on a table with a range key it would add an empty group for a new hash key
    found = table.items.get(hash_value)
    if range_value is None:
        return found if isinstance(found, Item) else None
    return found.get(range_value) if isinstance(found, dict) else None


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # moto 5.2.5's DynamoDBBackend.transact_write_items, with an item-level backup instead of copies of the tables.
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    backup = ItemBackup(self, transact_items)

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []  # [(Code, Message, Item), ..]
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        # Check transact writes are not performing multiple operations on the same item
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = ddb_models.get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                self.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                self.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            # Rollback to the original state, and reraise the error
            backup.restore()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # moto records any other failure as that operation's reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        # Rollback to the original state, and reraise the errors
        backup.restore()
        raise TransactionCanceledException(errors)


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if moto's transaction code is not the one this patch reproduces."""
    original = require_attr(DynamoDBBackend, "transact_write_items")
    require_params(original, ["self", "transact_items"], "DynamoDBBackend.transact_write_items")
    for fragment in (
        "original_table_state[table_name] = copy.deepcopy(",
        "self.tables[table_name] = original_table_state[table_name]",
        "check_unicity(table_name, key)",
        "current = self.get_item(table_name, key)",
        "raise TransactionCanceledException(errors)",
        "except (MultipleTransactionsException, MockValidationException):",
        'errors.append(("ConditionalCheckFailed", str(e.message), original_item))',
        "errors.append((type(e).__name__, str(e), original_item))",
    ):
        require_source(original, fragment, "DynamoDBBackend.transact_write_items")
    source = inspect.getsource(original)
    for call in ("self.put_item(", "self.delete_item(", "self.update_item(", "self.get_table(", "self.get_item("):
        if source.count(call) != 1:
            raise PatchPointMoved(f"DynamoDBBackend.transact_write_items calls {call} differently now")
    require_attr(ddb_models, "get_filter_expression")
    for attr in ("items", "stream_shard", "hash_key_attr", "range_key_attr", "name"):
        require_source(Table.__init__, f"self.{attr}", "Table.__init__")
    require_source(StreamShard.__init__, "self.items", "StreamShard.__init__")
    require_source(StreamShard.add, "self.items.append(", "StreamShard.add")


@contextmanager
def dynamodb_item_transactions() -> Iterator[None]:
    """Make ``TransactWriteItems`` back up items instead of tables (see the module docstring)."""
    verify_patch_points()
    patches = PatchSet()
    patches.set(DynamoDBBackend, "transact_write_items", _transact_write_items)
    try:
        yield
    finally:
        patches.restore()


__all__ = ["ItemBackup", "dynamodb_item_transactions", "verify_patch_points"]
