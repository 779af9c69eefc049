"""What the identity service deploys: profiles, the identity graph and timelines, their consumers, the admin,
privacy and import APIs, and the internal lookup API."""

from services.common.manifest import Function, Index, Route, Schedule, ServiceManifest, Subscription, Table

PROFILES = Table(
    "profiles",
    env="PROFILES_TABLE",
    ttl_attribute="expiresAt",
    # sparse: only suppression entries carry its keys, so it lists the suppression list newest first
    indexes=(Index("suppressed", partition_key="suppressedList", sort_key="suppressedAt"),),
)
TIMELINE = Table("timeline", env="TIMELINE_TABLE", ttl_attribute="expiresAt")
IMPORTS = Table("imports", env="IMPORTS_TABLE", ttl_attribute="expiresAt")

API_ROUTES = (
    Route("GET", "/v1/profiles", "admin", refuses=(404,)),
    Route("GET", "/v1/profiles/search", "admin"),
    Route("GET", "/v1/profiles/stats", "admin"),
    Route("POST", "/v1/profiles/merge", "admin", refuses=(404, 409)),
    Route("GET", "/v1/profiles/{profileId}", "admin"),
    Route("PATCH", "/v1/profiles/{profileId}", "admin"),
    Route("DELETE", "/v1/profiles/{profileId}", "admin", refuses=(409,)),
    Route("GET", "/v1/profiles/{profileId}/timeline", "admin"),
    Route("PUT", "/v1/profiles/{profileId}/consent", "admin"),
    Route("GET", "/v1/profiles/{profileId}/merges", "admin"),
    Route("POST", "/v1/profiles/{profileId}/merges/{mergeId}/undo", "admin", refuses=(409,)),
    Route("POST", "/v1/privacy/export", "admin", refuses=(404, 502, 503)),
    Route("POST", "/v1/privacy/erase", "admin", refuses=(404, 409)),
    Route("GET", "/v1/privacy/suppressions", "admin"),
    Route("GET", "/v1/privacy/suppressions/{email}", "admin"),
    Route("DELETE", "/v1/privacy/suppressions/{email}", "admin"),
    Route("GET", "/v1/privacy/unsubscribe", "public"),
    Route("POST", "/v1/privacy/unsubscribe", "public"),
    Route("GET", "/v1/consent/confirm", "public"),
    Route("POST", "/v1/consent/confirm", "public"),
    Route("GET", "/v1/identity/settings", "admin"),
    Route("PUT", "/v1/identity/settings", "admin"),
)

KEY_ROUTES = (
    Route("GET", "/v1/keys", "admin"),
    Route("POST", "/v1/keys", "admin"),
    Route("GET", "/v1/keys/sources", "admin"),
    Route("DELETE", "/v1/keys/{keyId}", "admin", refuses=(409,)),
)

IMPORT_ROUTES = (
    Route("POST", "/v1/imports", "admin"),
    Route("GET", "/v1/imports/{importId}", "admin"),
    Route("PUT", "/v1/imports/{importId}/parts/{part}", "admin", refuses=(409,)),
    Route("POST", "/v1/imports/{importId}/start", "admin", refuses=(409,)),
)

MANIFEST = ServiceManifest(
    name="identity",
    tables=(PROFILES, TIMELINE, IMPORTS),
    functions=(
        Function(
            name="api",
            handler="services.identity.handlers.api.handler",
            description="Admin API over profiles (look up, search, patch, timeline, consent, merges, delete), "
            "privacy (export, erasure, suppression, one-click unsubscribe, double opt-in confirmation) and identity "
            "settings.",
            routes=API_ROUTES,
            tables={"profiles": "write", "timeline": "write"},
            publishes=True,
            secrets=("link-signing",),
            # a person's export asks every other service holding personal data for its part
            invokes=("segments.privacy", "journeys.privacy", "content.privacy"),
            timeout_seconds=29,  # export and erasure walk a whole timeline; API Gateway's own limit is 30 s
        ),
        Function(
            # its own function: the only one that may write the platform's access table (keys, hashed)
            name="keys",
            handler="services.identity.handlers.keys_api.handler",
            description="API keys admin: list keys (never the key), create one (shown once), revoke one; the "
            "sources' settings and whether each has an identity secret.",
            routes=KEY_ROUTES,
            manages_keys=True,
        ),
        Function(
            name="imports",
            handler="services.identity.handlers.import_api.handler",
            description="Contact import API: upload CSV or JSON lines (in one body or in parts), start, follow.",
            routes=IMPORT_ROUTES,
            tables={"imports": "write"},
            publishes=True,
            timeout_seconds=29,
            memory_mb=1024,
        ),
        Function(
            name="on_event_collected",
            handler="services.identity.handlers.on_event_collected.handler",
            description="Resolves each collected event to a profile, updates computed traits, traits and timeline.",
            subscriptions=(
                Subscription("event-collected", detail_types=("EventCollected",), sources=("cxm.events",)),
                # what journeys' programmes observe (a device registration, a referral redeemed), recorded the same way
                Subscription("activity-reported", detail_types=("ActivityReported",), sources=("cxm.journeys",)),
            ),
            tables={"profiles": "write", "timeline": "write"},
            publishes=True,
            reads_sources=True,  # a source's double opt-in setting
            secrets=("link-signing",),  # signs the confirmation link of a double opt-in
        ),
        Function(
            name="on_update_requested",
            handler="services.identity.handlers.on_update_requested.handler",
            description="Applies the trait and tag changes a journey step asks for (ProfileUpdateRequested) and "
            "announces them (ProfileUpdated).",
            subscriptions=(
                Subscription("update-requested", detail_types=("ProfileUpdateRequested",), sources=("cxm.journeys",)),
            ),
            tables={"profiles": "write"},
            publishes=True,
        ),
        Function(
            name="on_import_chunk",
            handler="services.identity.handlers.on_import_chunk.handler",
            description="Imports one stored chunk of contact rows (an asynchronous import job's unit of work).",
            subscriptions=(
                Subscription(
                    "import-chunk",
                    detail_types=("ContactsImportChunkQueued",),
                    sources=("cxm.identity",),
                    batch_size=1,
                ),
            ),
            tables={"profiles": "write", "imports": "write"},
            publishes=True,
            timeout_seconds=120,
            memory_mb=1024,
        ),
        Function(
            name="on_email_feedback",
            handler="services.identity.handlers.on_email_feedback.handler",
            description="SES bounce and complaint notifications → the suppression list.",
            subscriptions=(
                Subscription(
                    "email-feedback",
                    detail_types=("Email Bounced", "Email Complaint Received"),
                    sources=("aws.ses",),
                    bus="default",  # SES configuration-set events arrive on the account's default bus
                ),
            ),
            tables={"profiles": "write"},
        ),
        Function(
            name="erasure_sweep",
            handler="services.identity.handlers.erasure_sweep.handler",
            description="Last step of each erasure: lifts the fences that kept in-flight events off erased "
            "profiles, once no such event can still be in flight.",
            schedules=(Schedule("erasure-fences", "rate(5 minutes)"),),
            tables={"profiles": "read", "timeline": "write"},
            timeout_seconds=60,
        ),
        Function(
            name="lookup",
            handler="services.identity.handlers.lookup.handler",
            description="Internal API (IAM-invoked): resolve a visitor id to a profile; contact details with "
            "suppression, consent and an unsubscribe token.",
            tables={"profiles": "read"},
            secrets=("link-signing",),
        ),
    ),
)
