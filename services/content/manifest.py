"""What the content service deploys: slots, the catalogue, email templates, experiments; decisions; the visitor
read model, content analytics and experiment counts its consumer keeps."""

from services.common.manifest import Function, Route, ServiceManifest, Subscription, Table

# expiresAt: visitor state, exposures and markers are personal data, kept 13 months after their last write
CONTENT = Table("content", env="CONTENT_TABLE", ttl_attribute="expiresAt")

MANIFEST = ServiceManifest(
    name="content",
    tables=(CONTENT,),
    functions=(
        Function(
            name="api",
            handler="services.content.handlers.api.handler",
            description="Decides slots for a visitor (one read, at most one write); admin API for slots, the "
            "catalogue, email templates, experiments and content analytics.",
            routes=(
                Route("GET", "/v1/decide", "write_key", refuses=(404,)),
                Route("GET", "/v1/content/slots", "admin"),
                Route("PUT", "/v1/content/slots/{slotId}", "admin"),
                Route("GET", "/v1/content/slots/{slotId}", "admin"),
                Route("DELETE", "/v1/content/slots/{slotId}", "admin"),
                Route("GET", "/v1/content/items", "admin"),
                Route("POST", "/v1/content/items/import", "admin"),
                Route("PUT", "/v1/content/items/{itemId}", "admin"),
                Route("GET", "/v1/content/items/{itemId}", "admin"),
                Route("DELETE", "/v1/content/items/{itemId}", "admin"),
                Route("GET", "/v1/content/templates", "admin"),
                Route("POST", "/v1/content/templates/preview", "admin"),  # a draft; `preview` is no template id
                Route("PUT", "/v1/content/templates/{templateId}", "admin"),
                Route("GET", "/v1/content/templates/{templateId}", "admin"),
                Route("DELETE", "/v1/content/templates/{templateId}", "admin", refuses=(409,)),
                Route("POST", "/v1/content/templates/{templateId}/preview", "admin"),
                Route("POST", "/v1/content/templates/{templateId}/test-send", "admin"),
                Route("GET", "/v1/content/analytics", "admin"),
                Route("GET", "/v1/experiments", "admin"),
                Route("PUT", "/v1/experiments/{experimentId}", "admin", refuses=(409,)),
                Route("GET", "/v1/experiments/{experimentId}", "admin"),
                Route("POST", "/v1/experiments/{experimentId}/start", "admin", refuses=(409,)),
                Route("POST", "/v1/experiments/{experimentId}/stop", "admin", refuses=(409,)),
                Route("GET", "/v1/experiments/{experimentId}/results", "admin"),
            ),
            tables={"content": "write"},
            invokes=("segments.lookup",),
            sends_email=True,
        ),
        Function(
            name="consumer",
            handler="services.content.handlers.consumer.handler",
            description="Keeps the visitor read model decisions read (activity, segments, scores, answers, traits, "
            "consent, merges); counts content analytics and experiment conversions; erases a person.",
            subscriptions=(
                Subscription("activity", detail_types=("ActivityRecorded",), sources=("cxm.identity",)),
                Subscription(
                    "segment-changed",
                    detail_types=(
                        "SegmentEntered",
                        "SegmentExited",
                        "ScoreChanged",
                        "QuestionnaireSegmentAssigned",
                    ),
                    sources=("cxm.segments",),
                ),
                Subscription(
                    "profile-changed",
                    detail_types=("ProfileUpdated", "ConsentChanged", "ProfilesMerged", "ProfileErased"),
                    sources=("cxm.identity",),
                ),
            ),
            tables={"content": "write"},
        ),
        Function(
            name="render",
            handler="services.content.handlers.render.handler",
            description="Internal API (IAM-invoked by journeys): an email template rendered for one profile.",
            tables={"content": "write"},
        ),
        Function(
            name="privacy",
            handler="services.content.handlers.privacy.handler",
            description="Internal API (IAM-invoked by identity): a person's visitor state and exposures, for export.",
            tables={"content": "read"},
        ),
    ),
)
