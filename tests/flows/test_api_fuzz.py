"""Every input fuzzed: schemathesis over the whole OpenAPI document against the local cloud over real HTTP.

Every operation is called with the document's examples, its coverage cases (boundaries, missing and wrong-typed
fields, wrong auth) and fuzzed input, then linked operations are chained statefully (create a segment, read it,
change it, delete it). No input may make the platform answer with a server error, and every answer must match the
document: its status codes, content types and response models. Runs are seeded and bounded, so CI is stable and
the whole file fits `make test`.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.config import SchemathesisConfig

from infra.openapi import OUTPUT
from tests.conftest import Api

pytestmark = pytest.mark.slow

SEED = 20261203
EXAMPLES_PER_OPERATION = 4  # fuzzing phase, per generation mode (valid and invalid input)
STATEFUL_SCENARIOS = 12
STATEFUL_STEPS = 6

# What every answer must satisfy, its status code included: every status an operation answers is in the document
# (201/202 where they apply; 404, 409, 429 where the route declares them). Left out: `unsupported_method` (API
# Gateway answers a method no route declares with its JSON 404, not 405, and so does the local gateway), the
# acceptance/rejection heuristics (the handlers are stricter or laxer than the document in ways the integration tests
# pin) and the checks that need state the fuzzer cannot know.
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "ignored_auth",
    "status_code_conformance",
)
ALL_CHECKS = (
    *CHECKS,
    "response_headers_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "use_after_free",
    "ensure_resource_availability",
    "missing_required_header",
    "object_level_authorization",
    "unsupported_method",
    "allow_header_conformance",
)

CASES: Counter[str] = Counter()  # per operation
PHASES: Counter[str] = Counter()  # per phase: examples, coverage, fuzzing, stateful


def _config(api: Api) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": api.base_url,
            "request-timeout": 30,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
                "allow-x00": False,
            },
            "checks": {name: {"enabled": name in CHECKS} for name in ALL_CHECKS},
            # two methods no route declares stand for all of them (the gateway answers every one the same way);
            # all eight would add some 700 calls
            "phases": {"coverage": {"unexpected-methods": ["trace", "query"]}},
            "auth": {
                "openapi": {
                    "adminKey": {"bearer": api.admin_key},
                    "writeKey": {"username": api.write_key, "password": ""},
                }
            },
            "suppress-health-check": ["all"],
        }
    )


@pytest.fixture(scope="module")
def fuzzed(api: Api) -> Iterator[Any]:
    schema = schemathesis.openapi.from_dict(json.loads(OUTPUT.read_text()), config=_config(api))
    yield schema
    print(f"\nfuzzed {len(CASES)} operations with {sum(CASES.values())} cases: {dict(sorted(PHASES.items()))}")


def _counted(case: Any) -> None:
    CASES[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    PHASES[case.meta.phase.name.value if case.meta else "unknown"] += 1


schema = schemathesis.pytest.from_fixture("fuzzed")


@schema.parametrize()
def test_no_input_makes_a_server_error(case: Any) -> None:
    _counted(case)
    case.call_and_validate()


def test_no_call_sequence_makes_a_server_error(fuzzed: Any) -> None:
    failures: list[str] = []

    class Sequences(fuzzed.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            _counted(case)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, **kwargs)
            except BaseException as failure:
                failures.append(f"{case.operation.method.upper()} {case.operation.path}: {failure}")
                raise

    steps_before = PHASES["stateful"]
    # The server's state outlives each scenario (a segment created in one is still there in the next), so when
    # hypothesis replays a known prefix of choices, a link can lead somewhere else and it stops with "inconsistent
    # data generation". Schemathesis's own runner ends the phase the same way: the scenarios already run stand, and
    # only a check that failed in them fails the test (asserted below).
    with contextlib.suppress(FlakyStrategyDefinition):
        Sequences.run(
            settings=hypothesis.settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=STATEFUL_STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    assert not failures, "\n".join(failures)
    assert PHASES["stateful"] - steps_before >= STATEFUL_SCENARIOS, "too few stateful calls to mean anything"
