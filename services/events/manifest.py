"""What the events service deploys: collection endpoints, API docs, email tracking, dedupe table, raw archive."""

from services.common.manifest import Bucket, Function, Route, ServiceManifest, Subscription, Table

# What the events service deploys: the collection endpoints (Segment HTTP Tracking API), the API docs, email open/click
# tracking with the tracker script, the table of recently seen messages (dedupe) and email clicks, and the raw event
# archive (crypto-shredded per person).

SEGMENT_SPEC_ROUTES = tuple(
    Route("POST", f"/v1/{kind}", "write_key")
    for kind in ("batch", "track", "identify", "page", "screen", "group", "alias")
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
                Route("GET", "/v1/openapi.json", "public"),
                Route("GET", "/v1/docs", "public"),
            ),
            tables={"messages": "write"},
            publishes=True,
            settings=COLLECTION_SETTINGS,
            memory_mb=1024,
        ),
        Function(
            name="tracking",
            handler="services.events.handlers.tracking.handler",
            description="Email open pixel and click redirect (signed tokens), and the tracker script.",
            routes=(
                Route("GET", "/v1/t/open/{token}", "public"),
                Route("GET", "/v1/t/click/{token}", "public"),
                Route("GET", "/v1/tracker.js", "public"),
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
