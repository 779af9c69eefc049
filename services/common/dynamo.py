"""Small DynamoDB helpers shared by the services' adapters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


def is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def succeeded(write: Callable[[], object]) -> bool:
    """Run a conditional write (or transaction); False when its condition failed, any other error raises."""
    try:
        write()
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def put_if_absent(table: Any, item: dict[str, Any]) -> bool:
    """Put the item unless one with its key exists (tables keyed by `pk`); False when one did."""
    return succeeded(lambda: table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)"))


def query_all(table: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Query finds, following `LastEvaluatedKey` page by page."""
    return list(iter_query(table, **kwargs))


def iter_query(table: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """The items a Query finds, one page read at a time: a caller may act on a page before the next is read."""
    while True:
        page = table.query(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def to_dynamo(value: Any) -> Any:
    """JSON-ish values → what DynamoDB accepts (floats as Decimal; empty strings kept; None dropped in maps)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {str(k): to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Decimals back to int or float, recursively, so items serialise as JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [from_dynamo(v) for v in value]
    return value


def expires_at(now: dt.datetime, days: int) -> int:
    """A TTL attribute value: epoch seconds `days` from now."""
    return int((now + dt.timedelta(days=days)).timestamp())
