"""What the identity service deploys: profiles and the identity graph, their consumer and admin API."""

from services.common.manifest import Function, Route, ServiceManifest, Subscription, Table

PROFILES = Table("profiles", env="PROFILES_TABLE", ttl_attribute="expiresAt")

MANIFEST = ServiceManifest(
    name="identity",
    tables=(PROFILES,),
    functions=(
        Function(
            name="api",
            handler="services.identity.handlers.api.handler",
            description="Admin API over profiles: get by id, look up by email, user id or anonymous id.",
            routes=(Route("GET", "/v1/profiles/{profileId}", "admin"), Route("GET", "/v1/profiles", "admin")),
            tables={"profiles": "read"},
        ),
        Function(
            name="on_event_collected",
            handler="services.identity.handlers.on_event_collected.handler",
            description="Resolves each collected event to a profile, updates traits and timeline.",
            subscriptions=(Subscription("event-collected", detail_types=("EventCollected",), sources=("cxm.events",)),),
            tables={"profiles": "write"},
            publishes=True,
        ),
        Function(
            name="lookup",
            handler="services.identity.handlers.lookup.handler",
            description="Internal API (IAM-invoked): resolve a visitor id to a profile, read contact details.",
            tables={"profiles": "read"},
        ),
    ),
)
