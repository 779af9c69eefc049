"""Test sends of a rendered template through SES (the stack's sender address)."""

from __future__ import annotations

from typing import Any


class SesTestMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self._ses = client
        self._sender = sender

    def send_test(self, to: str, subject: str, html: str, text: str) -> str:
        response = self._ses.send_email(
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
        return str(response["MessageId"])
