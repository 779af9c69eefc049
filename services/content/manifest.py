"""What the content service deploys: slots and variants, decisions, and its segment-membership read model."""

from services.common.manifest import Function, Route, ServiceManifest, Subscription, Table

CONTENT = Table("content", env="CONTENT_TABLE")

MANIFEST = ServiceManifest(
    name="content",
    tables=(CONTENT,),
    functions=(
        Function(
            name="api",
            handler="services.content.handlers.api.handler",
            description="Decides the variant of a slot for a visitor; admin API for slots and variants.",
            routes=(
                Route("GET", "/v1/decide", "write_key"),
                Route("PUT", "/v1/content/slots/{slotId}", "admin"),
                Route("GET", "/v1/content/slots/{slotId}", "admin"),
            ),
            tables={"content": "write"},
            invokes=("identity.lookup",),
        ),
        Function(
            name="on_segment_changed",
            handler="services.content.handlers.on_segment_changed.handler",
            description="Keeps the read model of which profile is in which segment, for decisions.",
            subscriptions=(
                Subscription(
                    "segment-changed", detail_types=("SegmentEntered", "SegmentExited"), sources=("cxm.segments",)
                ),
                Subscription("profile-erased", detail_types=("ProfileErased",), sources=("cxm.identity",)),
            ),
            tables={"content": "write"},
        ),
        Function(
            name="privacy",
            handler="services.content.handlers.privacy.handler",
            description="Internal API (IAM-invoked by identity): a person's content read model, for export.",
            tables={"content": "read"},
        ),
    ),
)
