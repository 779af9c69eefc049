"""Email templates: saved when they compile, rendered for one profile (preview, test send, journeys' email steps),
drafts rendered without being saved, deleted unless a running experiment uses them."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any

from services.content.domain import templates
from services.content.domain.experiments import variant_for
from services.content.domain.targeting import visitor_view
from services.content.domain.visitors import VisitorState
from services.content.ports import ContentStore
from services.content.use_cases.definitions import Conflict, InvalidDefinition, NotFound
from services.content.use_cases.published import Published

# `POST /v1/content/templates/preview` renders a draft. Routes are matched by method and path, so a template named
# `preview` would still be reachable, but its URL would read as that route's: the id is refused on save.
RESERVED_IDS = frozenset({"preview"})


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
    if template_id in RESERVED_IDS:
        raise InvalidDefinition(
            [("templateId", f"{template_id!r} is reserved (the draft preview's path): choose another id")]
        )
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


def delete_template(store: ContentStore, template_id: str) -> None:
    """Removes the template (content keeps one item per template, its latest version). Refused while a running
    experiment targets it (stopping one may promote its winner into the template). Journeys are not asked: content
    cannot see them; an email node naming a deleted template fails each message with "no content template"."""
    if store.definition("template", template_id) is None:
        raise NotFound("template", template_id)
    for experiment in store.definitions("experiment"):
        if experiment.get("status") == "running" and experiment.get("target", {}).get("templateId") == template_id:
            raise Conflict(
                f"Experiment {experiment['id']} is running on template {template_id}: stop it first.", "templateId"
            )
    if not store.delete_definition("template", template_id):
        raise NotFound("template", template_id)


def render_draft(
    store: ContentStore,
    published: Published,
    source: templates.TemplateSource,
    profile_id: str | None,
    variables: Mapping[str, Any],
    now: dt.datetime,
) -> dict[str, Any]:
    """An unsaved template rendered as a saved one is (`render_for_profile`), for the preview before a save:
    refused as a save is (`InvalidDefinition`, each part's line and column), nothing written, no experiment."""
    compiled = compile_or_refuse(source)  # not cached: drafts change with each keystroke, versions do not
    state = store.state(profile_id) if profile_id else None
    rendered = _render(compiled, state, published, variables, now)
    return {"subject": rendered.subject, "html": rendered.html, "text": rendered.text}


def _render(
    compiled: templates.CompiledTemplate,
    state: VisitorState | None,
    published: Published,
    variables: Mapping[str, Any],
    now: dt.datetime,
) -> templates.Rendered:
    context = templates.RenderContext(
        profile=dict(state.traits) if state else {},
        reader=reader_of(state),
        now=now,
        catalogue=published.catalogue,
        extra=dict(variables),
    )
    try:
        return templates.render(compiled, context)
    except templates.RenderFailed as error:
        raise RenderRefused(error.reason) from error


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
    live = published.live_on("templateId", template_id, now) if profile_id else None
    view = visitor_view(state.projection(), {}, now) if state is not None else None
    experiment = live.definition if live is not None and live.admits(view) else None
    if experiment is not None and profile_id is not None:
        chosen = variant_for(experiment, profile_id)
        if chosen is not None:
            for part in ("subject", "html"):
                if chosen.get(part):
                    source[part] = chosen[part]
            experiment_answer = {"experimentId": experiment["id"], "variantId": chosen["id"]}
            if count_exposure:
                store.record_exposure(experiment["id"], chosen["id"], f"PROFILE#{profile_id}", now)
    rendered = _render(_compiled(json.dumps(source, sort_keys=True)), state, published, variables, now)
    return {
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
        "templateVersion": int(stored.get("version", 1)),
        "experiment": experiment_answer,
    }
