"""Email templates: saved when they compile, rendered for one profile (preview, test send, journeys' email steps)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any

from services.content.domain import templates
from services.content.domain.experiments import variant_for
from services.content.domain.visitors import VisitorState
from services.content.ports import ContentStore
from services.content.use_cases.definitions import InvalidDefinition, NotFound
from services.content.use_cases.published import Published


class RenderRefused(RuntimeError):
    """This one message cannot be rendered (unknown template, a failure at render time): the reason says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compile_or_refuse(source: templates.TemplateSource, prefix: str = "") -> templates.CompiledTemplate:
    try:
        return templates.compile_template(source)
    except templates.TemplateErrors as error:
        raise InvalidDefinition(
            [(f"{prefix}{f.field}", f"line {f.line}, column {f.column}: {f.message}") for f in error.faults]
        ) from error


def save_template(
    store: ContentStore, template_id: str, name: str, source: templates.TemplateSource, now: dt.datetime
) -> dict[str, Any]:
    """Refused with each error's part, line and column; each save is a new version (sends name the version)."""
    compile_or_refuse(source)
    before = store.definition("template", template_id)
    version = int(before.get("version", 0)) + 1 if before else 1
    body = {"name": name, "source": source.model_dump(exclude_none=True), "version": version}
    return store.save_definition("template", template_id, body, now)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> templates.CompiledTemplate:
    """Compiled once per container and template source (a version, or an experiment variant of it)."""
    return templates.compile_template(templates.TemplateSource.model_validate(json.loads(source)))


def reader_of(state: VisitorState | None) -> templates.Reader:
    if state is None:
        return templates.Reader(segments=("neutral",))
    return templates.Reader(
        known=state.known,
        segments=tuple(state.audiences()),
        questionnaires={q: a.get("key") for q, a in state.answers.items()},
        scores={p: float(s.get("score") or 0) for p, s in state.scores.items()},
        tiers={p: s["tier"] for p, s in state.scores.items() if s.get("tier")},
    )


def render_for_profile(
    store: ContentStore,
    published: Published,
    template_id: str,
    profile_id: str | None,
    variables: Mapping[str, Any],
    now: dt.datetime,
    count_exposure: bool = False,
) -> dict[str, Any]:
    """The template rendered for this profile (its traits, audiences, scores, and the catalogue). A running
    experiment on the template gives the profile its variant's subject or body; `count_exposure` (a real send)
    counts the profile in the experiment once."""
    stored = store.definition("template", template_id)
    if stored is None:
        raise NotFound("template", template_id)
    state = store.state(profile_id) if profile_id else None
    source = dict(stored["source"])
    experiment_answer = None
    experiment = published.template_experiment(template_id, now) if profile_id else None
    if experiment is not None and profile_id is not None:
        chosen = variant_for(experiment, profile_id)
        if chosen is not None:
            for part in ("subject", "html"):
                if chosen.get(part):
                    source[part] = chosen[part]
            experiment_answer = {"experimentId": experiment["id"], "variantId": chosen["id"]}
            if count_exposure:
                store.record_exposure(experiment["id"], chosen["id"], f"PROFILE#{profile_id}", now)
    compiled = _compiled(json.dumps(source, sort_keys=True))
    traits = dict(state.traits) if state else {}
    context = templates.RenderContext(
        profile=traits,
        reader=reader_of(state),
        now=now,
        catalogue=published.catalogue,
        extra=dict(variables),
    )
    try:
        rendered = templates.render(compiled, context)
    except templates.RenderFailed as error:
        raise RenderRefused(error.reason) from error
    return {
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
        "templateVersion": int(stored.get("version", 1)),
        "experiment": experiment_answer,
    }
