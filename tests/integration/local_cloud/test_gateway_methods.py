"""The local gateway answers a method no route declares as API Gateway does: a JSON 404, not http.server's 501."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from infra.local.gateway import Gateway


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway({"GET /v1/segments": "segments-api"}, region="eu-west-1").start()
    yield running
    running.stop()


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT", "BREW"])
def test_an_unknown_method_gets_api_gateways_json_not_found(gateway: Gateway, method: str) -> None:
    # Given a route served for GET only
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    # When another method is sent to it
    connection.request(method, "/v1/segments")
    response = connection.getresponse()
    # Then the answer is API Gateway's own, as for any path no route serves
    assert response.status == 404
    assert response.getheader("content-type") == "application/json"
    assert json.loads(response.read()) == {"message": "Not Found"}


def test_a_head_request_gets_the_headers_without_a_body(gateway: Gateway) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    connection.request("HEAD", "/v1/segments")
    response = connection.getresponse()
    assert response.status == 404
    assert response.read() == b""
    # the connection is still usable: no stray body bytes were left on it
    connection.request("HEAD", "/v1/segments")
    assert connection.getresponse().status == 404
