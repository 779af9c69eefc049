"""The tracker on a site that needs no consent banner (pages served by the test on the API's origin): automatic
sending, batching, custom calls, what a form submission may and may not carry, and how refusals and errors are
handled."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.browser.conftest import ROOT, Site

CHECKOUT = """<!doctype html><html><head><meta charset="utf-8"><title>Checkout</title>
<script src="/v1/tracker.js" data-write-key="{key}" async></script></head><body>
<form data-cxm-form="checkout" action="/shop/thanks" method="post">
  <input type="email" name="contact">
  <input name="fullName">
  <input type="password" name="password">
  <input type="hidden" name="csrf" value="csrf-token-value">
  <input name="cardNumber" autocomplete="cc-number">
  <input name="cvc">
  <input name="iban">
  <input name="voucher" data-cxm-ignore>
  <input name="legacy" value="unused" disabled>
  <select name="plan"><option>basic</option><option selected>pro</option></select>
  <label><input type="radio" name="delivery" value="standard"> standard</label>
  <label><input type="radio" name="delivery" value="express" checked> express</label>
  <label><input type="checkbox" name="gift" checked> gift</label>
  <textarea name="notes"></textarea>
  <button type="submit">Pay</button>
</form></body></html>"""

PLAIN = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<script src="/v1/tracker.js" data-write-key="{key}" async></script></head><body><h1>{title}</h1></body></html>"""


@pytest.fixture(scope="module")
def shop(site: Site) -> dict[str, str]:
    key = site.api.write_key
    return {
        "checkout": CHECKOUT.format(key=key),
        "thanks": PLAIN.format(title="Thank you", key=key),
        "home": PLAIN.format(title="Shop", key=key),
    }


def test_a_site_without_consent_banner_sends_at_once_batches_by_20_and_keeps_forms_free_of_secrets(
    site: Site, shop: dict[str, str]
) -> None:
    # Given a shop whose tracker tag asks for no consent
    report = site.drive(
        [
            {"serve": {"path": "/shop/checkout", "html": shop["checkout"]}},
            {"serve": {"path": "/shop/thanks", "html": shop["thanks"]}},
            {"goto": "/shop/checkout?utm_source=ads&utm_medium=cpc"},
            {"waitFor": "window.cxm && cxm.version"},
            {"eval": "cxm.flush(); 1", "as": "_"},
            {"waitFor": "cxm.pending() === 0"},
            {"cookies": "cookies"},
            # When the site identifies the customer and sends 24 custom events in one go
            {
                "eval": "cxm.identify('user-77', {plan: 'pro'}); for (let i = 0; i < 24; i++) "
                "cxm.track('Item Viewed', {position: i}); cxm.pending()",
                "as": "queued",
            },
            {"waitForRequests": {"path": "/v1/batch", "count": 2}},  # the full batch left without waiting
            {"waitFor": "cxm.flush() && cxm.pending() === 0"},  # (and the rest, sooner than in 2 s)
            # And the customer fills in the checkout form, secrets included, and submits it (a navigation)
            {"fill": ["[name=contact]", "cy@example.com"]},
            {"fill": ["[name=fullName]", "Cy Buyer"]},
            {"fill": ["[name=password]", "hunter2"]},
            {"fill": ["[name=cardNumber]", "4111111111111111"]},
            {"fill": ["[name=cvc]", "123"]},
            {"fill": ["[name=iban]", "DE89370400440532013000"]},
            {"fill": ["[name=voucher]", "FREE"]},
            {"fill": ["[name=notes]", "Ring twice"]},
            {"click": "button[type=submit]"},
            {"waitFor": "location.pathname === '/shop/thanks' && cxm.pending() === 0"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
        ]
    )

    # Then the first page view went without waiting for any consent, and set the cookie
    first = report.batches()[0]["batch"]
    assert [m["type"] for m in first] == ["page"] and first[0]["properties"]["path"] == "/shop/checkout"
    assert first[0]["context"]["campaign"] == {"source": "ads", "medium": "cpc"}
    assert report.cookie("cookies")["value"] == report.saved["anonymousId"]  # type: ignore[index]

    # And the 25 queued messages went as a full batch of 20 at once, then the rest
    assert report.saved["queued"] == 25
    assert [len(b["batch"]) for b in report.batches()][1:3] == [20, 5]
    assert all(m.get("userId") == "user-77" for m in report.messages()[1:])

    # And the form gave an identify with the email and "Form Submitted" without any sensitive or hidden field
    submitted = [m for m in report.messages() if m.get("event") == "Form Submitted"]
    assert len(submitted) == 1
    assert submitted[0]["properties"] == {
        "form": "checkout",
        "fields": {"fullName": "Cy Buyer", "plan": "pro", "delivery": "express", "gift": True, "notes": "Ring twice"},
    }
    assert [m["traits"] for m in report.messages() if m["type"] == "identify"] == [
        {"plan": "pro"},
        {"email": "cy@example.com"},
    ]
    everything = str(report.requests)
    for secret in ("hunter2", "4111111111111111", "DE89370400440532013000", "csrf-token-value", "FREE", "123'"):
        assert secret not in everything

    # And across the form's navigation nothing was lost, and downstream nothing counts twice. (Chromium rejects the
    # form's keepalive request in the page as it navigates, although it arrives: the next page may send those
    # messages again, with the same messageIds, and the API drops them as duplicates.)
    assert {m["messageId"] for m in report.messages("failed")} <= {m["messageId"] for m in report.messages()}
    thanks = [m for m in report.messages() if m["type"] == "page" and m["properties"]["path"] == "/shop/thanks"]
    assert len(thanks) == 1 and thanks[0]["userId"] == "user-77"  # the user id outlives the page
    activity = site.activity(userId="user-77")
    assert sorted(a["messageId"] for a in activity) == sorted({m["messageId"] for m in report.messages()})
    assert sorted(Counter(a["type"] for a in activity).items()) == [("identify", 2), ("page", 2), ("track", 25)]
    traits = site.profile(userId="user-77")["traits"]
    assert traits["email"] == "cy@example.com" and traits["plan"] == "pro"


def test_429_and_5xx_are_retried_with_the_same_message_and_refusals_are_dropped_with_a_warning(
    site: Site, shop: dict[str, str]
) -> None:
    report = site.drive(
        [
            {"serve": {"path": "/shop/", "html": shop["home"]}},
            # Given the API is throttling: the page view is answered 429 once
            {"fail": {"path": "/v1/batch", "status": 429, "times": 1}},
            {"goto": "/shop/"},
            {"waitFor": "window.cxm && cxm.version"},
            {"eval": "cxm.flush(); 1", "as": "_"},
            {"waitForRequests": {"path": "/v1/batch", "outcome": "ok", "count": 1}},
            # When it has a 503 once
            {"fail": {"path": "/v1/batch", "status": 503, "times": 1}},
            {"eval": "cxm.track('Retried'); cxm.flush(); 1", "as": "_"},
            {"waitForRequests": {"path": "/v1/batch", "outcome": "ok", "count": 2}},
            # When it refuses a batch (400), and when it refuses one message of a batch (too large)
            {"fail": {"path": "/v1/batch", "status": 400, "times": 1}},
            {"eval": "cxm.track('Refused'); cxm.flush(); 1", "as": "_"},
            {"waitForRequests": {"path": "/v1/batch", "outcome": "failed", "count": 3}},
            {"eval": "cxm.track('Fine'); cxm.track('Too Big', {blob: 'x'.repeat(40000)}); cxm.flush(); 1", "as": "_"},
            {"waitForRequests": {"path": "/v1/batch", "outcome": "ok", "count": 3}},
            {"sleep": 1500},  # longer than the first back-off (0.5-1 s): a retry of "Refused" would be seen
            {"eval": "cxm.pending()", "as": "pending"},
        ]
    )

    # Then the throttled and failed messages were sent again, same messageId, and arrived
    attempts = [[m.get("event") or m["type"] for m in body["batch"]] for body in report.batches("any")]
    assert attempts == [["page"], ["page"], ["Retried"], ["Retried"], ["Refused"], ["Fine", "Too Big"]]
    assert [r.get("status") for r in report.requests if r["path"] == "/v1/batch"] == [429, 200, 503, 200, 400, 200]
    page_ids = [body["batch"][0]["messageId"] for body in report.batches("any")[:2]]
    assert page_ids[0] == page_ids[1]

    # And the refused ones were dropped, not retried, with the API's reasons in a console warning
    assert report.saved["pending"] == 0
    warnings = [c["text"] for c in report.console if c["type"] == "warning"]
    assert any("refused 1 message(s) (HTTP 400)" in w and '"field":"batch"' in w for w in warnings), warnings
    assert any("refused 1 message(s); they are dropped" in w and "batch[1]" in w for w in warnings), warnings


def test_the_api_serves_the_built_tracker(site: Site) -> None:
    reply = site.api.request("GET", "/v1/tracker.js")
    assert reply.status == 200 and "javascript" in reply.content_type
    assert reply.body == (ROOT / "services" / "events" / "static" / "tracker.min.js").read_text()
