"""Step Functions, SES and SNS behind the journeys ports, and identity's, segments' and content's internal APIs."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from services.common import internal

# SES answers these when the account sends faster than its quota or the service is busy: try again later
TRANSIENT_CODES = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerError",
    "SendingPausedException",
}


class TryAgain(Exception):
    """A transient failure: the task raises it and the state machine retries with back-off."""


class SendOutcomeUnknown(Exception):
    """The request went out but its answer never came back: the provider may have sent the message."""


def is_transient(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in TRANSIENT_CODES or status >= 500


class StepFunctionsRunner:
    def __init__(self, client: Any, name_prefix: str, role_arn: str = "") -> None:
        self._sfn = client
        self._prefix = name_prefix
        self._role = role_arn

    def machine_name(self, journey_id: str, version: int) -> str:
        return f"{self._prefix}{journey_id}-v{version}"

    def deploy(self, journey_id: str, version: int, definition: str) -> str:
        name = self.machine_name(journey_id, version)
        try:
            return str(
                self._sfn.create_state_machine(name=name, definition=definition, roleArn=self._role, type="STANDARD")[
                    "stateMachineArn"
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("StateMachineAlreadyExists",):
                raise
        # a retried publish: the version's machine exists; make sure it has this definition
        arn = next(m["stateMachineArn"] for m in _machines(self._sfn) if m["name"] == name)
        self._sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=self._role)
        return str(arn)

    def start(self, machine_arn: str, name: str, run_input: dict[str, Any]) -> str:
        try:
            return str(
                self._sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(run_input))[
                    "executionArn"
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        try:
            self._sfn.stop_execution(executionArn=execution_arn, error=error, cause=cause)
        except ClientError as failure:
            if failure.response["Error"]["Code"] in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                return False
            raise
        return True

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        try:
            self._sfn.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
                return False  # the wait ended already (timeout, stop): nothing to resume
            raise
        return True


def _machines(sfn: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = sfn.list_state_machines(**kwargs)
        out.extend(page.get("stateMachines", []))
        if not page.get("nextToken"):
            return out
        kwargs["nextToken"] = page["nextToken"]


class InternalDirectory:
    def contact(self, profile_id: str) -> dict[str, Any]:
        return internal.invoke("identity.lookup", {"op": "contact", "profileId": profile_id})

    def memberships(self, profile_id: str) -> dict[str, Any]:
        return internal.invoke("segments.lookup", {"op": "profile", "profileId": profile_id})

    def definitions(self) -> dict[str, Any]:
        return internal.invoke("segments.lookup", {"op": "definitions"})


class ContentRenderer:
    """Content's internal `render` (Liquid email templates). Not reaching it, or its Lambda failing, is transient:
    `TryAgain`, so the state machine retries the send task; a template that does not render is a normal answer."""

    def render(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return internal.invoke("content.render", request)
        except internal.InternalCallFailed as failure:
            raise TryAgain(str(failure)[:200]) from failure
        except ClientError as error:
            raise TryAgain(f"content.render: {error.response.get('Error', {}).get('Code', 'unreachable')}") from error


class SesMailer:
    def __init__(self, client: Any) -> None:
        self._ses = client

    def save_template(self, name: str, subject: str, html: str, text: str) -> None:
        content = {"Subject": subject, "Html": html, "Text": text}
        try:
            self._ses.create_email_template(TemplateName=name, TemplateContent=content)
        except ClientError as error:
            if error.response["Error"]["Code"] != "AlreadyExistsException":
                raise
            self._ses.update_email_template(TemplateName=name, TemplateContent=content)

    def send(self, request: dict[str, Any]) -> str:
        """Send once (the client makes one attempt: SendEmail has no idempotency token). A refusal that sent nothing
        and may pass later (throttling, 5xx) raises `TryAgain`; a lost answer raises `SendOutcomeUnknown`."""
        try:
            return str(self._ses.send_email(**request)["MessageId"])
        except ClientError as error:
            if is_transient(error):
                raise TryAgain(error.response["Error"].get("Code", "transient")) from error
            raise
        except (ReadTimeoutError, ConnectionClosedError) as error:
            raise SendOutcomeUnknown(str(error)) from error


class SnsTexter:
    def __init__(self, client: Any) -> None:
        self._sns = client

    def send(self, phone: str, text: str) -> str:
        try:
            return str(
                self._sns.publish(
                    PhoneNumber=phone,
                    Message=text,
                    MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"}},
                )["MessageId"]
            )
        except ClientError as error:
            if is_transient(error):
                raise TryAgain(error.response["Error"].get("Code", "transient")) from error
            raise
