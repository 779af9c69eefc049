"""The tracker in headless Chromium on the demo site (`/demo/`, consent required): page views, the anonymous-id
cookie, the newsletter form, consent, an API that is down, site search."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from tests.browser.conftest import Site

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ACCEPT = [{"click": "#accept"}, {"waitFor": "cxm.pending() === 0"}]
SENT = {"waitFor": "cxm.pending() === 0"}
FLUSHED = {"eval": "cxm.flush().then(() => cxm.pending())", "as": "pendingAfterFlush"}


def pages(activity: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in activity if a["type"] == "page"]


def paths(activity: list[dict[str, Any]]) -> list[str]:
    return sorted(p["properties"]["path"] for p in pages(activity))


def events(activity: list[dict[str, Any]]) -> list[str]:
    return sorted(a["event"] for a in activity if a["type"] == "track")


def test_a_page_view_reaches_a_profile_whose_anonymous_id_is_the_first_party_cookie(site: Site) -> None:
    # Given a visitor from the spring newsletter who accepts the cookie banner
    report = site.drive(
        [
            {"goto": "/demo/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"},
            *ACCEPT,
            # When she opens the recipes (an in-app navigation) and the tracker's 2-second flush passes
            {"click": "nav a[href='#/recipes']"},
            {"eval": "Date.now()", "as": "clickedAt"},
            SENT,
            {"eval": "Date.now()", "as": "sentAt"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
            {"cookies": "cookies"},
            # And leaves at once after a custom event: the page hide hands it to a beacon
            {"eval": "cxm.track('Recipe Shared', {recipe: 'pancakes'}); cxm.pending()", "as": "beforeLeaving"},
            # And comes back later: the same anonymous id
            {"goto": "/demo/"},
            {"eval": "cxm.anonymousId()", "as": "anonymousIdLater"},
            FLUSHED,
        ]
    )

    # Then the cookie cxm_aid holds a UUID v4 for a year, first-party, SameSite=Lax (not Secure: plain http here)
    anonymous_id = report.saved["anonymousId"]
    cookie = report.cookie("cookies")
    assert cookie is not None and cookie["value"] == anonymous_id and UUID4.match(anonymous_id)
    assert cookie["sameSite"] == "Lax" and cookie["path"] == "/" and cookie["secure"] is False
    assert abs(cookie["expires"] - (time.time() + 365 * 86400)) < 86400
    assert report.saved["anonymousIdLater"] == anonymous_id
    assert 1500 <= report.saved["sentAt"] - report.saved["clickedAt"] <= 10000  # the timed flush, not at once

    # And the page views carry path, title, referrer, UTM campaign and the browser context
    first = report.messages()[0]
    assert first["type"] == "page" and UUID4.match(first["messageId"])
    assert first["properties"]["path"] == "/" and "Hearth & Table" in first["properties"]["title"]
    assert first["properties"]["search"] == "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    assert first["context"]["campaign"] == {"source": "newsletter", "medium": "email", "name": "spring"}
    assert first["context"]["library"] == {"name": "cxm.js", "version": "1.0.0"}
    assert first["context"]["timezone"] and first["context"]["locale"] and "Chrome" in first["context"]["userAgent"]
    assert first["context"]["page"]["url"].endswith("/?utm_source=newsletter&utm_medium=email&utm_campaign=spring")
    dt.datetime.fromisoformat(first["originalTimestamp"])
    assert all(body["writeKey"] == site.api.write_key and body["sentAt"] for body in report.batches())

    # And the profile of that anonymous id has them
    activity = site.activity(anonymousId=anonymous_id)
    assert paths(activity) == ["/", "/", "/recipes"]
    assert [p["context"].get("campaign", {}).get("name") for p in pages(activity)].count("spring") == 2
    # (the custom event left in the page-hide beacon: no fetch carried it, and it arrived once)
    assert report.saved["beforeLeaving"] == 1
    assert "Recipe Shared" not in [m.get("event") for m in report.messages("any")]
    assert events(activity) == ["Recipe Shared"]


def test_the_newsletter_form_identifies_the_visitor_by_email(site: Site) -> None:
    # Given a visitor who read the home page
    report = site.drive(
        [
            {"goto": "/demo/"},
            *ACCEPT,
            # When she subscribes to the newsletter
            {"fill": ["#newsletter [name=email]", "Bea.Cook@Example.com"]},
            {"fill": ["#newsletter [name=firstName]", "Bea"]},
            {"click": "#newsletter button[type=submit]"},
            SENT,
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
            {"eval": "document.querySelector('#thanks').hidden", "as": "thanksHidden"},
        ]
    )
    assert report.saved["thanksHidden"] is False

    # Then an identify with the email, and the form's other (non-hidden) fields, were sent
    identify, submitted = report.messages()[1:]
    assert identify["type"] == "identify" and identify["traits"] == {"email": "Bea.Cook@Example.com"}
    assert submitted["event"] == "Form Submitted"
    assert submitted["properties"] == {"form": "newsletter", "fields": {"firstName": "Bea", "topics": ["recipes"]}}

    # And the admin lookup by email finds the profile of her cookie, with the earlier page view
    profile = site.profile(email="bea.cook@example.com")
    assert profile["profileId"] == site.profile(anonymousId=report.saved["anonymousId"])["profileId"]
    assert profile["traits"]["email"] == "Bea.Cook@Example.com"
    activity = site.activity(email="bea.cook@example.com")
    assert paths(activity) == ["/"] and events(activity) == ["Form Submitted"]


def test_nothing_is_sent_or_stored_before_consent_and_the_queued_page_view_arrives_after_accept(site: Site) -> None:
    # Given a visitor who has not answered the consent banner yet
    report = site.drive(
        [
            {"goto": "/demo/"},
            {"sleep": 2300},  # longer than the flush interval (2 s)
            {"eval": "cxm.pending()", "as": "pending"},
            {"eval": "cxm.anonymousId()", "as": "anonymousIdBefore"},
            {"eval": "document.querySelector('#consent').hidden", "as": "bannerHidden"},
            {"cookies": "cookiesBefore"},
            {"storage": "storageBefore"},
            {"eval": "Date.now()", "as": "acceptedAt"},
            # When she accepts
            *ACCEPT,
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
            {"cookies": "cookies"},
        ]
    )

    # Then before Accept: the page view waited in memory; no request, no cookie, no storage, no id given out
    assert report.saved["pending"] == 1 and report.saved["bannerHidden"] is False
    assert report.saved["anonymousIdBefore"] is None
    assert report.cookie("cookiesBefore") is None and report.saved["storageBefore"] == {}
    accepted_at = report.saved["acceptedAt"]
    assert [r["at"] >= accepted_at for r in report.requests if r["path"] == "/v1/batch"] == [True]
    decisions = [r for r in report.requests if r["path"] == "/v1/decide"]
    assert decisions and all("anonymousId" not in r["query"] for r in decisions if r["at"] < accepted_at)

    # And after Accept the queued page view arrived, under the id now in the cookie
    anonymous_id = report.saved["anonymousId"]
    assert report.cookie("cookies")["value"] == anonymous_id  # type: ignore[index]
    assert [m["type"] for m in report.messages()] == ["page"]
    assert paths(site.activity(anonymousId=anonymous_id)) == ["/"]
    assert any(anonymous_id in r["query"] for r in decisions if r["at"] >= accepted_at)  # the hero, now personal


def test_decline_drops_the_queue_and_is_remembered(site: Site) -> None:
    # Given a visitor who declines
    report = site.drive(
        [
            {"goto": "/demo/"},
            {"click": "#decline"},
            {"eval": "cxm.pending()", "as": "pending"},
            # When she comes back and the site calls track
            {"goto": "/demo/#/recipes"},
            {"eval": "cxm.track('Recipe Saved', {recipe: 'risotto'}); cxm.pending()", "as": "pendingLater"},
            {"sleep": 2300},  # longer than the flush interval (2 s)
            {"eval": "document.querySelector('#consent').hidden", "as": "bannerHidden"},
            {"eval": "cxm.consentState()", "as": "state"},
            {"cookies": "cookies"},
            {"storage": "storage"},
        ]
    )

    # Then nothing was sent, no cookie set; only the refusal is remembered, and the banner stays away
    assert report.saved["pending"] == 0 and report.saved["pendingLater"] == 0
    assert report.batches("any") == []
    assert report.cookie("cookies") is None
    assert report.saved["storage"] == {"cxm_consent": "denied"}
    assert report.saved["state"] == "denied" and report.saved["bannerHidden"] is True


def test_messages_wait_in_local_storage_while_the_api_is_down_and_arrive_once_when_it_is_back(site: Site) -> None:
    # Given the API refuses connections
    report = site.drive(
        [
            {"block": "/v1/batch"},
            {"goto": "/demo/"},
            *ACCEPT[:1],
            {"waitForRequests": {"path": "/v1/batch", "outcome": "failed", "count": 2}},
            {"storage": "firstPage"},
            {"eval": "document.querySelector('#hero h1').textContent", "as": "hero"},
            # When the visitor opens another page meanwhile (a new document: the queue must survive it)
            {"goto": "/demo/?from=reload#/recipes/risotto"},
            {"waitForRequests": {"path": "/v1/batch", "outcome": "failed", "count": 4, "timeout": 15000}},
            {"eval": "cxm.pending()", "as": "pendingWhileDown"},
            {"storage": "secondPage"},
            # And the API comes back
            {"unblock": "/v1/batch"},
            {"waitFor": "cxm.pending() === 0", "timeout": 20000},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
            {"storage": "after"},
        ]
    )

    # Then the page worked, and the queue was in localStorage on both pages
    assert report.saved["hero"]
    queued = [v for k, v in report.saved["firstPage"].items() if k.startswith("cxm_q:")]
    assert len(queued) == 1 and '"type":"page"' in queued[0]
    assert report.saved["pendingWhileDown"] == 2
    assert len([k for k in report.saved["secondPage"] if k.startswith("cxm_q:")]) == 1
    assert not [k for k in report.saved["after"] if k.startswith("cxm_q:")]

    # And every retry carried the same messages (same messageId, same originalTimestamp, a new sentAt)
    failed = report.messages("failed")
    delivered = report.messages("ok")
    assert {m["messageId"] for m in failed} == {m["messageId"] for m in delivered}
    assert len(delivered) == len({m["messageId"] for m in delivered}) == 2
    first_id = delivered[0]["messageId"]
    attempts = [b for b in report.batches("any") if any(m["messageId"] == first_id for m in b["batch"])]
    assert len(attempts) >= 3 and len({b["sentAt"] for b in attempts}) == len(attempts)
    assert len({m["originalTimestamp"] for b in attempts for m in b["batch"] if m["messageId"] == first_id}) == 1

    # And downstream each page view is there exactly once
    activity = site.activity(anonymousId=report.saved["anonymousId"])
    assert paths(activity) == ["/", "/recipes/risotto"]
    assert sorted(a["messageId"] for a in activity) == sorted(m["messageId"] for m in delivered)


def test_a_site_search_is_tracked_with_its_query(site: Site) -> None:
    # Given a visitor on the home page; When she searches for "pasta" with the search box
    report = site.drive(
        [
            {"goto": "/demo/"},
            *ACCEPT,
            {"fill": ["header input[name=q]", "pasta"]},
            {"press": ["header input[name=q]", "Enter"]},
            {"waitFor": "location.search === '?q=pasta' && cxm.pending() === 0"},
            {"eval": "document.querySelector('#view').textContent", "as": "results"},
            {"eval": "cxm.anonymousId()", "as": "anonymousId"},
        ]
    )
    assert "Pasta al limone" in report.saved["results"]

    # Then "Site Searched" with the query is in her activity, next to the search page view
    activity = site.activity(anonymousId=report.saved["anonymousId"])
    searches = [a for a in activity if a.get("event") == "Site Searched"]
    assert [s["properties"]["query"] for s in searches] == ["pasta"]
    assert paths(activity) == ["/", "/search"]
    assert [p["properties"]["search"] for p in pages(activity) if p["properties"]["path"] == "/search"] == ["?q=pasta"]
