"""Synthesize the stack in-process (no CDK CLI) and return its CloudFormation template, e.g. for the local-cloud
agreement test. The context is cdk.json's plus what the CDK CLI adds, overlaid with `context`, so the template is
the one `npx cdk synth` writes to cdk.out (tests/infra/test_stack.py does not need the CLI to run)."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk

REPO_ROOT = Path(__file__).resolve().parents[1]


# What the CDK CLI puts in the context by default: `aws:cdk:path` metadata on resources and the CDKMetadata resource.
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text()).get("context", {}))


def synth_template(context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The synthesized template (a fresh copy; synthesis itself is cached per process and context)."""
    return dict(json.loads(_synth(_frozen(context)))["root"])


def synth_nested_template(name: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template of the nested stack with construct id `name` (e.g. "Operations"), synthesized with the root."""
    return dict(json.loads(_synth(_frozen(context)))["nested"][name])


def _frozen(context: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in (context or {}).items()))


@cache
def _synth(frozen_context: tuple[tuple[str, str], ...]) -> str:
    from infra.app import build  # imported here so `import infra.synth` stays cheap

    context = {**CLI_CONTEXT, **cdk_json_context(), **{k: json.loads(v) for k, v in frozen_context}}
    with tempfile.TemporaryDirectory(prefix="cxm-synth-") as outdir:
        app = cdk.App(outdir=outdir, context=context)
        stack = build(app)
        assembly = app.synth()
        template = assembly.get_stack_artifact(stack.artifact_id).template
        nested = {
            child.node.id: json.loads((Path(outdir) / child.template_file).read_text())
            for child in stack.node.children
            if isinstance(child, cdk.NestedStack)
        }
    return json.dumps({"root": template, "nested": nested})
