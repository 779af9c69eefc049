// The segment builder's model: rules a marketer fills in (behaviour, trait, environment), combined with all/any,
// and their translation to and from the condition language (docs/segments.md, services/common/conditions/).
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Condition = { [key: string]: Json };

export interface PropertyFilter {
  property: string;
  op: string;
  value: string;
}

export interface BehaviourRule {
  kind: "behaviour";
  activity: "page" | "track";
  event: string;
  where: PropertyFilter[];
  count: "atLeast" | "atMost" | "exactly" | "never";
  times: number;
  withinDays: number | null; // null: ever
}

export interface TraitRule {
  kind: "trait";
  trait: string;
  op: string;
  value: string;
}

export interface EnvironmentRule {
  kind: "environment";
  field: string;
  values: string[]; // the options chosen (fields with a fixed list of values)
  text: string; // comma-separated values (free-text fields: country, campaign…)
}

export type Rule = BehaviourRule | TraitRule | EnvironmentRule;

export interface Draft {
  name: string;
  description: string;
  match: "all" | "any";
  rules: Rule[];
}

export const TRAIT_OPS: { value: string; label: string; needs: "text" | "number" | "list" | "range" | "none" | "date" }[] = [
  { value: "equals", label: "is", needs: "text" },
  { value: "in", label: "is one of", needs: "list" },
  { value: "contains", label: "contains", needs: "text" },
  { value: "startsWith", label: "starts with", needs: "text" },
  { value: "gt", label: "is more than", needs: "number" },
  { value: "gte", label: "is at least", needs: "number" },
  { value: "lt", label: "is less than", needs: "number" },
  { value: "lte", label: "is at most", needs: "number" },
  { value: "between", label: "is between", needs: "range" },
  { value: "before", label: "is a date before", needs: "date" },
  { value: "after", label: "is a date after", needs: "date" },
  { value: "withinLastDays", label: "is a date in the last … days", needs: "number" },
  { value: "exists", label: "is set", needs: "none" },
];

export const PROPERTY_OPS = [
  { value: "equals", label: "is" },
  { value: "contains", label: "contains" },
  { value: "startsWith", label: "starts with" },
];

export const COUNT_OPS = [
  { value: "atLeast", label: "at least" },
  { value: "atMost", label: "at most" },
  { value: "exactly", label: "exactly" },
  { value: "never", label: "never" },
];

export const ENVIRONMENT: Record<string, { label: string; options?: { value: string; label: string }[]; numeric?: boolean }> = {
  deviceType: { label: "Device", options: ["desktop", "mobile", "tablet", "bot", "other"].map((v) => ({ value: v, label: v })) },
  country: { label: "Country (ISO code)" },
  region: { label: "Region" },
  city: { label: "City" },
  referrerType: { label: "Came from", options: ["search", "social", "email", "paid", "internal", "direct", "other"].map((v) => ({ value: v, label: v })) },
  referrerSource: { label: "Referrer (site)" },
  campaign: { label: "Campaign" },
  campaignSource: { label: "Campaign source" },
  campaignMedium: { label: "Campaign medium" },
  searchTerms: { label: "Search terms" },
  partOfDay: { label: "Part of day", options: ["morning", "afternoon", "evening", "night"].map((v) => ({ value: v, label: v })) },
  weekday: {
    label: "Weekday",
    numeric: true,
    options: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"].map((label, i) => ({ value: String(i), label })),
  },
  hour: { label: "Hour of day", numeric: true, options: Array.from({ length: 24 }, (_, h) => ({ value: String(h), label: `${h}:00` })) },
};

export function newRule(kind: Rule["kind"]): Rule {
  if (kind === "behaviour")
    return { kind, activity: "page", event: "", where: [{ property: "path", op: "startsWith", value: "" }], count: "atLeast", times: 1, withinDays: 30 };
  if (kind === "trait") return { kind, trait: "", op: "equals", value: "" };
  return { kind, field: "deviceType", values: [], text: "" };
}

/** Text as the value a marketer meant: a plain number is a number, the rest stays text. */
function scalar(text: string): string | number {
  const trimmed = text.trim();
  return trimmed !== "" && /^-?(0|[1-9]\d*)(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

function list(text: string): (string | number)[] {
  return text
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean)
    .map(scalar);
}

/** What is still missing for a rule to mean something (null: it is complete). */
export function missing(rule: Rule): string | null {
  if (rule.kind === "behaviour") {
    if (rule.activity === "track" && !rule.event.trim()) return "the event's name";
    if (rule.count !== "never" && !(rule.times >= (rule.count === "atLeast" ? 1 : 0))) return "how many times";
    if (rule.withinDays !== null && !(rule.withinDays >= 1 && rule.withinDays <= 365)) return "a window of 1–365 days";
    return null;
  }
  if (rule.kind === "trait") {
    if (!rule.trait.trim()) return "the trait's name";
    const needs = TRAIT_OPS.find((o) => o.value === rule.op)?.needs;
    if (needs === "none") return null;
    if (!rule.value.trim()) return "a value";
    if (needs === "number" && Number.isNaN(Number(rule.value))) return "a number";
    if (needs === "range" && list(rule.value).length !== 2) return "two values: low, high";
    return null;
  }
  return environmentValues(rule).length ? null : "at least one value";
}

export function leaf(rule: Rule): Condition {
  if (rule.kind === "behaviour") {
    const filter: Condition = { type: rule.activity };
    if (rule.activity === "track") filter.event = rule.event.trim();
    const where = rule.where.filter((w) => w.property.trim() && w.value.trim()).map((w) => ({ property: w.property.trim(), op: w.op, value: w.value.trim() }));
    if (where.length) filter.where = where;
    const out: Condition = { behaviour: filter, op: rule.count };
    if (rule.count !== "never") out.value = rule.times;
    if (rule.withinDays !== null) out.withinDays = rule.withinDays;
    return out;
  }
  if (rule.kind === "trait") {
    const needs = TRAIT_OPS.find((o) => o.value === rule.op)?.needs;
    const out: Condition = { trait: rule.trait.trim(), op: rule.op };
    if (needs === "number") out.value = Number(rule.value);
    else if (needs === "list") out.value = list(rule.value);
    else if (needs === "range") out.value = list(rule.value);
    else if (needs === "date") out.value = rule.value.trim();
    else if (needs === "text") out.value = rule.op === "equals" ? scalar(rule.value) : rule.value.trim();
    return out;
  }
  const numeric = ENVIRONMENT[rule.field]?.numeric;
  return { environment: rule.field, op: "in", value: environmentValues(rule).map((v) => (numeric ? Number(v) : v)) };
}

export function environmentValues(rule: EnvironmentRule): string[] {
  if (ENVIRONMENT[rule.field]?.options) return rule.values;
  return rule.text
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The draft's condition: one rule alone, else all/any of them; null while a rule is incomplete or none is there. */
export function toCondition(draft: Draft): Condition | null {
  if (draft.rules.length === 0 || draft.rules.some((r) => missing(r) !== null)) return null;
  if (draft.rules.length === 1) return leaf(draft.rules[0]);
  return { [draft.match]: draft.rules.map(leaf) };
}

function text(value: Json | undefined): string {
  if (Array.isArray(value)) return value.map((v) => String(v)).join(", ");
  return value === undefined || value === null ? "" : String(value);
}

function fromLeaf(node: Condition): Rule | null {
  if ("behaviour" in node) {
    const filter = node.behaviour as Condition;
    const type = (filter.type as string | undefined) ?? (filter.event ? "track" : undefined);
    if (type !== "page" && type !== "track") return null;
    if (type === "page" && filter.event) return null;
    const where = ((filter.where as Condition[] | undefined) ?? []).map((w) => ({ property: String(w.property ?? ""), op: String(w.op), value: text(w.value) }));
    if (((filter.where as Condition[] | undefined) ?? []).some((w) => !("property" in w) || !PROPERTY_OPS.some((o) => o.value === w.op))) return null;
    const count = String(node.op);
    if (!COUNT_OPS.some((o) => o.value === count) || "withinHours" in node) return null;
    return {
      kind: "behaviour",
      activity: type,
      event: String(filter.event ?? ""),
      where,
      count: count as BehaviourRule["count"],
      times: typeof node.value === "number" ? node.value : 1,
      withinDays: typeof node.withinDays === "number" ? node.withinDays : null,
    };
  }
  if ("trait" in node) {
    if (!TRAIT_OPS.some((o) => o.value === node.op)) return null;
    return { kind: "trait", trait: String(node.trait), op: String(node.op), value: text(node.value) };
  }
  if ("environment" in node) {
    const field = String(node.environment);
    if (!(field in ENVIRONMENT)) return null;
    const values = node.op === "in" && Array.isArray(node.value) ? node.value.map(String) : node.op === "equals" && node.value !== null && typeof node.value !== "object" ? [String(node.value)] : null;
    if (values) return { kind: "environment", field, values: ENVIRONMENT[field].options ? values : [], text: values.join(", ") };
    return null;
  }
  return null;
}

/** A saved condition as builder rules, or null when it uses more than the builder offers (nesting, scores…). */
export function fromCondition(condition: Condition): Pick<Draft, "match" | "rules"> | null {
  for (const match of ["all", "any"] as const) {
    if (match in condition) {
      const children = condition[match];
      if (!Array.isArray(children)) return null;
      const rules = children.map((c) => (c && typeof c === "object" && !Array.isArray(c) ? fromLeaf(c) : null));
      return rules.every((r) => r !== null) ? { match, rules: rules as Rule[] } : null;
    }
  }
  const single = fromLeaf(condition);
  return single ? { match: "all", rules: [single] } : null;
}

const OP_WORDS: Record<string, string> = Object.fromEntries(TRAIT_OPS.map((o) => [o.value, o.label]));

const COUNT_WORDS: Record<string, string> = { atLeast: "at least", atMost: "at most", exactly: "exactly" };

/** A condition in words, for the segment page. */
export function describe(node: Json, depth = 0): string {
  if (!node || typeof node !== "object" || Array.isArray(node)) return String(node);
  const c = node as Condition;
  if (Array.isArray(c.all)) return c.all.map((x) => describe(x, depth + 1)).join(" and ");
  if (Array.isArray(c.any)) return (depth ? "(" : "") + c.any.map((x) => describe(x, depth + 1)).join(" or ") + (depth ? ")" : "");
  if (c.not) return `not (${describe(c.not, depth + 1)})`;
  const window = typeof c.withinDays === "number" ? ` in the last ${c.withinDays} days` : typeof c.withinHours === "number" ? ` in the last ${c.withinHours} hours` : "";
  if (c.behaviour && typeof c.behaviour === "object") {
    const f = c.behaviour as Condition;
    const what = f.event ? `did “${f.event}”` : f.type === "page" ? "viewed a page" : `had a ${String(f.type ?? "activity")}`;
    const where = ((f.where as Condition[] | undefined) ?? []).map((w) => `${String(w.property ?? w.environment)} ${OP_WORDS[String(w.op)] ?? String(w.op)} ${text(w.value)}`).join(", ");
    const whereText = where ? ` where ${where}` : "";
    if (c.op === "never") return `never ${what}${whereText}${window}`;
    if (String(c.op) in COUNT_WORDS) return `${what}${whereText} ${COUNT_WORDS[String(c.op)]} ${String(c.value)} time${c.value === 1 ? "" : "s"}${window}`;
    return `${what}${whereText} (${String(c.op)}${window})`;
  }
  if (c.trait) return `${String(c.trait)} ${TRAIT_OPS.find((o) => o.value === c.op)?.label ?? String(c.op)}${c.value !== undefined ? " " + text(c.value) : ""}`;
  if (c.environment) return `${ENVIRONMENT[String(c.environment)]?.label ?? String(c.environment)} ${c.op === "in" ? "is one of" : String(c.op)} ${text(c.value)}`;
  if (c.inSegment) return `in segment ${String(c.inSegment)}`;
  if (c.score) return `score of plan ${String(c.score)} ${String(c.op)} ${text(c.value)}`;
  if (c.tier) return `tier of plan ${String(c.tier)} ${String(c.op)} ${text(c.value)}`;
  if (c.questionnaire) return `questionnaire ${String(c.questionnaire)} ${String(c.op)} ${text(c.value)}`;
  return JSON.stringify(c);
}
