"""What the events service deploys: the collection endpoints (Segment HTTP Tracking API) and the API docs."""

from services.common.manifest import Function, Route, ServiceManifest

SEGMENT_SPEC_ROUTES = tuple(
    Route("POST", f"/v1/{kind}", "write_key")
    for kind in ("batch", "track", "identify", "page", "screen", "group", "alias")
)

MANIFEST = ServiceManifest(
    name="events",
    functions=(
        Function(
            name="api",
            handler="services.events.handlers.api.handler",
            description="Collects Segment-spec messages, validates and enriches them, publishes EventCollected.",
            routes=(
                *SEGMENT_SPEC_ROUTES,
                Route("GET", "/v1/openapi.json", "public"),
                Route("GET", "/v1/docs", "public"),
            ),
            publishes=True,
            memory_mb=1024,
        ),
    ),
)
