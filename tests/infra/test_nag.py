"""cdk-nag AwsSolutions over the whole stack: no unacknowledged finding, and only the acknowledgments we know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Every acknowledged finding and where it is acknowledged (the reasons are next to the code):
ACKNOWLEDGED = {
    # infra/constructs/api.py: auth is in the handlers (problem+json refusals), not an HTTP API authoriser
    "AwsSolutions-APIG4",
    # infra/constructs/function.py: python3.12 matches the Powertools python312 layer
    "AwsSolutions-L1",
    # function roles (X-Ray) and the state machine role (log delivery + X-Ray): no resource-level permissions
    "AwsSolutions-IAM5[Resource::*]",
    # infra/constructs/function.py, sends_email: recipients are authorised in the sandbox (From address pinned),
    # and templates are created at run time
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:template/*]",
    # infra/constructs/service.py: HMAC link-signing key; rotating it would break links already sent
    "AwsSolutions-SMG4",
    # infra/constructs/service.py: the archive bucket has no server access logs (CloudTrail data events instead);
    # infra/constructs/console.py: neither has the console's bucket (built files only, read by CloudFront alone)
    "AwsSolutions-S1",
    # infra/constructs/function.py: the archive function puts objects named at run time into its own bucket
    "AwsSolutions-IAM5[Resource::<EventsBucketArchiveC59DDCED.Arn>/*]",
    # infra/constructs/function.py: journey versions compiled into machines at publish time, under one prefix
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
    "stateMachine:cxm-dev-journeys-journey-*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
    "execution:cxm-dev-journeys-journey-*:*]",
    # infra/constructs/console.py: the console's distribution serves public static files (no geo restriction, WAF
    # or access log); TLSv1.2_2021 applies once a custom certificate fronts it; MFA optional with TOTP (issue 12)
    "AwsSolutions-CFR1",
    "AwsSolutions-CFR2",
    "AwsSolutions-CFR3",
    "AwsSolutions-CFR4",
    "AwsSolutions-COG2",
    # infra/constructs/console.py: CDK's BucketDeployment handler (runtime, role and grants are aws-cdk-lib's)
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    "AwsSolutions-IAM5[Action::s3:GetObject*]",
    "AwsSolutions-IAM5[Action::s3:GetBucket*]",
    "AwsSolutions-IAM5[Action::s3:List*]",
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
    "AwsSolutions-IAM5[Action::s3:Abort*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
    "AwsSolutions-IAM5[Resource::<ConsoleBucket86B6957C.Arn>/*]",
}


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        paths = sorted({c.get("constructPath", "?") for c in v.get("violatingConstructs", [])})
        lines.append(f"{v['ruleName']}: {v.get('description', '')}")
        lines.extend(f"    {p}" for p in paths)
    return "\n".join(lines)


@pytest.fixture(scope="module")
def nag_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from infra.app import build
    from infra.synth import cdk_json_context

    outdir: Path = tmp_path_factory.mktemp("nag")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    build(app)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    error: RuntimeError | None = None
    try:
        app.synth()
    except RuntimeError as e:  # "ValidationFailed" when there are unacknowledged violations
        error = e
    report = json.loads((outdir / "validation-report.json").read_text())
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    plugin["_synth_error"] = str(error)[:2000] if error else None
    return plugin


def test_no_unacknowledged_aws_solutions_findings(nag_report: dict[str, Any]) -> None:
    violations = nag_report["violations"]
    if violations or nag_report["_synth_error"]:
        print(_describe(violations))
    assert not violations, "unacknowledged cdk-nag findings:\n" + _describe(violations)
    assert nag_report["_synth_error"] is None
    assert nag_report["conclusion"] == "success"


def test_acknowledgments_are_the_known_ones_with_reasons(nag_report: dict[str, Any]) -> None:
    suppressed = nag_report["suppressedViolations"]
    assert {v["ruleName"] for v in suppressed} == ACKNOWLEDGED, _describe(suppressed)
    for v in suppressed:
        assert len(v.get("reason", "")) > 40, v["ruleName"]
        assert v["acknowledgedAt"] != "cxm-dev", f"{v['ruleName']} is acknowledged stack-wide, not on its construct"
