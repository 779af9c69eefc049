"""Swagger UI at /v1/docs renders the platform's operations with no network beyond the platform itself."""

from __future__ import annotations

from typing import Any

from services.events.handlers.api import SWAGGER_UI_VERSION
from tests.browser.conftest import Browser, drive


def test_the_docs_render_every_operation_offline(browser: Browser, cloud: Any) -> None:
    # Given a browser for which every other origin is unreachable (no internet, no CDN)
    steps: list[dict[str, Any]] = [
        {"offline": True},
        # When it opens the docs
        {"goto": "/v1/docs"},
        {"waitFor": "document.querySelectorAll('.opblock').length > 10", "timeout": 20000},
        {"eval": "document.querySelector('.info .title')?.textContent ?? ''", "as": "title"},
        {
            "eval": "[...document.querySelectorAll('.opblock')].map(o => "
            "o.querySelector('.opblock-summary-method').textContent + ' ' + "
            "o.querySelector('.opblock-summary-path').getAttribute('data-path'))",
            "as": "operations",
        },
        {"eval": "getComputedStyle(document.querySelector('.opblock-summary-method')).color", "as": "styled"},
    ]
    report = drive(browser, cloud.url, steps)

    # Then Swagger UI renders the API document's operations, styled, having asked no other origin for anything
    assert report.saved["otherOrigins"] == []
    assert report.saved["title"].startswith("CxM platform API")
    operations = set(report.saved["operations"])
    assert {"POST /v1/track", "POST /v1/batch", "GET /v1/profiles"} <= operations
    assert report.saved["styled"] == "rgb(255, 255, 255)"  # swagger-ui.css's white method badge
    assets = {r["path"]: r.get("status") for r in report.requests if r["path"].startswith("/v1/docs/assets/")}
    assert assets == {
        f"/v1/docs/assets/{SWAGGER_UI_VERSION}/swagger-ui.css": 200,
        f"/v1/docs/assets/{SWAGGER_UI_VERSION}/swagger-ui-bundle.js": 200,
    }
    assert not [c for c in report.console if c["type"] == "error"], report.console
