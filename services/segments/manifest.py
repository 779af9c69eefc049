"""What the segments service deploys: definitions, per-profile rollups, scores, memberships and statistics."""

from services.common.manifest import Function, Index, Route, Schedule, ServiceManifest, Subscription, Table

SEGMENTS = Table(
    "segments",
    env="SEGMENTS_TABLE",
    ttl_attribute="expiresAt",
    indexes=(Index("due", partition_key="dueShard", sort_key="dueAt"),),
)

MANIFEST = ServiceManifest(
    name="segments",
    tables=(SEGMENTS,),
    functions=(
        Function(
            name="api",
            handler="services.segments.handlers.api.handler",
            description="Admin API: segments, scoring plans, questionnaires, previews and analytics.",
            routes=(
                Route("POST", "/v1/segments", "admin"),
                Route("GET", "/v1/segments", "admin"),
                Route("POST", "/v1/segments/preview", "admin"),
                Route("GET", "/v1/segments/overlap", "admin"),
                Route("GET", "/v1/segments/memberships/{profileId}", "admin"),
                Route("GET", "/v1/segments/{segmentId}", "admin"),
                Route("PUT", "/v1/segments/{segmentId}", "admin", refuses=(409,)),
                Route("GET", "/v1/segments/{segmentId}/versions", "admin"),
                Route("GET", "/v1/segments/{segmentId}/sizes", "admin"),
                Route("POST", "/v1/scoring/plans", "admin"),
                Route("GET", "/v1/scoring/plans", "admin"),
                Route("GET", "/v1/scoring/plans/{planId}", "admin"),
                Route("PUT", "/v1/scoring/plans/{planId}", "admin", refuses=(409,)),
                Route("GET", "/v1/scoring/plans/{planId}/pyramid", "admin"),
                Route("POST", "/v1/questionnaires", "admin"),
                Route("GET", "/v1/questionnaires", "admin"),
                Route("GET", "/v1/questionnaires/{questionnaireId}", "admin"),
                Route("PUT", "/v1/questionnaires/{questionnaireId}", "admin", refuses=(409,)),
                Route("GET", "/v1/questionnaires/{questionnaireId}/movements", "admin"),
            ),
            tables={"segments": "write"},
            publishes=True,  # backfill requests
            timeout_seconds=29,  # previews scan profiles; API Gateway's own limit is 30 s
        ),
        Function(
            name="on_activity_recorded",
            handler="services.segments.handlers.on_activity_recorded.handler",
            description="Updates the profile's rollup, scores and questionnaire segment and evaluates the segments "
            "the activity or trait change can change; folds a merged profile's rollup into the survivor's (and back "
            "on an un-merge); erases the rollup on ProfileErased.",
            subscriptions=(
                Subscription(
                    "activity-recorded",
                    detail_types=(
                        "ActivityRecorded",
                        "ProfileUpdated",
                        "ProfilesMerged",
                        "ProfilesUnmerged",
                        "ProfileErased",
                    ),
                    sources=("cxm.identity",),
                ),
                Subscription("score-points", detail_types=("ScorePointsRequested",), sources=("cxm.journeys",)),
            ),
            tables={"segments": "write"},
            publishes=True,
        ),
        Function(
            name="on_backfill_requested",
            handler="services.segments.handlers.on_backfill_requested.handler",
            description="Evaluates a new or changed segment over one page of existing profiles, then asks for the "
            "next page (batched fan-out).",
            subscriptions=(
                Subscription(
                    "backfill-requested",
                    detail_types=("SegmentBackfillRequested",),
                    sources=("cxm.segments",),
                    batch_size=1,
                ),
            ),
            tables={"segments": "write"},
            publishes=True,
            timeout_seconds=120,
            memory_mb=1024,
        ),
        Function(
            name="privacy",
            handler="services.segments.handlers.privacy.handler",
            description="Internal API (IAM-invoked by identity): a person's memberships, scores, behaviour counters "
            "and questionnaire answers, for export.",
            tables={"segments": "read"},
        ),
        Function(
            name="lookup",
            handler="services.segments.handlers.lookup.handler",
            description="Internal API (IAM-invoked by journeys): a profile's memberships and scores for journey "
            "conditions; the ids of existing segments and plans for journey validation.",
            tables={"segments": "read"},
        ),
        Function(
            name="sweep",
            handler="services.segments.handlers.sweep.handler",
            description="Applies what time alone changes (windows passing, decay) to due profiles, every minute.",
            schedules=(Schedule("every-minute", "rate(1 minute)"),),
            tables={"segments": "write"},
            publishes=True,
            timeout_seconds=60,
        ),
    ),
)
