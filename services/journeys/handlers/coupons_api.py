"""HTTP entry of coupon pools: define pools, generate or import their codes, see what is left (admin)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from services.common import clock
from services.common.api import View, http_handler, problem_response, resolver
from services.common.problems import FieldError, bad_request
from services.journeys import app as deps
from services.journeys.domain.coupons import MAX_IMPORT, POOL_ID, PoolDefinition, parse_lines
from services.journeys.handlers.problems import COUPON_ERRORS, CouponError, coupon_problem
from services.journeys.manifest import MANIFEST
from services.journeys.use_cases import coupons

app = resolver("CxM coupon pools API")


@app.exception_handler(COUPON_ERRORS)
def _refused(error: CouponError) -> Response[Any]:
    return problem_response(coupon_problem(error))


def _pool_id(pool_id: str) -> str:
    if not re.match(POOL_ID, pool_id):
        raise bad_request(
            "A pool id has 1 to 64 letters, digits, - and _, starting with a letter or digit.",
            [FieldError("poolId", "not a pool id")],
        )
    return pool_id


class PoolView(View):
    poolId: str
    name: str
    lowWatermark: int
    total: int
    claimed: int
    remaining: int
    wasted: int
    low: bool
    createdAt: str | None
    updatedAt: str | None


class PoolList(View):
    pools: list[PoolView]


class CodesImported(View):
    added: int
    duplicates: Any
    invalid: Any
    pool: PoolView


@app.get("/v1/coupons/pools", summary="Coupon pools, with what is left of each", tags=["coupons"])
def list_pools() -> PoolList:
    return PoolList.model_validate({"pools": coupons.list_pools(deps.coupons())})


@app.put(
    "/v1/coupons/pools/<poolId>",
    summary="Create or change a pool; `generate` adds codes drawn from a pattern",
    tags=["coupons"],
)
def put_pool(poolId: str, body: Annotated[PoolDefinition, Body()]) -> PoolView:
    return PoolView.model_validate(coupons.save_pool(_pool_id(poolId), body, deps.coupons(), clock.now()))


@app.get("/v1/coupons/pools/<poolId>", summary="A pool: total, claimed, remaining, low", tags=["coupons"])
def get_pool(poolId: str) -> PoolView:
    return PoolView.model_validate(coupons.pool_view(_pool_id(poolId), deps.coupons()))


@app.post(
    "/v1/coupons/pools/<poolId>/codes",
    summary="Import codes: JSON {codes: [...]} or text/plain, one a line (at most 5,000 a call)",
    tags=["coupons"],
)
def import_codes(poolId: str) -> CodesImported:
    return CodesImported.model_validate(coupons.import_codes(_pool_id(poolId), _codes(), deps.coupons(), clock.now()))


def _codes() -> list[Any]:
    """The codes sent: a JSON body `{"codes": [...]}` or a text/plain body, one code a line."""
    event = app.current_event
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    body = event.body or ""
    if content_type == "text/plain":
        codes: Any = parse_lines(body)
    else:
        try:
            document = json.loads(body or "null")
        except ValueError:
            raise bad_request("The body is not JSON (send text/plain for one code a line).") from None
        codes = document.get("codes") if isinstance(document, dict) else None
        if not isinstance(codes, list):
            raise bad_request('Send {"codes": [...]}.', [FieldError("codes", "a list of codes is required")])
    if sum(1 for c in codes if not isinstance(c, str) or c.strip()) > MAX_IMPORT:
        raise bad_request(
            f"At most {MAX_IMPORT} codes a call; send the rest in further calls.",
            [FieldError("codes", f"more than {MAX_IMPORT} codes")],
        )
    return list(codes)


handler = http_handler(app, MANIFEST.name, MANIFEST.function("coupons"), max_body_bytes=1024 * 1024)
