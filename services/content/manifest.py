"""What the content service deploys: slots and variants, decisions, its segment-membership read model and the
exposures its decisions leave (which profile was served which variant of a slot)."""

from services.common.manifest import Function, Route, ServiceManifest, Subscription, Table

# expiresAt: exposures are personal data, kept 13 months after their last recorded serve
CONTENT = Table("content", env="CONTENT_TABLE", ttl_attribute="expiresAt")

MANIFEST = ServiceManifest(
    name="content",
    tables=(CONTENT,),
    functions=(
        Function(
            name="api",
            handler="services.content.handlers.api.handler",
            description="Decides a slot's variant for a visitor, records a known one's exposure; admin API for slots.",
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
            description="Keeps the read model of which profile is in which segment; erasure deletes it and exposures.",
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
            description="Internal API (IAM-invoked by identity): a person's memberships and exposures, for export.",
            tables={"content": "read"},
        ),
    ),
)
