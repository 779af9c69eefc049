"""What the journeys service deploys: definitions and runs, the journey machines' role, the step functions."""

from services.common.manifest import (
    Function,
    Index,
    MachineFamily,
    MetricAlarm,
    Route,
    ServiceManifest,
    Subscription,
    Table,
)

JOURNEYS = Table(
    "journeys",
    env="JOURNEYS_TABLE",
    ttl_attribute="expiresAt",
    indexes=(Index("runs", partition_key="runJourney", sort_key="runState"),),
)
# The e-shop programmes' own table: product serials and their owners, referral codes and redemptions, coupon
# pools and claims, rate-limit windows (docs/programmes.md).
PROGRAMMES = Table("programmes", env="PROGRAMMES_TABLE", ttl_attribute="expiresAt")
# One Step Functions state machine per published journey version, compiled at publish time.
JOURNEY_MACHINES = MachineFamily(
    name="journey", env_prefix="JOURNEY_MACHINES", invokes=("step", "send_email"), failure_metric="JourneyRunsFailed"
)
# The step task counts a claim that leaves a coupon pool under its low-water mark (docs/operations.md).
COUPON_POOL_LOW = MetricAlarm(
    "CouponPoolLow",
    advice="An incentive coupon pool is running low (the step's log names the pool): add codes with "
    "POST /v1/coupons/pools/{poolId}/codes or raise the pool's generator, before journeys run out of incentives.",
)
# Optional settings (CDK context `functionSettings`): see docs/journeys.md, "Delivery rules".
EMAIL_CAP_SETTING = "JOURNEY_EMAIL_FREQUENCY_CAP"  # e.g. "3/7d": at most 3 marketing emails per 7 days
SMS_CAP_SETTING = "JOURNEY_SMS_FREQUENCY_CAP"
EMAIL_RATE_SETTING = "JOURNEY_EMAIL_RATE_PER_SECOND"  # the account's SES sending rate
SMS_RATE_SETTING = "JOURNEY_SMS_RATE_PER_SECOND"
WEBHOOK_PRIVATE_SETTING = "JOURNEY_WEBHOOKS_ALLOW_PRIVATE"  # "true" only in the local cloud and tests

MANIFEST = ServiceManifest(
    name="journeys",
    tables=(JOURNEYS, PROGRAMMES),
    machine_families=(JOURNEY_MACHINES,),
    alarms=(COUPON_POOL_LOW,),
    functions=(
        Function(
            name="api",
            handler="services.journeys.handlers.api.handler",
            description="Admin API: journey definitions, versions, publish/pause/resume/archive, enrolment, runs "
            "and analytics.",
            routes=(
                Route("POST", "/v1/journeys", "admin"),
                Route("GET", "/v1/journeys", "admin"),
                Route("GET", "/v1/journeys/stats", "admin"),
                Route("GET", "/v1/journeys/templates", "admin"),
                Route("GET", "/v1/journeys/templates/{name}", "admin"),
                Route("POST", "/v1/journeys/templates/{name}/install", "admin"),
                Route("GET", "/v1/journeys/{journeyId}", "admin"),
                Route("PUT", "/v1/journeys/{journeyId}", "admin", refuses=(409,)),
                Route("POST", "/v1/journeys/{journeyId}/publish", "admin", refuses=(409,)),
                Route("POST", "/v1/journeys/{journeyId}/pause", "admin", refuses=(409,)),
                Route("POST", "/v1/journeys/{journeyId}/resume", "admin", refuses=(409,)),
                Route("POST", "/v1/journeys/{journeyId}/archive", "admin", refuses=(409,)),
                Route("POST", "/v1/journeys/{journeyId}/enrol", "admin", refuses=(409,)),
                Route("GET", "/v1/journeys/{journeyId}/versions/{version}", "admin"),
                Route("GET", "/v1/journeys/{journeyId}/runs", "admin"),
                Route("GET", "/v1/journeys/{journeyId}/analytics", "admin"),
                Route("GET", "/v1/journeys/runs/{profileId}", "admin"),
            ),
            tables={"journeys": "write", "programmes": "read"},
            manages_email_templates=True,
            manages_machines=("journey",),
            invokes=("segments.lookup", "identity.lookup"),
            publishes=True,
            settings=(WEBHOOK_PRIVATE_SETTING,),
            timeout_seconds=29,
        ),
        Function(
            name="consumer",
            handler="services.journeys.handlers.consumer.handler",
            description="Enters profiles on triggers (events, segments, scores, traits); resumes runs waiting for "
            "an event, ends runs on goals and segment exits; stops runs on erasure.",
            subscriptions=(
                Subscription(
                    "segment-changes",
                    detail_types=("SegmentEntered", "SegmentExited", "ScoreThresholdCrossed"),
                    sources=("cxm.segments",),
                ),
                Subscription(
                    "profile-activity",
                    detail_types=("ProfileErased", "ActivityRecorded", "ProfileUpdated", "ConsentChanged"),
                    sources=("cxm.identity",),
                ),
            ),
            tables={"journeys": "write"},
            runs_machines=("journey",),
            invokes=("segments.lookup", "identity.lookup"),
            publishes=True,
            timeout_seconds=30,
        ),
        Function(
            name="programmes",
            handler="services.journeys.handlers.programmes_api.handler",
            description="Programmes API: device registration (public, rate-limited), product serials and referral "
            "codes (validate, list).",
            routes=(
                Route("POST", "/v1/devices/register", "write_key", refuses=(404, 409, 429)),
                Route("POST", "/v1/products/serials/import", "admin"),
                Route("PUT", "/v1/products/serials/{serial}", "admin"),
                Route("GET", "/v1/products/serials/{serial}", "admin"),
                Route("POST", "/v1/referrals/validate", "server"),
                Route("GET", "/v1/referrals/codes", "admin"),
                Route("GET", "/v1/referrals/codes/{code}", "admin"),
                Route("PATCH", "/v1/referrals/codes/{code}", "admin"),
            ),
            tables={"programmes": "write"},
            publishes=True,
        ),
        Function(
            name="coupons",
            handler="services.journeys.handlers.coupons_api.handler",
            description="Coupon pools: imported or generated incentive codes, what is left, the low-pool flag.",
            routes=(
                Route("GET", "/v1/coupons/pools", "admin"),
                Route("PUT", "/v1/coupons/pools/{poolId}", "admin"),
                Route("GET", "/v1/coupons/pools/{poolId}", "admin"),
                Route("POST", "/v1/coupons/pools/{poolId}/codes", "admin", refuses=(409,)),
            ),
            tables={"programmes": "write"},
        ),
        Function(
            name="on_programme_activity",
            handler="services.journeys.handlers.on_programme_activity.handler",
            description="Programmes: links a registered device and its referral code to the owner's profile, "
            "redeems a referral code carried by an Order Completed exactly once; erasure.",
            subscriptions=(
                Subscription(
                    "programme-activity", detail_types=("ActivityRecorded", "ProfileErased"), sources=("cxm.identity",)
                ),
            ),
            tables={"programmes": "write"},
            publishes=True,
        ),
        Function(
            name="on_email_delivered",
            handler="services.journeys.handlers.on_email_delivered.handler",
            description="Counts SES deliveries of journey emails per node (the email's tags name journey, version "
            "and node).",
            subscriptions=(
                Subscription("email-delivered", detail_types=("Email Delivered",), sources=("aws.ses",), bus="default"),
            ),
            tables={"journeys": "write"},
        ),
        Function(
            name="on_confirmation_requested",
            handler="services.journeys.handlers.on_confirmation_requested.handler",
            description="Sends the double opt-in confirmation email identity asks for (EmailConfirmationRequested), "
            "at most once a day per address.",
            subscriptions=(
                Subscription(
                    "confirmation-requested", detail_types=("EmailConfirmationRequested",), sources=("cxm.identity",)
                ),
            ),
            tables={"journeys": "write"},
            invokes=("identity.lookup",),
            links_to_api=True,
            sends_email=True,
        ),
        Function(
            name="privacy",
            handler="services.journeys.handlers.privacy.handler",
            description="Internal API (IAM-invoked by identity): a person's journey entries and messages, registered "
            "devices, referral code and incentive codes, for export.",
            tables={"journeys": "read", "programmes": "read"},
        ),
        Function(
            name="step",
            handler="services.journeys.handlers.task_step.handler",
            description="Journey step (Step Functions task): waits, waits for events, conditions, splits, holdouts, "
            "SMS and webhooks, holds while paused, and each run's counters.",
            tables={"journeys": "write", "programmes": "write"},
            invokes=("identity.lookup", "segments.lookup"),
            runs_machines=("journey",),
            sends_sms=True,
            publishes=True,
            settings=(SMS_CAP_SETTING, SMS_RATE_SETTING, WEBHOOK_PRIVATE_SETTING),
            timeout_seconds=30,
        ),
        Function(
            name="send_email",
            handler="services.journeys.handlers.task_send_email.handler",
            description="Journey step: sends a journey email once (consent, suppression, frequency cap, quiet "
            "hours, rate), inline or rendered by content's email templates, with signed tracking links and "
            "one-click unsubscribe headers.",
            tables={"journeys": "write"},
            invokes=("identity.lookup", "content.render"),
            secrets=("link-signing",),
            links_to_api=True,
            reads_sources=True,  # whether a source lets claimed addresses be mailed
            sends_email=True,
            publishes=True,
            settings=(EMAIL_CAP_SETTING, EMAIL_RATE_SETTING),
            timeout_seconds=30,
        ),
    ),
)
