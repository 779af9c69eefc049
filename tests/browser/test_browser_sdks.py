"""The two most deployed browser SDKs, unmodified from node_modules, on a customer's site pointed at the local cloud:
Segment's analytics.js 2.0 (`@segment/analytics-next`) and RudderStack's JavaScript SDK v3. The site is another
origin (`localhost`) than the API (`127.0.0.1`), so CORS is exercised as in production."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import Report, Site

SEGMENT_UMD = "node_modules/@segment/analytics-next/dist/umd/index.js"  # global `AnalyticsNext`
# The `/bundled` build (`import { RudderAnalytics } from "@rudderstack/analytics-js/bundled"`) has its plugins inside;
# the default build would download them from RudderStack's CDN.
RUDDERSTACK_UMD = "node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js"  # `rudderanalytics`

SITE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
{library}</head><body><h1>{title}</h1><script>
window.done = false; window.failed = null;
{script}
</script></body></html>"""

# What the site does on a page: a page view, the shopper signs in, adds a product to her cart.
SEGMENT_CALLS = """
(async () => {{
  await analytics.page("Home");
  await analytics.identify("{user}", {{email: "{user}@shop.example", plan: "pro"}});
  await analytics.track("Product Added", {{sku: "CM-1", price: 99.5}});
  window.done = true;
}})().catch((error) => {{ window.failed = String(error); }});
"""

SEGMENT_CDN_URL = (
    """
const analytics = AnalyticsNext.AnalyticsBrowser.load({{writeKey: "{key}", cdnURL: "{api}"}});
window.analytics = analytics;
"""
    + SEGMENT_CALLS
)

SEGMENT_API_HOST = (
    """
const analytics = AnalyticsNext.AnalyticsBrowser.load(
  {{writeKey: "{key}", cdnSettings: {{integrations: {{"Segment.io": {{apiKey: "{key}"}}}}}}}},
  {{integrations: {{"Segment.io": {{
    apiHost: "{host}/v1", protocol: "http",
    deliveryStrategy: {{strategy: "batching", config: {{size: 3, timeout: 500}}}},
  }}}}}},
);
window.analytics = analytics;
"""
    + SEGMENT_CALLS
)

# Segment's snippet (5.2.0) as a site has it, with two changes: the script's host, and `_cdn` (which the library
# derives from an https script URL by itself; the local cloud is http). The calls queue until the library is there.
SEGMENT_SNIPPET = """
!function(){{var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)
window.console&&console.error&&console.error("Segment snippet included twice.");else{{analytics.invoked=!0;
analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group","track",
"ready","alias","debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddleware",
"setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e){{return function(){{
if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);
if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){{var c=document.querySelector(
"link[rel='canonical']");n.push({{__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,
s:location.search,t:document.title,r:document.referrer}})}}n.unshift(e);analytics.push(n);return analytics}}}};
for(var n=0;n<analytics.methods.length;n++){{var key=analytics.methods[n];analytics[key]=analytics.factory(key)}}
analytics.load=function(key,n){{var t=document.createElement("script");t.type="text/javascript";t.async=!0;
t.setAttribute("data-global-segment-analytics-key",i);t.src="{api}/analytics.js/v1/" + key + "/analytics.min.js";
var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n}};
analytics._writeKey="{key}";analytics._cdn="{api}";analytics.SNIPPET_VERSION="5.2.0";
analytics.load("{key}");
analytics.page("Home");
analytics.identify("{user}", {{email: "{user}@shop.example", plan: "pro"}});
analytics.track("Product Added", {{sku: "CM-1", price: 99.5}});
analytics.ready(function() {{ window.done = true; }});
}}}}();
"""

RUDDERSTACK = """
const rudder = new rudderanalytics.RudderAnalytics();
window.rudder = rudder;
rudder.load("{key}", "{api}", {{configUrl: "{api}", logLevel: "WARN"}});
rudder.ready(() => {{
  rudder.page("Shop", "Home");
  rudder.identify("{user}", {{email: "{user}@shop.example", plan: "pro"}});
  rudder.track("Product Added", {{sku: "CM-1", price: 99.5}});
  window.done = true;
}});
"""


def run(site: Site, sdk_file: str | None, script: str, user: str, waits: list[dict[str, Any]]) -> Report:
    """The site's page on another origin, with the SDK (`sdk_file` at /lib/sdk.js) and `script`; after `waits`, the
    URLs the page loaded anything from are saved as `loaded`."""
    api = site.url.rstrip("/")
    host = urlsplit(api).netloc
    library = '<script src="/lib/sdk.js"></script>' if sdk_file else ""
    calls = script.format(key=site.api.write_key, api=api, host=host, user=user)
    page = SITE.format(title="Coffee shop", library=library, script=calls)
    origin = f"http://localhost:{urlsplit(api).port}"  # another origin than the API's 127.0.0.1
    return site.drive(
        [
            {"grant": ["local-network-access"]},
            *([{"serve": {"path": "/lib/sdk.js", "file": sdk_file}}] if sdk_file else []),
            {"serve": {"path": "/shop/", "html": page}},
            {"goto": f"{origin}/shop/"},
            {"waitFor": "window.done || window.failed", "timeout": 15000},
            {"eval": "window.failed", "as": "failed"},
            *waits,
            {"eval": "performance.getEntriesByType('resource').map((entry) => entry.name)", "as": "loaded"},
        ]
    )


def assert_only_the_platform(site: Site, report: Report) -> None:
    """The page loaded nothing from anywhere but the platform and the site itself (no CDN of the SDK's vendor), and
    logged no error."""
    api = site.url.rstrip("/")
    own = f"http://localhost:{urlsplit(api).port}/"
    elsewhere = [url for url in report.saved["loaded"] if not url.startswith((f"{api}/", own))]
    assert elsewhere == [], elsewhere
    assert not [c for c in report.console if c["type"] == "error"], report.console


def answered(report: Report, path: str) -> list[dict[str, Any]]:
    return [r for r in report.requests if r["path"] == path and r["method"] != "OPTIONS"]


def assert_profile(site: Site, user: str, report: Report) -> None:
    """The three calls reached one profile: the page view (anonymous then), the traits, the cart event."""
    assert report.saved["failed"] is None, report.console
    profile = site.profile(userId=user)
    assert profile["traits"]["email"] == f"{user}@shop.example" and profile["traits"]["plan"] == "pro"
    activity = site.activity(userId=user)
    kinds = sorted((a["type"], a.get("event") or a.get("name") or "") for a in activity)
    assert kinds == [("identify", ""), ("page", "Home"), ("track", "Product Added")], activity
    added = next(a for a in activity if a["type"] == "track")
    assert added["properties"] == {"sku": "CM-1", "price": 99.5}


def test_analytics_next_with_its_cdn_url_here_loads_our_settings_and_sends_to_the_short_endpoints(site: Site) -> None:
    # Given a site whose only change is analytics.js 2.0's `cdnURL`, pointed at the platform
    report = run(
        site,
        SEGMENT_UMD,
        SEGMENT_CDN_URL,
        "ajs-cdn-user",
        [{"waitForRequests": {"path": "/v1/t", "outcome": "ok", "count": 1}}],
    )

    # Then the library loaded its settings from us (cross-origin, no header) and sent each call to its one-letter
    # endpoint, as text/plain with the write key inside, and each was accepted
    (settings,) = answered(report, f"/v1/projects/{site.api.write_key}/settings")
    assert settings["status"] == 200 and settings["answer"]["integrations"]["Segment.io"]["protocol"] == "http"
    for path, kind in (("/v1/p", "page"), ("/v1/i", "identify"), ("/v1/t", "track")):
        (call,) = answered(report, path)
        assert call["status"] == 200, call
        assert call["body"]["type"] == kind and call["body"]["writeKey"] == site.api.write_key
    # And they reached one profile, and the page loaded nothing from elsewhere
    assert_profile(site, "ajs-cdn-user", report)
    assert_only_the_platform(site, report)


def test_analytics_next_with_its_api_host_here_sends_batches_that_reach_the_profile(site: Site) -> None:
    # Given an npm site that sets the Segment.io apiHost (settings given inline) and batches its calls
    report = run(
        site,
        SEGMENT_UMD,
        SEGMENT_API_HOST,
        "ajs-host-user",
        [{"waitForRequests": {"path": "/v1/b", "outcome": "ok", "count": 1}}],
    )

    # Then no settings were fetched, and the batch went to /v1/b and was accepted whole
    assert not [r for r in report.requests if r["path"].startswith("/v1/projects/")]
    batches = answered(report, "/v1/b")
    assert all(b["status"] == 200 for b in batches), batches
    sent = [m["type"] for b in batches for m in b["body"]["batch"]]
    assert sorted(sent) == ["identify", "page", "track"]
    assert sum(b["answer"]["accepted"] for b in batches) == 3
    assert_profile(site, "ajs-host-user", report)
    assert_only_the_platform(site, report)


def test_segments_snippet_loading_the_library_from_here_sends_everything_to_the_profile(site: Site) -> None:
    # Given a site with Segment's snippet whose script host and `_cdn` are the platform
    report = run(
        site,
        None,  # the snippet loads the library itself
        SEGMENT_SNIPPET,
        "ajs-snippet-user",
        [{"waitForRequests": {"path": "/v1/t", "outcome": "ok", "count": 1}}],
    )

    # Then the library came from the platform, loaded its settings from it, and the queued calls were sent
    library = f"{site.url.rstrip('/')}/analytics.js/v1/{site.api.write_key}/analytics.min.js"
    assert library in report.saved["loaded"]
    assert_only_the_platform(site, report)
    (settings,) = answered(report, f"/v1/projects/{site.api.write_key}/settings")
    assert settings["status"] == 200
    for path in ("/v1/p", "/v1/i", "/v1/t"):
        assert [c["status"] for c in answered(report, path)] == [200]
    assert_profile(site, "ajs-snippet-user", report)


def test_rudderstack_with_config_and_data_plane_urls_here_reaches_the_profile(site: Site) -> None:
    # Given a site loading RudderStack's SDK v3 with configUrl and dataPlaneUrl pointed at the platform
    report = run(
        site,
        RUDDERSTACK_UMD,
        RUDDERSTACK,
        "rs-user",
        [{"waitForRequests": {"path": "/v1/track", "outcome": "ok", "count": 1}}],
    )

    # Then its page, identify and track went to the long endpoints, were accepted, and reached one profile
    for path in ("/v1/page", "/v1/identify", "/v1/track"):
        calls = answered(report, path)
        assert [c["status"] for c in calls] == [200], calls
    assert_profile(site, "rs-user", report)
    assert_only_the_platform(site, report)
