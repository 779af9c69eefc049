"""CDK app entry point: `npx cdk synth` (cdk.json runs `.venv/bin/python -m infra.app` from the repo root)."""

from __future__ import annotations

import aws_cdk as cdk

from infra.stack import CxmStack, Settings


def build(app: cdk.App) -> CxmStack:
    settings = Settings.from_context(app)
    return CxmStack(
        app,
        f"cxm-{settings.stage}",
        settings=settings,
        description=f"CxM platform ({settings.stage}): derived from services/*/manifest.py",
    )


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
