// The journey definition as the API takes it (docs/journeys.md, services/journeys/domain/definition.py), and the
// pieces the graph and the editor share: a node's edges, labels for people, the analytics' shapes.
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JourneyNode = { id: string; type: string; name?: string; [field: string]: Json | undefined };

export interface Definition {
  name: string;
  description?: string;
  entry: { trigger: Record<string, Json>; audience?: Json; reentry?: Json };
  start: string;
  nodes: JourneyNode[];
  goal?: { event: string; where?: Json[] } | null;
  exitOnSegmentExit?: string[];
  delivery?: Record<string, Json>;
}

export interface JourneySummary {
  journeyId: string;
  status: string;
  name: string;
  version?: number | null;
  createdAt?: string;
  updatedAt?: string;
}

export interface JourneyDetail extends JourneySummary {
  definition: Definition;
  draft?: Definition | null;
  versions: { version: number; publishedAt: string; machineArn?: string }[];
}

export interface BranchCounts {
  taken?: number;
  converted?: number;
  conversionRate?: number | null;
}

export interface NodeCounts {
  entered?: number;
  completed?: number;
  waitingNow?: number;
  failed?: number;
  exited?: number;
  sent?: number;
  skipped?: number;
  deferred?: number;
  sendFailed?: number;
  delivered?: number;
  opened?: number;
  clicked?: number;
  unsubscribed?: number;
  branches?: Record<string, BranchCounts>;
  experiment?: NodeExperiment; // splits and holdouts: their branches as an A/B test
}

export interface NodeExperiment {
  variants: {
    branch: string;
    users: number;
    conversions: number;
    rate: number | null;
    uplift: number | null;
    upliftInterval: [number, number] | null;
    pValue: number | null;
    chanceToWin: number | null;
  }[];
  srmPValue?: number | null;
  srmDetected?: boolean;
}

export interface VersionAnalytics {
  version: number;
  journey: {
    entered?: number;
    completed?: number;
    holdout?: number;
    exited?: number;
    failed?: number;
    converted?: number;
    active?: number;
    conversionRate?: number | null;
  };
  nodes: Record<string, NodeCounts>;
}

export interface Analytics {
  journeyId: string;
  versions: VersionAnalytics[];
}

export const NODE_TYPES: Record<string, string> = {
  wait: "Wait",
  waitForEvent: "Wait for an event",
  condition: "Condition",
  split: "A/B split",
  holdout: "Holdout",
  email: "Email",
  sms: "SMS",
  webhook: "Webhook",
  updateProfile: "Update profile",
  addScore: "Add score",
  publishEvent: "Publish event",
  claimCode: "Claim a coupon code",
  exit: "Exit",
};

export const STATUS_COLOURS: Record<string, string> = { draft: "gray", active: "green", paused: "yellow", archived: "dark" };

export interface Edge {
  target: string;
  label: string;
  branch: string; // the analytics' branch key: "0", "else", "timeout", "ok", "failed", …
  field: string; // where the edge lives: "next", "elseNext", "branches.0.next", …
}

function str(value: Json | undefined): string | null {
  return typeof value === "string" && value ? value : null;
}

/** Every edge of a node (an omitted or null edge ends the run there: no edge). */
export function edgesOf(node: JourneyNode, withEnds = false): Edge[] {
  const edges: Edge[] = [];
  // withEnds: a branch of a condition, split or wait-for-event that leads nowhere ends the run: target ""
  const branching = ["condition", "split", "waitForEvent"].includes(node.type);
  const add = (target: Json | undefined, label: string, branch: string, field: string) => {
    const to = str(target);
    if (to) edges.push({ target: to, label, branch, field });
    else if (withEnds && branching && field !== "onFailure" && field !== "onEmpty") edges.push({ target: "", label, branch, field });
  };
  const branches = Array.isArray(node.branches) ? (node.branches as { [key: string]: Json }[]) : [];
  switch (node.type) {
    case "condition":
      branches.forEach((b, i) => add(b?.next, `if ${describeCondition(b?.condition)}`, String(i), `branches.${i}.next`));
      add(node.elseNext, "otherwise", "else", "elseNext");
      break;
    case "split":
      branches.forEach((b, i) => add(b?.next, `${typeof b?.percent === "number" ? b.percent : "?"} %`, String(i), `branches.${i}.next`));
      break;
    case "waitForEvent":
      branches.forEach((b, i) => add(b?.next, `on ${str(b?.event) ?? "event"}`, String(i), `branches.${i}.next`));
      add(node.timeoutNext, "timed out", "timeout", "timeoutNext");
      break;
    case "holdout":
      add(node.next, `${100 - (typeof node.percent === "number" ? node.percent : 0)} % go on`, "continue", "next");
      break;
    case "exit":
      break;
    default:
      add(node.next, "", node.type === "wait" ? "" : "ok", "next");
  }
  add(node.onFailure, "if it fails", "failed", "onFailure");
  add(node.onEmpty, "no code left", "empty", "onEmpty");
  return edges;
}

const OPS: Record<string, string> = {
  equals: "=",
  notEquals: "≠",
  in: "in",
  contains: "contains",
  startsWith: "starts with",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
  exists: "is set",
  notExists: "is not set",
};

export function describeCondition(condition: Json | undefined, segments?: Record<string, string>): string {
  if (!condition || typeof condition !== "object" || Array.isArray(condition)) return "…";
  const c = condition as { [key: string]: Json };
  if (Array.isArray(c.all)) return c.all.map((x) => describeCondition(x, segments)).join(" and ");
  if (Array.isArray(c.any)) return c.any.map((x) => describeCondition(x, segments)).join(" or ");
  if (c.not !== undefined) return `not (${describeCondition(c.not, segments)})`;
  if (typeof c.trait === "string") {
    const op = OPS[String(c.op)] ?? String(c.op ?? "");
    const value = c.op === "exists" || c.op === "notExists" ? "" : ` ${Array.isArray(c.value) ? c.value.join(", ") : String(c.value ?? "")}`;
    return `${c.trait} ${op}${value}`;
  }
  if (typeof c.segment === "string") {
    const name = segments?.[c.segment] ?? short(c.segment);
    return c.member === false ? `not in ${name}` : `in ${name}`;
  }
  if (typeof c.consent === "string") return `${c.consent} consent ${c.granted === false ? "not granted" : "granted"}`;
  if (typeof c.happened === "string") return `${c.happened}${typeof c.message === "string" ? ` ${c.message}` : ""}`;
  if (typeof c.plan === "string") return typeof c.tier === "string" ? `tier ${c.tier}` : `score ${OPS[String(c.op ?? "gte")] ?? ""} ${String(c.value ?? "")}`;
  return "a condition";
}

function short(id: string): string {
  return id.length > 14 ? `${id.slice(0, 8)}…` : id;
}

export function describeTrigger(trigger: Record<string, Json> | undefined, segments?: Record<string, string>): string {
  if (!trigger) return "–";
  const event = trigger.event as { [key: string]: Json } | undefined;
  if (event && typeof event === "object") return `Event “${String(event.event ?? "")}”`;
  if (typeof trigger.segmentEntered === "string") return `Enters segment ${segments?.[trigger.segmentEntered] ?? short(trigger.segmentEntered)}`;
  if (typeof trigger.segmentExited === "string") return `Leaves segment ${segments?.[trigger.segmentExited] ?? short(trigger.segmentExited)}`;
  if (trigger.scoreThresholdCrossed) return "Score threshold crossed";
  if (trigger.traitChanged) return `Trait ${String((trigger.traitChanged as { [k: string]: Json }).trait ?? "")} changes`;
  if (trigger.traitDate) return `Date in trait ${String((trigger.traitDate as { [k: string]: Json }).trait ?? "")}`;
  if (trigger.api) return "Enrolled through the API";
  return Object.keys(trigger)[0] ?? "–";
}

export function formatSeconds(seconds: number): string {
  const units: [number, string][] = [
    [604800, "week"],
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} s`;
}

/** One line that says what a node does. */
export function describeNode(node: JourneyNode): string {
  switch (node.type) {
    case "wait":
      if (typeof node.seconds === "number") return `Wait ${formatSeconds(node.seconds)}`;
      if (typeof node.until === "string") return `Wait until ${node.until.slice(0, 16).replace("T", " ")}`;
      if (node.localTime) return `Wait until ${String((node.localTime as { [k: string]: Json }).time ?? "")} local time`;
      if (node.untilTrait) return `Wait until the date in ${String((node.untilTrait as { [k: string]: Json }).trait ?? "")}`;
      return "Wait";
    case "waitForEvent": {
      const events = Array.isArray(node.branches) ? node.branches.map((b) => str((b as { [k: string]: Json })?.event) ?? "?") : [];
      return `Up to ${formatSeconds(Number(node.timeoutSeconds ?? 0))} for ${events.join(" or ") || "an event"}`;
    }
    case "email":
      return typeof node.template === "string" ? `Template ${node.template || "not chosen yet"}` : node.subject ? `“${String(node.subject)}”` : "No subject yet";
    case "sms":
      return String(node.text ?? "").slice(0, 60);
    case "webhook":
      return String(node.url ?? "");
    case "split":
      return `${Array.isArray(node.branches) ? node.branches.length : 0} ways`;
    case "holdout":
      return `${String(node.percent ?? 0)} % held out`;
    case "condition":
      return `${Array.isArray(node.branches) ? node.branches.length : 0} rule(s), else another way`;
    case "claimCode":
      return `From pool ${String(node.pool ?? "")}`;
    case "publishEvent":
      return `Event ${String(node.event ?? "")}`;
    case "addScore":
      return `${String(node.points ?? 0)} points`;
    case "updateProfile": {
      const keys = (field: string) => (node[field] && typeof node[field] === "object" ? Object.keys(node[field] as object) : []);
      const list = (field: string) => (Array.isArray(node[field]) ? (node[field] as Json[]).map(String) : []);
      const parts = [
        keys("set").length ? `sets ${keys("set").join(", ")}` : "",
        list("remove").length ? `clears ${list("remove").join(", ")}` : "",
        [...list("addTags").map((t) => `+${t}`), ...list("removeTags").map((t) => `−${t}`)].join(" "),
        keys("consent").length ? `consent: ${keys("consent").join(", ")}` : "",
      ].filter(Boolean);
      return parts.length ? parts.join("; ").replace(/^./, (c) => c.toUpperCase()) : "Sets traits, tags or consent";
    }
    case "exit":
      return "Ends the run";
    default:
      return "";
  }
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`;
}

/** The API's field errors by node id (`nodes[2].subject` → the id of node 2), `entry` and `journey` for the rest. */
export type FieldErrors = Record<string, string[]>;

export function errorsByNode(errors: { field: string; message: string }[], nodes: JourneyNode[]): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    const found = /^nodes\[(\d+)\]\.?(.*)$/.exec(e.field);
    const message = e.message.replace(/^Value error, /, "");
    let key = "journey";
    let text = `${e.field}: ${message}`;
    if (found && nodes[Number(found[1])]) {
      key = nodes[Number(found[1])].id;
      text = found[2] ? `${found[2]}: ${message}` : message;
    } else if (e.field.startsWith("entry")) key = "entry";
    (out[key] ??= []).push(text);
  }
  return out;
}
