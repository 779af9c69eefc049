"""What the events service deploys: collection endpoints, API docs, email tracking, dedupe table, raw archive."""

from services.common.manifest import Bucket, Function, Route, ServiceManifest, Subscription, Table

# What the events service deploys: the collection endpoints (Segment HTTP Tracking API), the API docs, email open/click
# tracking with the tracker script, the table of recently seen messages (dedupe) and email clicks, and the raw event
# archive (crypto-shredded per person).

SEGMENT_SPEC_ROUTES = tuple(
    Route("POST", f"/v1/{kind}", "write_key")
    for kind in ("batch", "track", "identify", "page", "screen", "group", "alias")
)

# analytics.js 2.0 (@segment/analytics-next) posts to one-letter aliases of the same endpoints (/v1/t is track, /v1/b
# its batch); the letters are services/events/domain/sdk_settings.py's SEGMENT_SHORT_PATHS.
SEGMENT_SHORT_ROUTES = tuple(Route("POST", f"/v1/{letter}", "write_key") for letter in "tpisgab")

# The documents browser SDKs load before sending, each naming the write key in its URL (where the guard reads it):
# Segment's project settings (`cdnURL`) and RudderStack's source config (`configUrl`, which the SDK asks for as
# `/sourceConfig/?writeKey=...`; API Gateway routes the trailing slash to this route).
SDK_SETTINGS_ROUTES = (
    Route("GET", "/v1/projects/{writeKey}/settings", "write_key"),
    Route("GET", "/sourceConfig", "write_key"),
)

# messageIds seen per source within the dedupe window, and the recent link clicks of each sent email; every item
# expires (TTL), nothing here is personal data beyond a profile-free message id.
MESSAGES = Table("messages", env="MESSAGES_TABLE", ttl_attribute="expiresAt")

# The raw event archive: every attributed activity, sealed under its person's key, kept 13 months (as the
# timeline). The key ring holds one key per person; erasure destroys it (docs/decisions.md #18).
ARCHIVE = Bucket("archive", env="ARCHIVE_BUCKET", expire_after_days=395)
ARCHIVE_KEYS = Table("archive-keys", env="ARCHIVE_KEYS_TABLE", sort_key=None, ttl_attribute="expiresAt")

# Optional configuration (documented in docs/collection.md; defaults in services/events/app.py). A deployment sets
# them with `cdk deploy -c functionSettings='{"DEDUPE_WINDOW_HOURS": "48"}'`.
COLLECTION_SETTINGS = (
    "DEDUPE_WINDOW_HOURS",
    "GEOIP_DATABASE",
    "IP_ANONYMISATION",
    "SEARCH_QUERY_PARAMETERS",
    "INTERNAL_DOMAINS",
)
TRACKING_SETTINGS = (*COLLECTION_SETTINGS, "TRACKING_TOKEN_DAYS", "MACHINE_AFTER_DELIVERY_SECONDS")

MANIFEST = ServiceManifest(
    name="events",
    tables=(MESSAGES, ARCHIVE_KEYS),
    buckets=(ARCHIVE,),
    functions=(
        Function(
            name="api",
            handler="services.events.handlers.api.handler",
            description="Collects Segment-spec messages: validates, dedupes, enriches, publishes EventCollected.",
            routes=(
                *SEGMENT_SPEC_ROUTES,
                *SEGMENT_SHORT_ROUTES,
                *SDK_SETTINGS_ROUTES,
                Route("GET", "/v1/openapi.json", "public"),
                Route("GET", "/v1/docs", "public"),
                Route("GET", "/v1/docs/assets/{version}/{asset}", "public"),  # Swagger UI's own files, pinned
            ),
            tables={"messages": "write"},
            publishes=True,
            links_to_api=True,  # the SDK settings documents point browsers at the public API
            settings=COLLECTION_SETTINGS,
            memory_mb=1024,
        ),
        Function(
            name="tracking",
            handler="services.events.handlers.tracking.handler",
            description="Email open pixel and click redirect (signed tokens), the tracker script and analytics.js 2.0.",
            routes=(
                Route("GET", "/v1/t/open/{token}", "public"),
                Route("GET", "/v1/t/click/{token}", "public"),
                Route("GET", "/v1/tracker.js", "public"),
                # analytics.js 2.0 for Segment's snippet pointed here, and the chunks it loads (a pinned copy)
                Route("GET", "/analytics.js/v1/{writeKey}/analytics.min.js", "public"),
                Route("GET", "/analytics-next/bundles/{bundle}", "public"),
            ),
            tables={"messages": "write"},
            publishes=True,
            secrets=("link-signing",),
            settings=TRACKING_SETTINGS,
            memory_mb=512,
        ),
        Function(
            name="archive",
            handler="services.events.handlers.archive.handler",
            description="Keeps attributed activity in the raw event archive, sealed per person; erasure destroys "
            "the person's key (crypto-shredding).",
            subscriptions=(
                Subscription(
                    "archive-activity", ("ActivityRecorded", "ProfileErased"), sources=("cxm.identity",), batch_size=10
                ),
            ),
            tables={"archive-keys": "write"},
            buckets={"archive": "write"},
            timeout_seconds=30,
            memory_mb=512,
        ),
    ),
)
