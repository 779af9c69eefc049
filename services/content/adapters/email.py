"""Test sends of a rendered template through SES (the stack's sender address)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from services.content.ports import RecipientRefused

# SES's answers about the request itself (an address it will not take, an unverified one in the sandbox), as
# opposed to failures of the service
REFUSALS = frozenset({"InvalidParameterValue", "BadRequestException", "MessageRejected", "MailFromDomainNotVerified"})


class SesTestMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self._ses = client
        self._sender = sender

    def send_test(self, to: str, subject: str, html: str, text: str) -> str:
        try:
            response = self._send(to, subject, html, text)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in REFUSALS:
                raise RecipientRefused(str(error.response["Error"].get("Message", ""))) from error
            raise
        return str(response["MessageId"])

    def _send(self, to: str, subject: str, html: str, text: str) -> Any:
        return self._ses.send_email(
            FromEmailAddress=self._sender,
            Destination={"ToAddresses": [to]},
            Content={
                "Simple": {
                    "Subject": {"Data": f"[Test] {subject}"[:998]},
                    "Body": {"Html": {"Data": html}, "Text": {"Data": text}},
                }
            },
            EmailTags=[{"Name": "purpose", "Value": "test-send"}],
        )
