"""What the segments service deploys: segment definitions, per-profile rollups and memberships."""

from services.common.manifest import Function, Index, Route, Schedule, ServiceManifest, Subscription, Table

SEGMENTS = Table("segments", env="SEGMENTS_TABLE", indexes=(Index("due", partition_key="dueShard", sort_key="dueAt"),))

MANIFEST = ServiceManifest(
    name="segments",
    tables=(SEGMENTS,),
    functions=(
        Function(
            name="api",
            handler="services.segments.handlers.api.handler",
            description="Admin API: define and list segments.",
            routes=(
                Route("POST", "/v1/segments", "admin"),
                Route("GET", "/v1/segments", "admin"),
                Route("GET", "/v1/segments/{segmentId}", "admin"),
            ),
            tables={"segments": "write"},
        ),
        Function(
            name="on_activity_recorded",
            handler="services.segments.handlers.on_activity_recorded.handler",
            description="Updates the profile's rollup and evaluates the segments the activity can change.",
            subscriptions=(
                Subscription("activity-recorded", detail_types=("ActivityRecorded",), sources=("cxm.identity",)),
            ),
            tables={"segments": "write"},
            publishes=True,
        ),
        Function(
            name="sweep",
            handler="services.segments.handlers.sweep.handler",
            description="Exits members whose rolling window has passed, with no event needed from the visitor.",
            schedules=(Schedule("every-minute", "rate(1 minute)"),),
            tables={"segments": "write"},
            publishes=True,
            timeout_seconds=60,
        ),
    ),
)
