"""What the journeys service deploys: journey definitions, the journey state machine and its send task."""

from services.common.manifest import Function, Route, ServiceManifest, StateMachine, Subscription, Table

JOURNEYS = Table("journeys", env="JOURNEYS_TABLE", ttl_attribute="expiresAt")
JOURNEY_MACHINE = StateMachine(
    name="journey",
    env="JOURNEY_STATE_MACHINE_ARN",
    definition_file="services/journeys/state_machines/journey.asl.json",
    invokes=("send_email",),
)

MANIFEST = ServiceManifest(
    name="journeys",
    tables=(JOURNEYS,),
    state_machines=(JOURNEY_MACHINE,),
    functions=(
        Function(
            name="api",
            handler="services.journeys.handlers.api.handler",
            description="Admin API: define and list journeys (trigger, wait, email template).",
            routes=(
                Route("POST", "/v1/journeys", "admin"),
                Route("GET", "/v1/journeys", "admin"),
                Route("GET", "/v1/journeys/{journeyId}", "admin"),
            ),
            tables={"journeys": "write"},
            manages_email_templates=True,
        ),
        Function(
            name="consumer",
            handler="services.journeys.handlers.consumer.handler",
            description="Starts the journeys a segment entry triggers (once per profile); stops them on erasure.",
            subscriptions=(
                Subscription("segment-entered", detail_types=("SegmentEntered",), sources=("cxm.segments",)),
                Subscription("profile-erased", detail_types=("ProfileErased",), sources=("cxm.identity",)),
            ),
            tables={"journeys": "write"},
            starts_state_machines=("journey",),
            publishes=True,
        ),
        Function(
            name="privacy",
            handler="services.journeys.handlers.privacy.handler",
            description="Internal API (IAM-invoked by identity): a person's journey entries and messages, for export.",
            tables={"journeys": "read"},
        ),
        Function(
            name="send_email",
            handler="services.journeys.handlers.task_send_email.handler",
            description="Journey step: sends the journey's SES template to the profile once, with signed tracking "
            "links and one-click unsubscribe headers.",
            tables={"journeys": "write"},
            invokes=("identity.lookup",),
            secrets=("link-signing",),
            links_to_api=True,
            sends_email=True,
            publishes=True,
            timeout_seconds=30,
        ),
    ),
)
