// Scoring plans and questionnaires as the segments service keeps them (services/segments/domain/scoring.py and
// questionnaires.py: what `parse_plan` and `parse_questionnaire` accept) and as the forms edit them.
import { numberOr, scalar, slug } from "../forms";
import { fromCondition, leaf, TRAIT_OPS, type Json } from "../segments/model";

// ---- scoring plans --------------------------------------------------------------------------------------------

export interface Rule {
  name: string;
  activity?: Json;
  traits?: Json;
  points: number;
  maxPerDay?: number;
  maxLifetime?: number;
}

export interface Plan {
  planId: string;
  name: string;
  description?: string;
  version: number;
  rules: Rule[];
  decay?: { expireAfterDays?: number; percentPerWeek?: number } | null;
  tiers: { name: string; min?: number | null }[];
}

/** Rule, tier and questionnaire segment names: lowercase letters, digits, - and _ (scoring.py NAME, KEY). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,49}$/;

export const WHERE_OPS = [
  { value: "equals", label: "is" },
  { value: "in", label: "is one of (comma-separated)" },
  { value: "contains", label: "contains" },
  { value: "startsWith", label: "starts with" },
  { value: "gt", label: "is more than" },
  { value: "gte", label: "is at least" },
  { value: "lt", label: "is less than" },
  { value: "lte", label: "is at most" },
  { value: "exists", label: "is set" },
];

export interface WhereDraft {
  property: string;
  op: string;
  value: string;
}

export interface RuleDraft {
  name: string;
  nameEdited: boolean;
  points: number | string;
  source: "event" | "page" | "trait";
  event: string;
  where: WhereDraft[];
  maxPerDay: number | string;
  maxLifetime: number | string;
  trait: string;
  op: string;
  value: string;
  json: string | null; // the rule's activity or traits as JSON, when it is more than the form shows
}

export interface TierDraft {
  name: string;
  min: number | string;
}

export interface PlanDraft {
  name: string;
  description: string;
  rules: RuleDraft[];
  decay: "none" | "expire" | "percent";
  expireAfterDays: number | string;
  percentPerWeek: number | string;
  tiers: TierDraft[];
}

export function newRule(source: RuleDraft["source"] = "event"): RuleDraft {
  return {
    name: source === "page" ? "page-view" : source === "trait" ? "has-email" : "",
    nameEdited: false,
    points: 10,
    source,
    event: "",
    where: source === "page" ? [{ property: "path", op: "startsWith", value: "" }] : [],
    maxPerDay: "",
    maxLifetime: "",
    trait: source === "trait" ? "email" : "",
    op: source === "trait" ? "exists" : "equals",
    value: "",
    json: null,
  };
}

export function emptyPlan(): PlanDraft {
  return {
    name: "",
    description: "",
    rules: [newRule("event")],
    decay: "none",
    expireAfterDays: 90,
    percentPerWeek: 10,
    tiers: [
      { name: "cold", min: "" },
      { name: "warm", min: 10 },
      { name: "hot", min: 50 },
    ],
  };
}

const text = (value: Json | undefined) => (Array.isArray(value) ? value.map(String).join(", ") : value === undefined || value === null ? "" : String(value));
const obj = (value: Json | undefined) => (value && typeof value === "object" && !Array.isArray(value) ? value : null);

function ruleDraft(rule: Rule): RuleDraft {
  const base = { ...newRule("event"), name: rule.name, nameEdited: true, points: rule.points, maxPerDay: rule.maxPerDay ?? "", maxLifetime: rule.maxLifetime ?? "" };
  const traits = obj(rule.traits);
  if (traits) {
    const parsed = fromCondition(traits);
    const only = parsed && parsed.rules.length === 1 && parsed.rules[0].kind === "trait" ? parsed.rules[0] : null;
    return only ? { ...base, source: "trait", trait: only.trait, op: only.op, value: only.value } : { ...base, source: "trait", json: JSON.stringify(rule.traits, null, 2) };
  }
  const activity = obj(rule.activity);
  const type = activity ? String(activity.type ?? (activity.event ? "track" : "")) : "";
  const where = activity && Array.isArray(activity.where) ? activity.where.map(obj) : [];
  const simple =
    activity &&
    (type === "track" || (type === "page" && activity.event === undefined)) &&
    Object.keys(activity).every((k) => ["type", "event", "where"].includes(k)) &&
    where.every((w) => w && typeof w.property === "string" && WHERE_OPS.some((o) => o.value === w.op));
  if (!simple) return { ...base, source: type === "page" ? "page" : "event", json: JSON.stringify(rule.activity ?? {}, null, 2) };
  return {
    ...base,
    source: type === "page" ? "page" : "event",
    event: String(activity.event ?? ""),
    where: where.map((w) => ({ property: String(w!.property), op: String(w!.op), value: text(w!.value) })),
  };
}

export function fromPlan(plan: Plan): PlanDraft {
  return {
    name: plan.name,
    description: plan.description ?? "",
    rules: plan.rules.map(ruleDraft),
    decay: plan.decay?.expireAfterDays ? "expire" : plan.decay?.percentPerWeek ? "percent" : "none",
    expireAfterDays: plan.decay?.expireAfterDays ?? 90,
    percentPerWeek: plan.decay?.percentPerWeek ?? 10,
    tiers: plan.tiers.map((t) => ({ name: t.name, min: t.min ?? "" })),
  };
}

function whereValue(w: WhereDraft): Json {
  if (w.op === "in")
    return w.value
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean)
      .map(scalar);
  if (["gt", "gte", "lt", "lte"].includes(w.op)) return numberOr(w.value);
  if (w.op === "equals") return scalar(w.value);
  return w.value.trim();
}

export function ruleBody(r: RuleDraft): Record<string, Json> {
  const out: Record<string, Json> = { name: r.name.trim(), points: numberOr(r.points) };
  if (r.source === "trait") {
    out.traits = r.json !== null ? (JSON.parse(r.json) as Json) : leaf({ kind: "trait", trait: r.trait, op: r.op, value: r.value });
    return out;
  }
  if (r.json !== null) out.activity = JSON.parse(r.json) as Json;
  else {
    const activity: Record<string, Json> = r.source === "page" ? { type: "page" } : { type: "track", event: r.event.trim() };
    const where = r.where
      .filter((w) => w.property.trim())
      .map((w) => {
        const clause: Record<string, Json> = { property: w.property.trim(), op: w.op };
        if (w.op !== "exists") clause.value = whereValue(w);
        return clause;
      });
    if (where.length) activity.where = where;
    out.activity = activity;
  }
  if (r.maxPerDay !== "") out.maxPerDay = numberOr(r.maxPerDay);
  if (r.maxLifetime !== "") out.maxLifetime = numberOr(r.maxLifetime);
  return out;
}

export function planBody(d: PlanDraft): Record<string, Json> {
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    rules: d.rules.map(ruleBody),
    decay: d.decay === "expire" ? { expireAfterDays: numberOr(d.expireAfterDays) } : d.decay === "percent" ? { percentPerWeek: numberOr(d.percentPerWeek) } : null,
    tiers: d.tiers.map((t, i): Json => (i === 0 ? { name: t.name.trim() } : { name: t.name.trim(), min: numberOr(t.min) })),
  };
}

type Fault = { field: string; message: string };

function jsonFault(json: string | null, field: string): Fault | null {
  if (json === null) return null;
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? null : { field, message: "must be a JSON object" };
  } catch {
    return { field, message: "not valid JSON" };
  }
}

/** What the console can tell before asking the API (which checks everything again). */
export function checkPlan(d: PlanDraft): Fault[] {
  const faults: Fault[] = [];
  if (!d.name.trim()) faults.push({ field: "name", message: "give the plan a name" });
  d.rules.forEach((r, i) => {
    const found = jsonFault(r.json, `rules[${i}].${r.source === "trait" ? "traits" : "activity"}`);
    if (found) faults.push(found);
    if (r.json === null && r.source === "trait" && !r.trait.trim()) faults.push({ field: `rules[${i}].traits.trait`, message: "name the trait" });
  });
  return faults;
}

/** A tier's range in words: "10 to below 50", "50 and more". */
export function tierRange(tiers: TierDraft[], i: number): string {
  const low = i === 0 ? null : Number(tiers[i].min);
  const next = tiers[i + 1] ? Number(tiers[i + 1].min) : null;
  const valid = (n: number | null) => n !== null && !Number.isNaN(n);
  if (i === 0) return valid(next) ? `below ${next}` : "every score";
  if (!valid(low)) return "";
  return valid(next) ? `${low} to below ${next}` : `${low} and more`;
}

export function ruleNameFrom(text: string): string {
  const made = slug(text, 50);
  return made && /^[a-z0-9]/.test(made) ? made : "";
}

export const TRAIT_CHOICES = TRAIT_OPS.map(({ value, label }) => ({ value, label }));

// ---- questionnaires -------------------------------------------------------------------------------------------

export interface Questionnaire {
  questionnaireId: string;
  name: string;
  description?: string;
  event?: string;
  version: number;
  questions: { id: string; text?: string }[];
  scale?: { min: number; max: number } | null;
  key: { method: string; segments: { key: string; name?: string; centroid?: number[]; weights?: number[]; bias?: number }[] };
  minConfidence?: number;
}

export interface SegmentDraft {
  key: string;
  keyEdited: boolean;
  name: string;
  vector: (number | string)[]; // per question: the typical answer (centroids) or the weight (weights)
  bias: number | string;
}

export interface QuestionnaireDraft {
  name: string;
  description: string;
  event: string;
  questions: { id: string; text: string }[];
  low: number | string;
  high: number | string;
  method: "centroids" | "weights";
  segments: SegmentDraft[];
  minConfidence: number | string; // percent
}

export const DEFAULT_EVENT = "Questionnaire Answered";

export function middle(d: Pick<QuestionnaireDraft, "low" | "high" | "method">): number {
  if (d.method === "weights") return 0;
  const low = Number(d.low);
  const high = Number(d.high);
  return Number.isNaN(low) || Number.isNaN(high) ? 4 : Math.round((low + high) / 2);
}

export function emptyQuestionnaire(): QuestionnaireDraft {
  const blank = { low: 1, high: 7, method: "centroids" as const };
  return {
    name: "",
    description: "",
    event: DEFAULT_EVENT,
    questions: [
      { id: "q1", text: "" },
      { id: "q2", text: "" },
    ],
    ...blank,
    segments: [
      { key: "", keyEdited: false, name: "", vector: [7, 1], bias: 0 },
      { key: "", keyEdited: false, name: "", vector: [1, 7], bias: 0 },
    ],
    minConfidence: 0,
  };
}

export function fromQuestionnaire(q: Questionnaire): QuestionnaireDraft {
  const method = q.key.method === "weights" ? "weights" : "centroids";
  return {
    name: q.name,
    description: q.description ?? "",
    event: q.event ?? DEFAULT_EVENT,
    questions: q.questions.map((x) => ({ id: x.id, text: x.text ?? "" })),
    low: q.scale?.min ?? 1,
    high: q.scale?.max ?? 7,
    method,
    segments: q.key.segments.map((s) => ({
      key: s.key,
      keyEdited: true,
      name: s.name ?? "",
      vector: [...((method === "weights" ? s.weights : s.centroid) ?? [])],
      bias: s.bias ?? 0,
    })),
    minConfidence: Math.round((q.minConfidence ?? 0) * 10000) / 100,
  };
}

export function questionnaireBody(d: QuestionnaireDraft): Record<string, Json> {
  const field = d.method === "weights" ? "weights" : "centroid";
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    event: d.event.trim() || DEFAULT_EVENT,
    questions: d.questions.map((x): Json => (x.text.trim() ? { id: x.id.trim(), text: x.text.trim() } : { id: x.id.trim() })),
    scale: { min: numberOr(d.low), max: numberOr(d.high) },
    key: {
      method: d.method,
      segments: d.segments.map((s) => {
        const out: Record<string, Json> = { key: s.key.trim(), [field]: s.vector.map(numberOr) };
        if (s.name.trim()) out.name = s.name.trim();
        if (d.method === "weights") out.bias = numberOr(s.bias);
        return out;
      }),
    },
    minConfidence: typeof d.minConfidence === "number" ? d.minConfidence / 100 : numberOr(d.minConfidence),
  };
}

export function checkQuestionnaire(d: QuestionnaireDraft): Fault[] {
  const faults: Fault[] = [];
  if (!d.name.trim()) faults.push({ field: "name", message: "give the questionnaire a name" });
  const ids = new Set<string>();
  d.questions.forEach((x, i) => {
    if (ids.has(x.id.trim())) faults.push({ field: `questions[${i}].id`, message: `another question is already ${x.id.trim()}` });
    ids.add(x.id.trim());
  });
  const keys = new Set<string>();
  d.segments.forEach((s, i) => {
    if (!s.key.trim()) faults.push({ field: `key.segments[${i}].key`, message: "give the segment a key (or a name to make one from)" });
    else if (keys.has(s.key.trim())) faults.push({ field: `key.segments[${i}].key`, message: `another segment is already ${s.key.trim()}` });
    keys.add(s.key.trim());
  });
  return faults;
}

/** The next free question id: q3, q4… */
export function nextQuestionId(questions: { id: string }[]): string {
  const taken = new Set(questions.map((q) => q.id));
  for (let n = questions.length + 1; ; n++) if (!taken.has(`q${n}`)) return `q${n}`;
}
