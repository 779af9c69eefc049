"""Shared by the CDK tests: jsii quiet, and the stack's template synthesized once per process (infra.synth)."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from typing import Any

import pytest


@pytest.fixture(scope="module")
def cxm_template() -> dict[str, Any]:
    from infra.synth import synth_template

    return synth_template()
