// An experiment as the API keeps it (services/content/domain/experiments.py: ExperimentDefinition) and as the form
// edits it: a slot's variants carry `content` (name = value pairs, or JSON when it is more than text), a template's
// carry `subject` and/or `html`; the goal is an event (with properties that must all be equal) or an email click.
import { targetingCondition, targetingOf, type Obj, type Targeting } from "../content/model";
import { numberOr, scalar, slug, type Pair } from "../forms";

export interface ExperimentVariant {
  id: string;
  weight?: number;
  content?: Record<string, unknown> | null;
  subject?: string | null;
  html?: string | null;
}

export interface Experiment {
  id: string;
  name: string;
  hypothesis?: string;
  status: string;
  target: { slotId?: string | null; templateId?: string | null };
  variants: ExperimentVariant[];
  goal: { event?: string | null; where?: Record<string, unknown>; click?: boolean; urlContains?: string | null };
  coverage?: number;
  startAt?: string | null;
  stopAt?: string | null;
  audience?: Obj | null;
  startedAt?: string;
  stoppedAt?: string;
  updatedAt?: string;
  winner?: string | null;
}

export interface VariantDraft {
  id: string;
  weight: number | string;
  content: Pair[];
  json: string | null; // the content as JSON text, when edited as JSON
  subject: string;
  html: string;
}

export interface ExperimentDraft {
  id: string;
  name: string;
  hypothesis: string;
  target: "slot" | "template";
  slotId: string;
  templateId: string;
  variants: VariantDraft[];
  goal: "event" | "click";
  event: string;
  where: Pair[];
  urlContains: string;
  coverage: number | string; // percent of visitors
  startAt: string; // "YYYY-MM-DDTHH:mm", UTC; "" for none
  stopAt: string;
  audience: Targeting; // no rule: everyone the slot or the email reaches
}

export const MAX_VARIANTS = 10;
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

export function newVariant(id: string, content: Pair[] = []): VariantDraft {
  return { id, weight: 1, content: content.map((p) => ({ ...p })), json: null, subject: "", html: "" };
}

export function emptyDraft(): ExperimentDraft {
  return {
    id: "",
    name: "",
    hypothesis: "",
    target: "slot",
    slotId: "",
    templateId: "",
    variants: [newVariant("control"), newVariant("b")],
    goal: "event",
    event: "",
    where: [],
    urlContains: "",
    coverage: 100,
    startAt: "",
    stopAt: "",
    audience: targetingOf(null),
  };
}

/** A variant id not taken yet: b, c, d… */
export function nextVariantId(variants: VariantDraft[]): string {
  const taken = new Set(variants.map((v) => v.id));
  for (let i = 1; ; i++) {
    const id = i < 26 ? String.fromCharCode(97 + i) : `variant-${i}`;
    if (!taken.has(id)) return id;
  }
}

const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** `2026-12-01T00:00:00+00:00` → `2026-12-01T00:00` (UTC), for a datetime-local input. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toISOString().slice(0, 16);
}

function toIso(value: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : value;
}

/** The form's draft of a saved experiment (`copy`: a new draft from it, with another id). */
export function fromExperiment(e: Experiment, copy = false): ExperimentDraft {
  const slot = Boolean(e.target.slotId);
  return {
    id: copy ? `${e.id}-2`.slice(0, 100) : e.id,
    name: copy ? `${e.name} (copy)` : e.name,
    hypothesis: e.hypothesis ?? "",
    target: slot ? "slot" : "template",
    slotId: e.target.slotId ?? "",
    templateId: e.target.templateId ?? "",
    variants: e.variants.map((v) => {
      const content = v.content ?? {};
      const flat = Object.values(content).every((x) => typeof x === "string");
      return {
        id: v.id,
        weight: v.weight ?? 1,
        content: flat ? Object.entries(content).map(([name, value]) => ({ name, value: String(value) })) : [],
        json: flat ? null : JSON.stringify(content, null, 2),
        subject: v.subject ?? "",
        html: v.html ?? "",
      };
    }),
    goal: e.goal.click ? "click" : "event",
    event: e.goal.event ?? "",
    where: Object.entries(e.goal.where ?? {}).map(([name, value]) => ({ name, value: text(value) })),
    urlContains: e.goal.urlContains ?? "",
    coverage: Math.round((e.coverage ?? 1) * 10000) / 100,
    startAt: toLocalInput(e.startAt),
    stopAt: toLocalInput(e.stopAt),
    audience: targetingOf(e.audience),
  };
}

export function contentOf(v: VariantDraft): Record<string, unknown> {
  if (v.json !== null) return JSON.parse(v.json) as Record<string, unknown>;
  return Object.fromEntries(v.content.filter((p) => p.name.trim()).map((p) => [p.name.trim(), p.value]));
}

/** What the form says the API should get (`PUT /v1/experiments/{id}`); call `check` first. */
export function toBody(d: ExperimentDraft): Record<string, unknown> {
  const slot = d.target === "slot";
  const body: Record<string, unknown> = {
    name: d.name.trim(),
    hypothesis: d.hypothesis.trim(),
    target: slot ? { slotId: d.slotId } : { templateId: d.templateId },
    variants: d.variants.map((v) => {
      const out: Record<string, unknown> = { id: v.id.trim(), weight: numberOr(v.weight) };
      if (slot) out.content = contentOf(v);
      else {
        if (v.subject.trim()) out.subject = v.subject;
        if (v.html.trim()) out.html = v.html;
      }
      return out;
    }),
    goal:
      d.goal === "click"
        ? { click: true, ...(d.urlContains.trim() ? { urlContains: d.urlContains.trim() } : {}) }
        : { event: d.event.trim(), where: Object.fromEntries(d.where.filter((p) => p.name.trim()).map((p) => [p.name.trim(), scalar(p.value)])) },
    coverage: typeof d.coverage === "number" ? d.coverage / 100 : numberOr(d.coverage),
  };
  if (d.startAt) body.startAt = toIso(d.startAt);
  if (d.stopAt) body.stopAt = toIso(d.stopAt);
  const { condition } = targetingCondition(d.audience, "audience");
  if (condition) body.audience = condition;
  return body;
}

/** What the console can tell before asking the API (the API checks everything again): faults by the API's paths. */
export function check(d: ExperimentDraft, takenIds: string[] | null): { field: string; message: string }[] {
  const faults: { field: string; message: string }[] = [];
  if (!ID_PATTERN.test(d.id)) faults.push({ field: "experimentId", message: "letters, digits, - and _ only (1 to 100)" });
  else if (takenIds?.includes(d.id)) faults.push({ field: "experimentId", message: `an experiment ${d.id} exists already: choose another id` });
  if (!d.name.trim()) faults.push({ field: "name", message: "give the experiment a name" });
  if (d.target === "slot" && !d.slotId) faults.push({ field: "target.slotId", message: "choose the slot it tests" });
  if (d.target === "template" && !d.templateId) faults.push({ field: "target.templateId", message: "choose the email template it tests" });
  const seen = new Set<string>();
  d.variants.forEach((v, i) => {
    if (seen.has(v.id.trim())) faults.push({ field: `variants[${i}].id`, message: `another variant is already ${v.id.trim()}` });
    seen.add(v.id.trim());
    if (d.target === "slot" && v.json !== null) {
      try {
        const parsed: unknown = JSON.parse(v.json);
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) faults.push({ field: `variants[${i}].content`, message: "must be a JSON object: {\"title\": \"…\"}" });
      } catch {
        faults.push({ field: `variants[${i}].content`, message: "not valid JSON" });
      }
    }
  });
  if (d.goal === "event" && !d.event.trim()) faults.push({ field: "goal.event", message: "name the event that counts as a conversion" });
  if (d.startAt && d.stopAt && d.stopAt <= d.startAt) faults.push({ field: "stopAt", message: "must be after the start" });
  faults.push(...targetingCondition(d.audience, "audience").faults);
  return faults;
}

export function idFrom(name: string): string {
  return slug(name);
}
