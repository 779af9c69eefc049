"""The bus envelope: every event on the bus is `{id, occurredAt, correlationId, version, data}` in `detail`."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common import clock
from services.common.ids import new_id


class Contract(BaseModel):
    """The data of one bus event. Subclasses declare where it comes from and what it is, explicitly."""

    # defer_build: a function validates a handful of the platform's events; building all of them at import
    # would cost every cold start ~75 ms. hide_input_in_errors: a refused event's error message (which a failed
    # consumer's log holds) names the fields, never their values (emails, IPs).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True, hide_input_in_errors=True)

    SOURCE: ClassVar[str]
    DETAIL_TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = ""


D = TypeVar("D", bound=Contract)


class Envelope(BaseModel, Generic[D]):
    """What goes into EventBridge `detail`. `id` is the idempotency key of every consumer."""

    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)  # see Contract

    id: str = Field(default_factory=new_id)
    occurred_at: AwareDatetime = Field(default_factory=clock.now, alias="occurredAt")
    correlation_id: str = Field(default_factory=new_id, alias="correlationId")
    version: int = 1
    data: D

    def to_detail(self) -> str:
        return self.model_dump_json(by_alias=True)

    @property
    def source(self) -> str:
        return type(self.data).SOURCE

    @property
    def detail_type(self) -> str:
        return type(self.data).DETAIL_TYPE


def envelope(
    data: D, *, id: str | None = None, correlation_id: str | None = None, occurred_at: dt.datetime | None = None
) -> Envelope[D]:
    """Wrap contract data; pass `id` derived from the input event to make a re-publish idempotent."""
    fields: dict[str, Any] = {"data": data, "version": type(data).VERSION}
    if id:
        fields["id"] = id
    if correlation_id:
        fields["correlation_id"] = correlation_id
    if occurred_at:
        fields["occurred_at"] = occurred_at
    return Envelope[type(data)](**fields)  # type: ignore[misc,operator]
