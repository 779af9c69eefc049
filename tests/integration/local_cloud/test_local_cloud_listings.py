"""What the local cloud reports about itself must be complete, however much there is (benches and flows count on it)."""

from __future__ import annotations

import json
from typing import Any

import boto3


def test_executions_lists_every_run_not_only_the_first_page(cloud: Any) -> None:
    # Given a state machine with more runs than one ListExecutions page (100)
    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    iam = boto3.client("iam", region_name=cloud.region)
    role = iam.create_role(RoleName="listing-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(
        name="listing-test",
        roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    names = {f"run-{i:03d}" for i in range(130)}
    for name in names:
        sfn.start_execution(stateMachineArn=machine, name=name, input="{}")

    # Then every one of them is listed, with and without a status filter
    def succeeded() -> set[str]:
        return {e["name"] for e in cloud.executions("SUCCEEDED") if e["stateMachineArn"] == machine}

    cloud.wait_for(lambda: succeeded() == names)
    assert succeeded() == names
    assert {e["name"] for e in cloud.executions() if e["stateMachineArn"] == machine} == names
