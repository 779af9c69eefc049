"""`Console`: the marketers' console in AWS: its files on a private bucket behind CloudFront, and the Cognito user
pool its marketers sign in with (docs/console.md, "In AWS: CloudFront and Cognito")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.registry import acknowledge
from services.common.console_auth import ConsoleSignIn

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / "build" / "console"  # `make console` (Vite, web/console/vite.config.mts)
# Vite builds the console for `base: "/console/"` (its asset URLs are absolute), as the local cloud serves it: the
# distribution serves it under the same path, and its root redirects there.
PREFIX = "console"
LOCAL_CALLBACK = "http://localhost:8080/console/"  # `-c consoleLocalCallback=true`: sign in to a local console
NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>CxM console</title>"
    "<p>The console was not built when this stack was deployed: run <code>make console</code>, then deploy again.</p>"
)
ROOT_REDIRECT = (
    f'<!doctype html><meta charset=utf-8><meta http-equiv="refresh" content="0; url=/{PREFIX}/">'
    f'<title>CxM console</title><a href="/{PREFIX}/">CxM console</a>'
)


class Console(Construct):
    """Hosting (S3 + CloudFront with origin access control) and sign-in (user pool, hosted domain, SPA client).

    Built in two steps because the API and the console refer to each other: `Console(...)` first (the API's CORS
    allowlist needs the console's address), then `deploy(api_url)` once the API exists (config.json names it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        domain_prefix: str = "",
        local_callback: bool = False,
        admin_email: str = "",
        public_api_url: str = "",
        deletion_protection: bool = True,
        build_dir: Path = BUILD_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.build_dir = build_dir
        # A Cognito domain prefix is global per region: the default adds the account id to the stack's name.
        self.domain_prefix = domain_prefix or f"{stack.stack_name.lower()}-console-{stack.account}"

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=False,  # every deployment uploads the build again
            # only built files: the deployment empties it when the stack is deleted (retain_on_delete=False)
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Holds only the console's built files (no personal data), written by the stack's deployment and read "
            "by CloudFront alone (origin access control); server access logs would need a second bucket and record "
            "nothing worth auditing.",
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"CxM console ({stage})",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self._security_headers(stage, public_api_url),
                compress=True,
            ),
            default_root_object="index.html",
            # Any other path (a key CloudFront may not list: 403, or a missing one: 404) answers the console
            # itself, so its own routes (/console/journeys/j1) load it.
            error_responses=[
                cloudfront.ErrorResponse(
                    http_status=status,
                    response_http_status=200,
                    response_page_path=f"/{PREFIX}/index.html",
                    ttl=cdk.Duration.seconds(0),
                )
                for status in (403, 404)
            ],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "Marketers sign in from wherever they work; the files are public code, and every API call needs a "
            "Cognito token or an admin key, so a geo restriction would protect nothing.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "Static files only, GET/HEAD, cached: a WAF web ACL (a per-month cost) would guard no data; the API "
            "behind the console checks every caller itself.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "Access logs would need a logging bucket with ACLs enabled; the files are public code and the API "
            "calls the console makes are logged by the HTTP API's access log.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate allows TLSv1 to old viewers; TLSv1.2_2021 is set and applies as "
            "soon as a custom domain with its own certificate fronts the console.",
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.url = f"{self.origin}/{PREFIX}/"

        self.user_pool = cognito.UserPool(
            self,
            "Marketers",
            user_pool_name=f"cxm-{stage}-marketers",
            self_sign_up_enabled=False,  # an admin creates each marketer (`-c consoleAdminEmail`, or the console)
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Plus: threat protection (compromised credentials, risky sign-ins) enforced; a marketer can read and
            # change every profile, and a few marketers cost cents a month on this plan
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            user_invitation=cognito.UserInvitationConfig(
                email_subject="Your CxM console account",
                email_body=(
                    "You can now sign in to the CxM console at "
                    + self.url
                    + " as {username} with the temporary password {####} (valid 3 days)."
                ),
            ),
            deletion_protection=deletion_protection,
            removal_policy=cdk.RemovalPolicy.RETAIN if deletion_protection else cdk.RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional with TOTP (issue 12): each marketer can enrol an authenticator app, and Plus threat "
            "protection asks risky sign-ins for more; make it required in the pool when the organisation wants.",
        )
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=self.domain_prefix)
        )
        self.domain_url = f"https://{self.domain_prefix}.auth.{stack.region}.amazoncognito.com"
        callbacks = [self.url, *([LOCAL_CALLBACK] if local_callback else [])]
        self.client = self.user_pool.add_client(
            "ConsoleClient",
            user_pool_client_name="console",
            generate_secret=False,  # a browser app keeps no secret: authorization code with PKCE
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(
                    authorization_code_grant=True, implicit_code_grant=False, client_credentials=False
                ),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=callbacks,
                logout_urls=callbacks,
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12),
        )
        # Sign-in happens on the hosted page only: no password or SRP flow through the API, refresh tokens only.
        client_resource: Any = self.client.node.default_child
        client_resource.explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]

        if admin_email:
            first = cognito.CfnUserPoolUser(
                self,
                "FirstMarketer",
                user_pool_id=self.user_pool.user_pool_id,
                username=admin_email,
                user_attributes=[
                    cognito.CfnUserPoolUser.AttributeTypeProperty(name="email", value=admin_email),
                    cognito.CfnUserPoolUser.AttributeTypeProperty(name="email_verified", value="true"),
                ],
                desired_delivery_mediums=["EMAIL"],
            )
            first.add_dependency(self.client.node.default_child)  # type: ignore[arg-type]

        self.sign_in = ConsoleSignIn(self.user_pool.user_pool_id, self.client.user_pool_client_id)

    def _security_headers(self, stage: str, public_api_url: str) -> cloudfront.ResponseHeadersPolicy:
        """Strict headers for a page that holds an admin's token: no framing, no sniffing, HTTPS only, and a CSP
        that lets the page reach only its own origin, the API and Cognito. The API's exact address cannot be named
        (the API's CORS allowlist names this distribution: naming each other would be a cycle), so any HTTP API of
        this region is allowed, plus the deployment's own API domain when it has one."""
        region = cdk.Stack.of(self).region
        api = ["https://*.execute-api." + region + ".amazonaws.com"]
        if public_api_url:
            api.append(public_api_url.rstrip("/"))
        connect = " ".join(
            [
                "'self'",
                *api,
                "https://*.auth." + region + ".amazoncognito.com",
                "https://cognito-idp." + region + ".amazonaws.com",
            ]
        )
        policy = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self' 'unsafe-inline'",  # component libraries set style attributes
                "img-src 'self' data:",
                "font-src 'self' data:",
                f"connect-src {connect}",
                "form-action 'self' https://*.auth." + region + ".amazoncognito.com",
                "frame-ancestors 'none'",
                "base-uri 'self'",
                "object-src 'none'",
            ]
        )
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment=f"CxM console ({stage}): security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=policy, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )

    def config(self, api_url: str) -> dict[str, Any]:
        """config.json: what the console reads at start (web/console/src/config.ts)."""
        region = cdk.Stack.of(self).region
        return {
            "apiUrl": api_url,
            "auth": {
                "kind": "cognito",
                "domain": self.domain_url,
                "clientId": self.client.user_pool_client_id,
                "userPoolId": self.user_pool.user_pool_id,
                "region": region,
            },
        }

    def deploy(self, api_url: str) -> None:
        """Upload the built console and its config.json (or, when it was not built, a page saying so)."""
        built = (self.build_dir / "index.html").is_file()
        if not built:
            cdk.Annotations.of(self).add_warning_v2(
                "cxm:console-not-built",
                f"{self.build_dir}/index.html is missing: the console's address will show a page asking to run "
                "`make console` and deploy again (`make synth` builds it).",
            )
        logs_group = logs.LogGroup(self, "DeploymentLogs", retention=logs.RetentionDays.ONE_MONTH)
        if built:
            # content-hashed files: cached for a year, kept across deployments (a tab still open loads its own)
            s3deploy.BucketDeployment(
                self,
                "Assets",
                destination_bucket=self.bucket,
                destination_key_prefix=f"{PREFIX}/",
                sources=[s3deploy.Source.asset(str(self.build_dir), exclude=["index.html", "config.json"])],
                cache_control=[
                    s3deploy.CacheControl.from_string("public, max-age=31536000, immutable"),
                ],
                prune=False,
                retain_on_delete=False,
                log_group=logs_group,
            )
        index = (self.build_dir / "index.html").read_text() if built else NOT_BUILT
        # the entry points change with each deployment: never cached, and CloudFront's copies invalidated
        s3deploy.BucketDeployment(
            self,
            "EntryPoints",
            destination_bucket=self.bucket,
            sources=[
                s3deploy.Source.data("index.html", ROOT_REDIRECT),
                s3deploy.Source.data(f"{PREFIX}/index.html", index),
                s3deploy.Source.json_data(f"{PREFIX}/config.json", self.config(api_url)),
            ],
            cache_control=[s3deploy.CacheControl.no_cache()],
            prune=False,
            retain_on_delete=False,
            distribution=self.distribution,
            distribution_paths=["/index.html", f"/{PREFIX}/", f"/{PREFIX}/index.html", f"/{PREFIX}/config.json"],
            log_group=logs_group,
        )
        self._acknowledge_deployment_function()

    def _acknowledge_deployment_function(self) -> None:
        """The function CDK provides to copy files into the bucket (one per stack, at its root): its role and runtime
        are CDK's, so each finding is acknowledged on it alone."""
        stack = cdk.Stack.of(self)
        (handler,) = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
        bucket_id = stack.get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            handler,
            "AwsSolutions-L1",
            "CDK's BucketDeployment handler: its runtime is chosen by aws-cdk-lib and moves with it; it runs only "
            "during deployments.",
        )
        acknowledge(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's BucketDeployment handler role: the basic execution policy (its own logs) is what aws-cdk-lib "
            "attaches; the handler runs only during deployments.",
        )
        for finding in (
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
            f"Resource::<{bucket_id}.Arn>/*",
            "Resource::*",
        ):
            acknowledge(
                handler,
                f"AwsSolutions-IAM5[{finding}]",
                "CDK's BucketDeployment grants: read the deployment's zipped files from the CDK assets bucket, write "
                "and prune the console's own bucket, and invalidate the distribution (CloudFront invalidations take "
                "no resource ARN).",
            )
