"""Two DynamoDB costs in moto that grow with the table: transactions and queries.

**Transactions.** ``TransactWriteItems`` in moto backs up the items it writes, not the tables.

moto 5.2.5 starts every ``TransactWriteItems`` with ``copy.deepcopy`` of each table the transaction names, so it can
put the copy back if the transaction is cancelled. A transaction therefore costs time in proportion to the size of
its tables: about a second per transaction at 20,000 items. Segments writes each membership transition and its
statistics in one transaction (docs/decisions.md, 11), so an import whose contacts enter segments slowed down
quadratically with the number of profiles.

``dynamodb_item_transactions()`` replaces ``DynamoDBBackend.transact_write_items`` with moto's own code (the same
checks, writes, error collection and ``CancellationReasons``) in which the backup holds a deep copy of each item
the transaction names (or "absent") and the length of each table's stream shard. A cancelled transaction puts
those items back (or removes them) and drops the stream records it added -- what moto's table swap restored.

**Queries.** moto 5.2.5's ``Table.query`` starts from ``Table.all_items()``, which lists *and sorts* every item of
the table, and only then keeps the items of the queried partition. A query that reads one profile's few items
from a 100,000-item table took seconds, so a consumer that queries on every message or every minute (segments'
definition reload, its sweep) fell behind in proportion to the table. ``dynamodb_key_queries()`` narrows what
``all_items()`` gives the query running on the same thread: for a query of the table itself, the items stored
under the queried partition key, which moto keeps in ``Table.items[hash_key]``; for a query of an index, every
item unsorted (moto sorts the matches by the full index and table key afterwards, so the input order cannot
change the result). Everything else in the query (conditions, order, paging, limits, filters, projections,
errors) is moto's own code.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Callable, Iterator
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
    """Raise ``PatchPointMoved`` if moto's transaction or query code is not what the patches expect."""
    _verify_transaction_patch_points()
    _verify_query_patch_points()


def _verify_transaction_patch_points() -> None:
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


_QUERY_PARAMS = ["self", "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key"]
# The query running on this thread, if any: (table, hash key, index name).
_QUERYING = threading.local()


def _narrowed_all_items(original: Callable[[Table], list[Item]]) -> Callable[[Table], list[Item]]:
    def all_items(self: Table) -> list[Item]:
        query = getattr(_QUERYING, "query", None)
        if query is None or query[0] is not self:
            return original(self)  # scans, exports, other tables: moto's full sorted list
        _, hash_key, index_name = query
        if index_name:
            return _every_item(self)
        stored = self.items.get(hash_key) if hash_key is not None else None
        if stored is None:
            return []
        if self.range_key_attr:
            return sorted(stored.values(), key=lambda item: item.range_key)  # type: ignore[union-attr]
        return [stored]  # type: ignore[list-item]

    return all_items


def _every_item(table: Table) -> list[Item]:
    if not table.range_key_attr:
        return list(table.items.values())  # type: ignore[arg-type]
    # list() copies each dict in one step, so a write on another thread cannot change it under the iteration
    return [item for stored in list(table.items.values()) for item in list(stored.values())]


def _query_narrowing_all_items(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        outer = getattr(_QUERYING, "query", None)
        _QUERYING.query = (self, arguments.get("hash_key"), arguments.get("index_name"))
        try:
            return original(self, *args, **kwargs)
        finally:
            _QUERYING.query = outer

    return query


def _verify_query_patch_points() -> None:
    """The query patch relies on where moto keeps a table's items and on how ``Table.query`` reads them."""
    query = require_attr(Table, "query")
    actual = list(inspect.signature(query).parameters)
    if actual[: len(_QUERY_PARAMS)] != _QUERY_PARAMS or "index_name" not in actual:
        raise PatchPointMoved(f"Table.query parameters changed: {actual}")
    source = inspect.getsource(query)
    if source.count("self.all_items()") != 2:
        raise PatchPointMoved("Table.query reads Table.all_items() a different number of times now")
    for fragment in (
        "isinstance(item, Item) and item.hash_key == hash_key",  # the table query keeps one partition
        "possible_results = self.sorted_items(",  # the index query sorts its matches itself
        "possible_results.sort(key=lambda item: item.range_key)",
    ):
        require_source(query, fragment, "Table.query")
    require_source(Table._generate_attr_to_sort_by, "attrs_to_sort_by.append(table_hash_key)", "Table sort order")
    require_source(Table.all_items, "self.items.values()", "Table.all_items")
    require_source(Table.put_item, "self.items[hash_value][range_value] = item", "Table.put_item")
    require_source(Table.put_item, "self.items[hash_value] = item", "Table.put_item")


@contextmanager
def dynamodb_key_queries() -> Iterator[None]:
    """Make a query read its partition, not the whole sorted table (see the module docstring)."""
    _verify_query_patch_points()
    patches = PatchSet()
    patches.set(Table, "all_items", _narrowed_all_items(Table.all_items))
    patches.set(Table, "query", _query_narrowing_all_items(Table.query))
    try:
        yield
    finally:
        patches.restore()


@contextmanager
def dynamodb_item_transactions() -> Iterator[None]:
    """Make ``TransactWriteItems`` back up items instead of tables (see the module docstring)."""
    _verify_transaction_patch_points()
    patches = PatchSet()
    patches.set(DynamoDBBackend, "transact_write_items", _transact_write_items)
    try:
        yield
    finally:
        patches.restore()


# The requests DynamoDB applies atomically, each as a whole (a transaction's items together).
ATOMIC_REQUESTS = ("get_item", "put_item", "update_item", "delete_item", "transact_write_items")


@contextmanager
def dynamodb_atomic_requests() -> Iterator[None]:
    """Apply each item request atomically, as DynamoDB does, when handlers call moto from several threads.

    DynamoDB applies a write's condition, its update and the values it returns as one step (a transaction as a
    whole), and a read sees an item before or after a write, never during one. moto 5.2.5 checks the condition,
    then parses and applies the update action by action, and answers the live item object, so another thread (the
    local cloud's gateway serves requests on threads, its pump delivers on another) can write in between, or change
    the answer while it is being serialised. Races the platform relies on (coupon claims, serial registrations,
    referral redemptions, the visitor read model's versioned saves) need DynamoDB's guarantee: each request here
    runs under one lock and answers a copy. The steps of a use case (several requests) still interleave freely.
    Enter it after ``dynamodb_item_transactions`` so it wraps that transaction code too."""
    lock = threading.RLock()
    patches = PatchSet()
    for name in ATOMIC_REQUESTS:
        original = require_attr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return copy.deepcopy(_original(self, *args, **kwargs))

        patches.set(DynamoDBBackend, name, atomic)
    try:
        yield
    finally:
        patches.restore()


__all__ = [
    "ATOMIC_REQUESTS",
    "ItemBackup",
    "dynamodb_atomic_requests",
    "dynamodb_item_transactions",
    "dynamodb_key_queries",
    "verify_patch_points",
]
