"""The journey template library: every shipped template fills in and is a valid journey; parameters are checked."""

from __future__ import annotations

import pytest

from services.journeys.domain import library
from services.journeys.use_cases.definitions import validate

REQUIRED = {
    "couponPool": "spring",
    "bonusPool": "signup-bonus",
    "rewardPool": "referral-reward",
    "planId": "plan-engagement",
    "crmUrl": "https://crm.example/hooks/leads",
}
ISSUE_TEMPLATES = {
    "cart-abandonment",
    "post-purchase",
    "welcome-registration",
    "registration-referral",
    "referral-reward",
    "re-permission",
    "hot-lead-crm",
}


def test_the_library_ships_the_seven_scenario_templates() -> None:
    assert set(library.names()) == ISSUE_TEMPLATES


@pytest.mark.parametrize("name", sorted(ISSUE_TEMPLATES))
def test_each_template_fills_in_to_valid_journeys(name: str) -> None:
    template = library.load(name)
    given = {k: v for k, v in REQUIRED.items() if k in template.parameters}
    journeys = library.fill(template, given)
    assert journeys and all("${" not in str(j) for j in journeys)
    for journey in journeys:
        validate(journey, None)  # raises with every fault's path when invalid


def test_parameters_keep_their_type_and_defaults_apply() -> None:
    (journey,) = library.fill(library.load("cart-abandonment"), {"couponPool": "p", "firstReminderSeconds": 600})
    listen = next(n for n in journey["nodes"] if n["id"] == "listen")
    assert listen["timeoutSeconds"] == 600  # a number stays a number
    second = next(n for n in journey["nodes"] if n["id"] == "second-chance")
    assert second["timeoutSeconds"] == 172800  # the default: 2 days
    assert journey["entry"]["trigger"]["event"]["event"] == "Product Added"


def test_missing_and_unknown_parameters_are_refused_by_name() -> None:
    with pytest.raises(library.MissingParameters) as refused:
        library.fill(library.load("hot-lead-crm"), {"crmUrl": "https://crm.example", "colour": "red"})
    assert sorted(p for p, _ in refused.value.faults) == ["parameters.colour", "parameters.planId"]


def test_an_unknown_template_is_named() -> None:
    with pytest.raises(library.UnknownTemplate):
        library.load("../manifest")
    with pytest.raises(library.UnknownTemplate):
        library.load("no-such-template")
