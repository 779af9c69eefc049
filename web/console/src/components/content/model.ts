// The content forms' model: what the content API stores (slots, catalogue items, email templates), the drafts a
// marketer fills in, and the translation between the two. A variant's targeting is the segments condition language
// (services/common/conditions, docs/content.md) restricted to what content answers at decide time: segments,
// questionnaire answers, scores and tiers, traits and the visit (device, place, referrer, time, new or returning,
// known or anonymous); `all` / `any` over those. Anything else (nesting, `not`) is edited as JSON.
import { ENVIRONMENT, TRAIT_OPS, fromCondition, leaf, missing, type Condition, type Json, type TraitRule } from "../segments/model";

export type { Condition, Json };
export type Obj = { [key: string]: Json };

// ---- what the API stores ---------------------------------------------------------------------------------------

export interface Item {
  id: string;
  title: string;
  url?: string;
  path?: string;
  type?: string;
  topics?: string[];
  keywords?: string[];
  segments?: string[];
  locale?: string;
  publishedAt?: string;
  updatedAt?: string;
  summary?: string;
  image?: string;
}

export interface Variant {
  variantId: string;
  segmentId?: string;
  when?: Obj;
  content?: Obj;
}

export interface Slot {
  slotId: string;
  name?: string;
  type: string;
  updatedAt?: string;
  variants: Variant[];
  list?: { limit?: number; types?: string[]; topicsByAudience?: Record<string, string[]> };
}

export interface TemplateSource {
  subject?: string;
  html?: string;
  text?: string;
  preheader?: string;
}

export interface Template {
  id: string;
  name?: string;
  version?: number;
  updatedAt?: string;
  source: TemplateSource;
}

/** What targeting and audiences may name, with names for people (loaded once by the Content page). */
export interface Choices {
  segments: { value: string; label: string }[];
  questionnaires: { id: string; name: string; keys: { value: string; label: string }[] }[];
  plans: { id: string; name: string; tiers: string[] }[];
  /** Segment ids and questionnaire segment keys (and `neutral`): whom items and list slots are for. */
  audiences: { value: string; label: string }[];
}

export const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
export const ID_HINT = "Letters, digits, - and _ (up to 100); it cannot be changed later";

/** A new id from a name: `Home page hero` → `home-page-hero`. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
}

// ---- targeting rules -------------------------------------------------------------------------------------------

export const VISIT_FIELDS: Record<string, { label: string; options?: { value: string; label: string }[]; numeric?: boolean }> = {
  visitor: {
    label: "New or returning visitor",
    options: [
      { value: "new", label: "new (first visit)" },
      { value: "returning", label: "returning (an earlier visit ended)" },
    ],
  },
  identity: {
    label: "Known or anonymous",
    options: [
      { value: "known", label: "known (a user id or an email)" },
      { value: "anonymous", label: "anonymous" },
    ],
  },
  ...ENVIRONMENT,
};

export const SCORE_OPS = [
  { value: "gte", label: "is at least" },
  { value: "gt", label: "is more than" },
  { value: "lte", label: "is at most" },
  { value: "lt", label: "is less than" },
  { value: "equals", label: "is exactly" },
  { value: "between", label: "is between" },
];

export type TargetRule =
  | { id: number; kind: "segment"; segment: string }
  | { id: number; kind: "questionnaire"; questionnaire: string; op: "in" | "neutral" | "answered"; keys: string[] }
  | { id: number; kind: "score"; plan: string; op: string; value: string; high: string }
  | { id: number; kind: "tier"; plan: string; op: "atLeast" | "in"; tiers: string[] }
  | { id: number; kind: "visit"; field: string; values: string[]; text: string }
  | { id: number; kind: "trait"; trait: string; op: string; value: string };

export type RuleKind = TargetRule["kind"];

let ruleIds = 0;
export const nextId = () => ++ruleIds;

export function newRule(kind: RuleKind, choices: Choices, field = "visitor"): TargetRule {
  const id = nextId();
  switch (kind) {
    case "segment":
      return { id, kind, segment: choices.segments[0]?.value ?? "" };
    case "questionnaire":
      return { id, kind, questionnaire: choices.questionnaires[0]?.id ?? "", op: "in", keys: [] };
    case "score":
      return { id, kind, plan: choices.plans[0]?.id ?? "", op: "gte", value: "", high: "" };
    case "tier":
      return { id, kind, plan: choices.plans.find((p) => p.tiers.length)?.id ?? "", op: "atLeast", tiers: [] };
    case "visit":
      return { id, kind, field, values: field === "visitor" ? ["returning"] : [], text: "" };
    default:
      return { id, kind: "trait", trait: "", op: "equals", value: "" };
  }
}

function numberText(text: string): number | null {
  const trimmed = text.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : null;
}

function traitRule(rule: Extract<TargetRule, { kind: "trait" }>): TraitRule {
  return { kind: "trait", trait: rule.trait, op: rule.op, value: rule.value };
}

function visitValues(rule: Extract<TargetRule, { kind: "visit" }>): string[] {
  if (VISIT_FIELDS[rule.field]?.options) return rule.values;
  return rule.text
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/** What a rule still needs before it means something (null: complete), with the field it concerns. */
export function ruleGap(rule: TargetRule): { field: string; message: string } | null {
  switch (rule.kind) {
    case "segment":
      return rule.segment ? null : { field: "inSegment", message: "Choose a segment" };
    case "questionnaire":
      if (!rule.questionnaire) return { field: "questionnaire", message: "Choose a questionnaire" };
      return rule.op === "in" && rule.keys.length === 0 ? { field: "value", message: "Tick at least one of its segments" } : null;
    case "score":
      if (!rule.plan) return { field: "score", message: "Choose a scoring plan" };
      if (numberText(rule.value) === null) return { field: "value", message: "A number" };
      return rule.op === "between" && numberText(rule.high) === null ? { field: "value", message: "Two numbers: from and to" } : null;
    case "tier":
      if (!rule.plan) return { field: "tier", message: "Choose a scoring plan" };
      return rule.tiers.length === 0 ? { field: "value", message: "Choose a tier" } : null;
    case "visit":
      return visitValues(rule).length ? null : { field: "value", message: "At least one value" };
    case "trait": {
      const lack = missing(traitRule(rule));
      return lack ? { field: rule.trait.trim() ? "value" : "trait", message: `Still needed: ${lack}` } : null;
    }
  }
}

export function ruleCondition(rule: TargetRule): Condition {
  switch (rule.kind) {
    case "segment":
      return { inSegment: rule.segment };
    case "questionnaire":
      if (rule.op !== "in") return { questionnaire: rule.questionnaire, op: rule.op };
      return rule.keys.length === 1 ? { questionnaire: rule.questionnaire, op: "equals", value: rule.keys[0] } : { questionnaire: rule.questionnaire, op: "in", value: rule.keys };
    case "score": {
      const low = numberText(rule.value) ?? 0;
      return { score: rule.plan, op: rule.op, value: rule.op === "between" ? [low, numberText(rule.high) ?? low] : low };
    }
    case "tier":
      return rule.op === "atLeast" ? { tier: rule.plan, op: "atLeast", value: rule.tiers[0] ?? "" } : { tier: rule.plan, op: "in", value: rule.tiers };
    case "visit": {
      const numeric = VISIT_FIELDS[rule.field]?.numeric;
      return { environment: rule.field, op: "in", value: visitValues(rule).map((v) => (numeric ? Number(v) : v)) };
    }
    case "trait":
      return leaf(traitRule(rule));
  }
}

function strings(value: Json | undefined): string[] | null {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  return null;
}

/** A saved leaf as a rule, or null when the form cannot show it. */
export function ruleOf(node: Json): TargetRule | null {
  if (!node || typeof node !== "object" || Array.isArray(node)) return null;
  const c = node as Obj;
  const id = nextId();
  const keys = Object.keys(c);
  if ("inSegment" in c) return keys.length === 1 && typeof c.inSegment === "string" ? { id, kind: "segment", segment: c.inSegment } : null;
  if ("questionnaire" in c) {
    if (typeof c.questionnaire !== "string") return null;
    if (c.op === "neutral" || c.op === "answered") return keys.length === 2 ? { id, kind: "questionnaire", questionnaire: c.questionnaire, op: c.op, keys: [] } : null;
    const values = c.op === "equals" || c.op === "in" ? strings(c.value) : null;
    return values ? { id, kind: "questionnaire", questionnaire: c.questionnaire, op: "in", keys: values } : null;
  }
  if ("score" in c) {
    if (typeof c.score !== "string" || !SCORE_OPS.some((o) => o.value === c.op)) return null;
    if (c.op === "between") {
      const pair = Array.isArray(c.value) && c.value.length === 2 && c.value.every((v) => typeof v === "number") ? (c.value as number[]) : null;
      return pair ? { id, kind: "score", plan: c.score, op: "between", value: String(pair[0]), high: String(pair[1]) } : null;
    }
    return typeof c.value === "number" ? { id, kind: "score", plan: c.score, op: String(c.op), value: String(c.value), high: "" } : null;
  }
  if ("tier" in c) {
    if (typeof c.tier !== "string") return null;
    if (c.op === "atLeast" && typeof c.value === "string") return { id, kind: "tier", plan: c.tier, op: "atLeast", tiers: [c.value] };
    const values = c.op === "equals" || c.op === "in" ? strings(c.value) : null;
    return values ? { id, kind: "tier", plan: c.tier, op: "in", tiers: values } : null;
  }
  if ("environment" in c) {
    const field = String(c.environment);
    const spec = VISIT_FIELDS[field];
    if (!spec || (c.op !== "in" && c.op !== "equals")) return null;
    const raw = Array.isArray(c.value) ? c.value : [c.value];
    if (raw.some((v) => v === null || typeof v === "object")) return null;
    const values = raw.map((v) => String(v));
    return { id, kind: "visit", field, values: spec.options ? values : [], text: spec.options ? "" : values.join(", ") };
  }
  if ("trait" in c) {
    const parsed = fromCondition(c as Condition);
    const rule = parsed?.rules[0];
    if (!rule || rule.kind !== "trait") return null;
    return { id, kind: "trait", trait: rule.trait, op: rule.op, value: rule.value };
  }
  return null;
}

export interface Targeting {
  match: "all" | "any";
  rules: TargetRule[];
  /** Set when the condition is edited as JSON (it uses more than the form offers). */
  json: string | null;
}

export function targetingOf(when: Obj | null | undefined): Targeting {
  if (!when) return { match: "all", rules: [], json: null };
  for (const match of ["all", "any"] as const) {
    if (match in when && Object.keys(when).length === 1 && Array.isArray(when[match])) {
      const rules = (when[match] as Json[]).map(ruleOf);
      if (rules.length && rules.every((r) => r !== null)) return { match, rules: rules as TargetRule[], json: null };
      return { match: "all", rules: [], json: JSON.stringify(when, null, 2) };
    }
  }
  const single = ruleOf(when);
  return single ? { match: "all", rules: [single], json: null } : { match: "all", rules: [], json: JSON.stringify(when, null, 2) };
}

/** A targeting's condition (null when it has no rule), with what keeps it from being one at the API's paths under
 * `at` (`variants[1].when`, `audience`). */
export function targetingCondition(t: Targeting, at: string): { condition: Obj | null; faults: FieldError[] } {
  const faults: FieldError[] = [];
  if (t.json !== null) {
    try {
      const parsed = JSON.parse(t.json) as Json;
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      return { condition: parsed as Obj, faults };
    } catch {
      return { condition: null, faults: [{ field: at, message: "Not valid JSON: a condition is an object" }] };
    }
  }
  if (t.rules.length === 0) return { condition: null, faults };
  t.rules.forEach((rule, k) => {
    const gap = ruleGap(rule);
    if (gap) faults.push({ field: `${at}${t.rules.length > 1 ? `.${t.match}[${k}]` : ""}.${gap.field}`, message: gap.message });
  });
  const only = t.rules.length === 1 ? t.rules[0] : null;
  return { condition: only ? ruleCondition(only) : { [t.match]: t.rules.map(ruleCondition) }, faults };
}

/** An error at a path inside a targeting (`any[1].value`, already without its `when.` or `audience.`) onto its
 * rule's field, by the rule's id (so it stays put when rules move), else as a line of its own. */
export function placeTargetingError(t: Targeting, path: string, message: string, into: { targeting: string[]; rules: Record<number, Record<string, string>> }) {
  const many = t.rules.length > 1 ? new RegExp(`^${t.match}\\[(\\d+)\\]\\.?(.*)$`).exec(path) : null;
  const rule = t.json !== null ? undefined : t.rules.length === 1 ? t.rules[0] : many ? t.rules[Number(many[1])] : undefined;
  const field = t.rules.length === 1 ? path : many ? many[2] : "";
  if (rule && field) add((into.rules[rule.id] ??= {}), field.split(/[.[]/)[0], message);
  else into.targeting.push(path ? `${path}: ${message}` : message);
}

// ---- slots -----------------------------------------------------------------------------------------------------

export const CONTENT_FIELDS = [
  { key: "title", label: "Title" },
  { key: "body", label: "Text" },
  { key: "image", label: "Image URL" },
  { key: "link", label: "Link" },
] as const;

export type ContentKey = (typeof CONTENT_FIELDS)[number]["key"];

export interface ExtraField {
  id: number;
  key: string;
  value: string;
  /** The value is JSON (a number, a list, an object), not text. */
  json: boolean;
}

export interface VariantDraft {
  key: number;
  variantId: string;
  targeting: Targeting;
  /** Saved with the `segmentId` shorthand: kept that way while its targeting stays one segment. */
  shorthand: boolean;
  content: Record<ContentKey, string> & { extra: ExtraField[] };
}

export interface SlotDraft {
  slotId: string;
  name: string;
  type: "variants" | "list";
  variants: VariantDraft[];
  /** The key of the variant shown to everyone no other variant matches. */
  defaultKey: number;
  limit: number;
  types: string[];
  audiences: { id: number; audience: string; topics: string[] }[];
}

export function newVariant(variants: VariantDraft[]): VariantDraft {
  const taken = new Set(variants.map((v) => v.variantId));
  let n = variants.length + 1;
  while (taken.has(`variant-${n}`)) n++;
  return { key: nextId(), variantId: `variant-${n}`, targeting: { match: "all", rules: [], json: null }, shorthand: false, content: { title: "", body: "", image: "", link: "", extra: [] } };
}

export function newSlotDraft(): SlotDraft {
  const first = newVariant([]);
  first.variantId = "default";
  return { slotId: "", name: "", type: "variants", variants: [first], defaultKey: first.key, limit: 6, types: [], audiences: [] };
}

function variantDraft(variant: Variant): VariantDraft {
  const content = variant.content ?? {};
  const known: Record<ContentKey, string> = { title: "", body: "", image: "", link: "" };
  const extra: ExtraField[] = [];
  for (const [key, value] of Object.entries(content)) {
    if (key in known && typeof value === "string") known[key as ContentKey] = value;
    else extra.push({ id: nextId(), key, value: typeof value === "string" ? value : JSON.stringify(value), json: typeof value !== "string" });
  }
  const when = variant.when ?? (variant.segmentId ? { inSegment: variant.segmentId } : null);
  return { key: nextId(), variantId: variant.variantId, targeting: targetingOf(when), shorthand: Boolean(variant.segmentId && !variant.when), content: { ...known, extra } };
}

export function slotDraft(slot: Slot): SlotDraft {
  const variants = (slot.variants ?? []).map(variantDraft);
  const defaultIndex = (slot.variants ?? []).findIndex((v) => !v.when && !v.segmentId);
  const audiences = Object.entries(slot.list?.topicsByAudience ?? {}).map(([audience, topics]) => ({ id: nextId(), audience, topics }));
  return {
    slotId: slot.slotId,
    name: slot.name ?? "",
    type: slot.type === "list" ? "list" : "variants",
    variants: variants.length ? variants : [newVariant([])],
    defaultKey: variants[defaultIndex >= 0 ? defaultIndex : 0]?.key ?? 0,
    limit: slot.list?.limit ?? 6,
    types: slot.list?.types ?? [],
    audiences,
  };
}

export interface FieldError {
  field: string;
  message: string;
}

/** The slot's body for `PUT /v1/content/slots/{slotId}`, and what is wrong before it is sent (paths as the API's). */
export function slotBody(draft: SlotDraft): { body: Obj; faults: FieldError[] } {
  const faults: FieldError[] = [];
  if (!draft.slotId.trim()) faults.push({ field: "slotId", message: "Give the slot an id" });
  else if (!ID_PATTERN.test(draft.slotId.trim())) faults.push({ field: "slotId", message: ID_HINT.split(";")[0] });
  if (!draft.name.trim()) faults.push({ field: "name", message: "Give the slot a name" });
  if (draft.type === "list") {
    const topicsByAudience: Record<string, Json> = {};
    draft.audiences.forEach((row) => {
      if (row.audience) topicsByAudience[row.audience] = row.topics;
    });
    const list: Obj = { limit: draft.limit, topicsByAudience };
    if (draft.types.length) list.types = draft.types;
    return { body: { name: draft.name.trim(), type: "list", list }, faults };
  }
  const variants = draft.variants.map((v, i): Obj => {
    const out: Obj = { variantId: v.variantId.trim() };
    if (!v.variantId.trim()) faults.push({ field: `variants[${i}].variantId`, message: "Give the variant an id" });
    if (v.key !== draft.defaultKey) {
      const t = v.targeting;
      const { condition, faults: gaps } = targetingCondition(t, `variants[${i}].when`);
      faults.push(...gaps);
      const only = t.json === null && t.rules.length === 1 ? t.rules[0] : null;
      if (t.json === null && t.rules.length === 0) faults.push({ field: `variants[${i}].when`, message: "Add who sees this variant, or make it the default" });
      else if (only && only.kind === "segment" && v.shorthand) out.segmentId = only.segment;
      else if (condition) out.when = condition;
    }
    const content: Obj = {};
    for (const { key } of CONTENT_FIELDS) if (v.content[key].trim()) content[key] = v.content[key].trim();
    v.content.extra.forEach((f, k) => {
      const name = f.key.trim();
      if (!name) {
        if (f.value.trim()) faults.push({ field: `variants[${i}].content.extra[${k}]`, message: "Give the field a name" });
        return;
      }
      if (!f.json) content[name] = f.value;
      else
        try {
          content[name] = JSON.parse(f.value) as Json;
        } catch {
          faults.push({ field: `variants[${i}].content.extra[${k}]`, message: "Not valid JSON" });
        }
    });
    out.content = content;
    return out;
  });
  return { body: { name: draft.name.trim(), type: "variants", variants }, faults };
}

// ---- where an error goes ---------------------------------------------------------------------------------------

/** An API message without pydantic's prefix. */
export function plain(message: string): string {
  return message.replace(/^Value error, /, "");
}

export interface VariantErrors {
  variantId?: string;
  content?: string;
  extra: Record<number, string>; // by extra field id
  targeting: string[];
  rules: Record<number, Record<string, string>>; // by rule id: field → message
}

export interface SlotErrors {
  fields: Record<string, string>; // slotId, name, type, list.limit, list.types, list.topicsByAudience
  variants: Record<number, VariantErrors>; // by variant key
  general: string[]; // what names no field the form shows
}

function add(into: Record<string, string>, field: string, message: string) {
  into[field] = into[field] ? `${into[field]}; ${message}` : message;
}

/** Each error at the field of the draft it names, by the keys of variants and rules (so they stay put when the
 * marketer reorders variants after the refusal). */
export function slotErrors(errors: FieldError[], draft: SlotDraft): SlotErrors {
  const out: SlotErrors = { fields: {}, variants: {}, general: [] };
  for (const e of errors) {
    const message = plain(e.message);
    const top = /^(slotId|name|type|list(?:\.(limit|types|topicsByAudience))?)(?:[.[].*)?$/.exec(e.field);
    if (top) {
      add(out.fields, top[1] === "list" ? "list.topicsByAudience" : top[1], message);
      continue;
    }
    const found = /^variants\[(\d+)\](?:\.(.*))?$/.exec(e.field);
    const variant = found ? draft.variants[Number(found[1])] : undefined;
    if (!found || !variant) {
      out.general.push(e.field && e.field !== "body" ? `${e.field}: ${message}` : message);
      continue;
    }
    const v = (out.variants[variant.key] ??= { extra: {}, targeting: [], rules: {} });
    const rest = found[2] ?? "";
    if (rest === "variantId") v.variantId = v.variantId ? `${v.variantId}; ${message}` : message;
    else if (rest.startsWith("content")) {
      const extra = /^content\.extra\[(\d+)\]$/.exec(rest);
      const field = extra ? variant.content.extra[Number(extra[1])] : undefined;
      if (field) v.extra[field.id] = message;
      else v.content = rest === "content" ? message : `${rest.slice("content.".length)}: ${message}`;
    } else if (rest === "segmentId" || rest.startsWith("when")) {
      placeTargetingError(variant.targeting, rest === "segmentId" ? "inSegment" : rest.replace(/^when\.?/, ""), message, v);
    } else v.targeting.push(rest ? `${rest}: ${message}` : message);
  }
  return out;
}

/** Errors by the top-level field they name (items and templates: the API's fields are the form's). */
export function byField(errors: FieldError[], fields: readonly string[]): { fields: Record<string, string>; general: string[] } {
  const out: { fields: Record<string, string>; general: string[] } = { fields: {}, general: [] };
  for (const e of errors) {
    const name = e.field.split(/[.[]/)[0];
    const message = plain(e.message);
    if (fields.includes(name)) add(out.fields, name, e.field === name ? message : `${e.field.slice(name.length).replace(/^\./, "")}: ${message}`);
    else out.general.push(e.field && e.field !== "body" ? `${e.field}: ${message}` : message);
  }
  return out;
}

// ---- catalogue items -------------------------------------------------------------------------------------------

export const ITEM_FIELDS = ["id", "itemId", "title", "url", "path", "type", "topics", "keywords", "segments", "locale", "publishedAt", "summary", "image"] as const;

export interface ItemDraft {
  id: string;
  title: string;
  url: string;
  path: string;
  type: string;
  topics: string[];
  keywords: string[];
  segments: string[];
  locale: string;
  /** `YYYY-MM-DDTHH:MM:SS`, UTC (a datetime-local input). */
  publishedAt: string;
  summary: string;
  image: string;
}

export function utcInput(iso: string | undefined | null): string {
  if (!iso) return "";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : at.toISOString().slice(0, 19);
}

export function itemDraft(item: Item | null, now: Date): ItemDraft {
  return {
    id: item?.id ?? "",
    title: item?.title ?? "",
    url: item?.url ?? "",
    path: item?.path ?? "",
    type: item?.type ?? "article",
    topics: item?.topics ?? [],
    keywords: item?.keywords ?? [],
    segments: item?.segments ?? [],
    locale: item?.locale ?? "",
    publishedAt: utcInput(item?.publishedAt) || utcInput(new Date(Math.floor(now.getTime() / 60000) * 60000).toISOString()),
    summary: item?.summary ?? "",
    image: item?.image ?? "",
  };
}

export function itemBody(draft: ItemDraft): { body: Obj; faults: FieldError[] } {
  const faults: FieldError[] = [];
  if (!draft.id.trim()) faults.push({ field: "id", message: "Give the item an id (what a page's contentId names)" });
  else if (!ID_PATTERN.test(draft.id.trim())) faults.push({ field: "id", message: ID_HINT.split(";")[0] });
  if (!draft.path.trim() && !draft.url.trim()) faults.push({ field: "path", message: "A path or a URL is needed: where the item lives" });
  const body: Obj = { title: draft.title.trim(), type: draft.type.trim() || "article", topics: draft.topics, keywords: draft.keywords, segments: draft.segments };
  if (draft.publishedAt) body.publishedAt = `${draft.publishedAt.length === 16 ? `${draft.publishedAt}:00` : draft.publishedAt}Z`;
  for (const key of ["url", "path", "locale", "summary", "image"] as const) if (draft[key].trim()) body[key] = draft[key].trim();
  return { body, faults };
}

// ---- templates ---------------------------------------------------------------------------------------------------

export const TEMPLATE_FIELDS = ["templateId", "name", "subject", "preheader", "html", "text"] as const;

export interface TemplateDraft {
  id: string;
  name: string;
  subject: string;
  preheader: string;
  html: string;
  text: string;
}

export const STARTER_HTML = `<h1>Hi {{ profile.firstName | default: "there" }},</h1>
<p>Write your message here.</p>
{% assign picks = catalogue | newest: 3, for_reader: true %}
<ul>
{% for item in picks %}<li>{{ item.title }}</li>
{% endfor %}</ul>`;

export function templateDraft(template: Template | null): TemplateDraft {
  return {
    id: template?.id ?? "",
    name: template?.name ?? "",
    subject: template?.source.subject ?? "",
    preheader: template?.source.preheader ?? "",
    html: template ? (template.source.html ?? "") : STARTER_HTML,
    text: template?.source.text ?? "",
  };
}

export function templateBody(draft: TemplateDraft): { body: Obj; faults: FieldError[] } {
  const faults: FieldError[] = [];
  if (!draft.id.trim()) faults.push({ field: "templateId", message: "Give the template an id" });
  else if (!ID_PATTERN.test(draft.id.trim())) faults.push({ field: "templateId", message: ID_HINT.split(";")[0] });
  const body: Obj = { name: draft.name.trim(), subject: draft.subject, html: draft.html };
  if (draft.preheader.trim()) body.preheader = draft.preheader;
  if (draft.text.trim()) body.text = draft.text;
  return { body, faults };
}

/** Whether a draft differs from what is saved. */
export function templateChanged(draft: TemplateDraft, template: Template | null): boolean {
  return JSON.stringify(templateDraft(template)) !== JSON.stringify(draft) || !template;
}

export { TRAIT_OPS };
