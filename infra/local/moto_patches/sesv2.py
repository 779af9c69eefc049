"""SESv2 email templates for moto: Create/Get/Update/Delete/ListEmailTemplates and templated SendEmail.

moto 5.2.5 has no SESv2 template operations (``NotImplementedError``), and ``SendEmail`` with
``Content.Template`` raises ``NotImplementedError("Template functionality not ready")`` -- inside Step Functions
that surfaces as ``States.Runtime``. ``sesv2_templates()`` adds the five operations as methods of
``SESV2Response`` (moto's URL map already sends every ``/v2/...`` path to its dispatcher, and the dispatcher
looks methods up by name on each request) and replaces ``send_email`` for the ``Template`` case.

Templates are stored in moto's SES v1 backend (``ses_backends[account][region].templates``), so they are shared
with ``ses.create_template`` and ``TestRenderTemplate``. A templated send is rendered with moto's own SES
renderer (``{{var}}``, ``{{#each}}``) and sent through the v1 ``send_email``, so identity verification, the
recipient limit, the quota counters and ``sent_messages`` all apply. The recorded ``Message`` carries the
rendered ``subject`` and ``body`` (HTML, else text) plus ``template``, ``template_data`` (dict), ``text``,
``html`` and ``headers`` (the ``Content.Template.Headers`` as sent: ``[{"Name", "Value"}]``) for assertions. A
simple send (``Content.Simple``) keeps its ``text``, ``html`` and ``headers`` the same way (moto drops them).

As in AWS, a template that cannot be rendered (missing variable) does not fail ``SendEmail``: AWS accepts the
call and drops the message with a "Rendering Failure" event. Here the message is not recorded in
``sent_messages`` and the failure is appended to the ``SesV2TemplateLog`` the context manager yields.
Errors use the SESv2 names: ``NotFoundException``, ``AlreadyExistsException``, ``BadRequestException``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.utils import utcnow
from moto.ses.exceptions import MissingRenderingAttributeException
from moto.ses.models import SESBackend
from moto.ses.template import parse_template
from moto.sesv2.responses import SESV2Response

from ._patching import (
    PatchPointMoved,
    PatchSet,
    require_attr,
    require_params,
    require_source,
)

_MAX_HEADERS = 15  # SESv2 SendEmail's limit on Content.Template.Headers

_TEMPLATE_OPERATIONS = (
    "create_email_template",
    "get_email_template",
    "update_email_template",
    "delete_email_template",
    "list_email_templates",
)


class NotFoundException(ServiceException):
    code = "NotFoundException"


class AlreadyExistsException(ServiceException):
    code = "AlreadyExistsException"


class BadRequestException(ServiceException):
    code = "BadRequestException"


@dataclass(frozen=True)
class RenderingFailure:
    template: str
    template_data: dict[str, Any]
    destination: dict[str, list[str]]
    error: str


class SesV2TemplateLog:
    """Templated sends that AWS would accept but not deliver (bounded, most recent last)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.rendering_failures: collections.deque[RenderingFailure] = collections.deque(maxlen=maxlen)


# ---- operations (installed as SESV2Response methods; ``self`` is the response object) --------------------
def _ses_v1(self: SESV2Response) -> SESBackend:
    return self.sesv2_backend.core_backend


def _body(self: SESV2Response) -> dict[str, Any]:
    return json.loads(self.body or "{}")


def _template_name_from_path(self: SESV2Response) -> str:
    # /v2/email/templates/{TemplateName}; URL-decoding is done by the parsed params when available.
    name = self._get_param("TemplateName")
    return str(name) if name else self.path.rstrip("/").rsplit("/", 1)[-1]


def _template_record(name: str, content: dict[str, Any]) -> dict[str, Any]:
    # Same keys as moto's v1 templates, so v1 GetTemplate/TestRenderTemplate see v2-created templates.
    return {
        "template_name": name,
        "subject_part": content.get("Subject", ""),
        "text_part": content.get("Text", ""),
        "html_part": content.get("Html", ""),
        "Timestamp": utcnow(),
    }


def _existing_template(self: SESV2Response, name: str) -> dict[str, Any]:
    template = _ses_v1(self).templates.get(name)
    if template is None:
        raise NotFoundException(f"Template {name} does not exist.")
    return template


def create_email_template(self: SESV2Response) -> str:
    params = _body(self)
    name = params.get("TemplateName")
    if not name:
        raise BadRequestException("TemplateName is required.")
    if name in _ses_v1(self).templates:
        raise AlreadyExistsException(f"Template {name} already exists.")
    _ses_v1(self).templates[name] = _template_record(name, params.get("TemplateContent") or {})
    return "{}"


def update_email_template(self: SESV2Response) -> str:
    name = _template_name_from_path(self)
    _existing_template(self, name)
    _ses_v1(self).templates[name] = _template_record(name, _body(self).get("TemplateContent") or {})
    return "{}"


def get_email_template(self: SESV2Response) -> str:
    template = _existing_template(self, _template_name_from_path(self))
    content = {
        "Subject": template["subject_part"],
        "Text": template["text_part"],
        "Html": template["html_part"],
    }
    return json.dumps(
        {
            "TemplateName": template["template_name"],
            "TemplateContent": {key: value for key, value in content.items() if value},
        }
    )


def delete_email_template(self: SESV2Response) -> str:
    name = _template_name_from_path(self)
    _existing_template(self, name)
    del _ses_v1(self).templates[name]
    return "{}"


def list_email_templates(self: SESV2Response) -> str:
    # No pagination: local template counts are small. CreatedTimestamp is epoch seconds (rest-json timestamp).
    return json.dumps(
        {
            "TemplatesMetadata": [
                {
                    "TemplateName": t["template_name"],
                    "CreatedTimestamp": _epoch(t.get("Timestamp")),
                }
                for t in _ses_v1(self).templates.values()
            ]
        }
    )


def _epoch(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, dt.datetime) else None


def _render(template: dict[str, Any], data: dict[str, Any]) -> tuple[str, str, str]:
    def render(part: Any) -> str:
        return parse_template(str(part), data) if part else ""

    return (
        render(template.get("subject_part")),
        render(template.get("text_part")),
        render(template.get("html_part")),
    )


def _send_simple(self: SESV2Response, params: dict[str, Any], simple: dict[str, Any], original: Any) -> str:
    """moto records a simple send's HTML (else its text) as `body` and drops the rest: the text part and the
    `Headers` (List-Unsubscribe...) are kept on the recorded message, as for a templated send."""
    headers = [{"Name": str(h.get("Name", "")), "Value": str(h.get("Value", ""))} for h in simple.get("Headers") or []]
    if len(headers) > _MAX_HEADERS:
        raise BadRequestException(f"At most {_MAX_HEADERS} headers can be added to a message.")
    answer: str = original(self)
    message_id = json.loads(answer).get("MessageId")
    body = simple.get("Body") or {}
    for message in reversed(_ses_v1(self).sent_messages):
        if getattr(message, "id", None) == message_id:
            message.text = str((body.get("Text") or {}).get("Data", ""))
            message.html = str((body.get("Html") or {}).get("Data", ""))
            message.headers = headers
            break
    return answer


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if the moto internals used by :func:`sesv2_templates` changed shape."""
    require_params(require_attr(SESV2Response, "send_email"), ["self"], "SESV2Response.send_email")
    require_attr(SESV2Response, "sesv2_backend")
    require_params(
        SESBackend.send_email,
        ["self", "source", "subject", "body", "destinations"],
        "SESBackend.send_email",
    )
    require_source(SESBackend.__init__, "self.templates", "SESBackend.__init__")
    require_source(SESBackend.__init__, "self.sent_messages", "SESBackend.__init__")
    require_params(
        parse_template,
        ["template", "template_data", "tokenizer"],
        "ses.template.parse_template",
    )
    from moto.sesv2 import urls

    if not any(pattern.endswith("/v2/.*$") for pattern in urls.url_paths):
        raise PatchPointMoved("moto.sesv2.urls no longer routes every /v2/ path to SESV2Response.dispatch")


@contextmanager
def sesv2_templates() -> Iterator[SesV2TemplateLog]:
    """Add SESv2 template operations and templated SendEmail to moto; yields the rendering-failure log."""
    verify_patch_points()
    log = SesV2TemplateLog()
    original_send_email = SESV2Response.send_email
    patches = PatchSet()

    def send_email(self: SESV2Response) -> str:
        params = _body(self)
        content = params.get("Content") or {}
        if "Simple" in content:
            return _send_simple(self, params, content["Simple"], original_send_email)
        if "Template" not in content:
            return original_send_email(self)
        spec = content["Template"]
        name = spec.get("TemplateName") or str(spec.get("TemplateArn", "")).rsplit("/", 1)[-1]
        if "TemplateContent" in spec:  # inline template (no stored template needed)
            template = _template_record(name or "inline", spec["TemplateContent"])
        else:
            template = _existing_template(self, name)
        try:
            data = json.loads(spec.get("TemplateData") or "{}")
        except json.JSONDecodeError as exc:
            raise BadRequestException(f"TemplateData is not valid JSON: {exc}") from None
        destination = params.get("Destination") or {}
        headers = [
            {"Name": str(h.get("Name", "")), "Value": str(h.get("Value", ""))} for h in spec.get("Headers") or []
        ]
        if len(headers) > _MAX_HEADERS:
            raise BadRequestException(f"At most {_MAX_HEADERS} headers can be added to a message.")
        try:
            subject, text, html = _render(template, data)
        except MissingRenderingAttributeException as exc:
            log.rendering_failures.append(RenderingFailure(template["template_name"], data, destination, str(exc)))
            # Accepted but never sent, as in AWS: return a message id that matches nothing in sent_messages.
            return json.dumps({"MessageId": f"rendering-failure-{len(log.rendering_failures)}"})
        message = _ses_v1(self).send_email(
            source=str(params.get("FromEmailAddress") or ""),
            destinations=destination,
            subject=subject,
            body=html or text,
        )
        # moto's Message has no such fields; they are added for assertions on what was rendered.
        for attribute, value in {
            "template": template["template_name"],
            "template_data": data,
            "text": text,
            "html": html,
            "headers": headers,
        }.items():
            setattr(message, attribute, value)
        return json.dumps({"MessageId": message.id})

    for operation in _TEMPLATE_OPERATIONS:
        patches.set(SESV2Response, operation, globals()[operation])
    patches.set(SESV2Response, "send_email", send_email)
    try:
        yield log
    finally:
        patches.restore()
