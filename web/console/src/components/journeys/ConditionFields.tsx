// One condition of the condition language (docs/journeys.md) as a form: a trait, a segment, a score or tier, a
// consent, something that happened in the run; all / any / not (nesting) as JSON.
import { Group, NativeSelect, NumberInput, SimpleGrid, Stack, TextInput } from "@mantine/core";
import type { ReactNode } from "react";

import { JsonField, OPS, type Obj } from "./inputs";
import type { Json, JourneyNode } from "./model";

export interface Option {
  value: string;
  label: string;
}

/** What the editor's selects offer, from the API: segments, email templates, coupon pools, scoring plans (tiers). */
export interface Choices {
  segments: Option[];
  templates: Option[];
  pools: Option[];
  plans: (Option & { tiers: string[] })[];
}

/** A select's options with a placeholder first, and the current value kept even when the API no longer lists it. */
export function optionsWith(options: Option[], value: string, placeholder: string): Option[] {
  const known = !value || options.some((o) => o.value === value);
  return [{ value: "", label: placeholder }, ...options, ...(known ? [] : [{ value, label: `${value} (not found)` }])];
}

const CONDITION_KINDS = [
  { value: "trait", label: "A trait of the profile" },
  { value: "segment", label: "Membership of a segment" },
  { value: "plan", label: "A score or tier" },
  { value: "consent", label: "A consent" },
  { value: "happened", label: "Something that happened in this run" },
  { value: "json", label: "Advanced (JSON: all, any, not)" },
];
const SCORE_OPS = OPS.filter((o) => ["equals", "gt", "gte", "lt", "lte"].includes(o.value));

function conditionKind(condition: Json | undefined): string {
  if (!condition || typeof condition !== "object" || Array.isArray(condition)) return "trait";
  for (const kind of ["trait", "segment", "plan", "consent", "happened"]) if (kind in condition) return kind;
  return "json";
}

export function ConditionFields({
  id,
  condition,
  onChange,
  choices,
  emailNodes,
  error,
}: {
  id: string;
  condition: Json | undefined;
  onChange: (c: Json) => void;
  choices: Choices;
  emailNodes: JourneyNode[];
  error: (path: string) => string | undefined; // the API's message for a field of this condition ("" = the condition)
}) {
  const kind = conditionKind(condition);
  const c = (condition && typeof condition === "object" && !Array.isArray(condition) ? condition : {}) as Obj;
  const setKind = (next: string) => {
    if (next === "trait") onChange({ trait: "country", op: "equals", value: "" });
    if (next === "segment") onChange({ segment: choices.segments[0]?.value ?? "", member: true });
    if (next === "plan") onChange({ plan: choices.plans[0]?.value ?? "", op: "gte", value: 10 });
    if (next === "consent") onChange({ consent: "email_marketing", granted: true });
    if (next === "happened") onChange({ happened: "returned" });
    if (next === "json") onChange({ all: [c] });
  };
  let fields: ReactNode = null;
  if (kind === "trait") {
    const noValue = c.op === "exists" || c.op === "notExists";
    fields = (
      <SimpleGrid cols={{ base: 1, sm: noValue ? 2 : 3 }} spacing="xs">
        <TextInput id={`${id}-trait`} label="Trait" value={String(c.trait ?? "")} onChange={(e) => onChange({ ...c, trait: e.currentTarget.value })} error={error("trait")} />
        <NativeSelect
          id={`${id}-op`}
          label="Comparison"
          value={String(c.op ?? "equals")}
          data={OPS}
          error={error("op")}
          onChange={(e) => {
            const op = e.currentTarget.value;
            const next: Obj = { trait: c.trait ?? "", op };
            if (op !== "exists" && op !== "notExists") next.value = op === "in" ? [] : Array.isArray(c.value) ? c.value.join(", ") : (c.value ?? "");
            onChange(next);
          }}
        />
        {noValue ? null : (
          <TextInput
            id={`${id}-value`}
            label="Value"
            value={Array.isArray(c.value) ? c.value.join(", ") : String(c.value ?? "")}
            error={error("value")}
            onChange={(e) => {
              const text = e.currentTarget.value;
              onChange({ ...c, value: c.op === "in" ? text.split(",").map((s) => s.trim()).filter(Boolean) : text });
            }}
          />
        )}
      </SimpleGrid>
    );
  } else if (kind === "segment") {
    fields = (
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
        <NativeSelect id={`${id}-segment`} label="Segment" value={String(c.segment ?? "")} data={optionsWith(choices.segments, String(c.segment ?? ""), "Choose a segment")} onChange={(e) => onChange({ ...c, segment: e.currentTarget.value })} error={error("segment")} />
        <NativeSelect id={`${id}-member`} label="The profile" value={c.member === false ? "no" : "yes"} data={[{ value: "yes", label: "is in it" }, { value: "no", label: "is not in it" }]} onChange={(e) => onChange({ ...c, member: e.currentTarget.value === "yes" })} />
      </SimpleGrid>
    );
  } else if (kind === "plan") {
    const byTier = typeof c.tier === "string";
    const plan = choices.plans.find((p) => p.value === c.plan);
    fields = (
      <>
        <NativeSelect id={`${id}-plan`} label="Scoring plan" value={String(c.plan ?? "")} data={optionsWith(choices.plans, String(c.plan ?? ""), "Choose a plan")} onChange={(e) => onChange({ ...c, plan: e.currentTarget.value })} error={error("plan")} />
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
          <NativeSelect
            id={`${id}-compare`}
            label="Compare"
            value={byTier ? "tier" : String(c.op ?? "gte")}
            data={[...SCORE_OPS.map((o) => ({ value: o.value, label: `points ${o.label}` })), { value: "tier", label: "the tier is" }]}
            onChange={(e) => {
              const op = e.currentTarget.value;
              onChange(op === "tier" ? { plan: c.plan ?? "", tier: plan?.tiers[plan.tiers.length - 1] ?? "" } : { plan: c.plan ?? "", op, value: typeof c.value === "number" ? c.value : 10 });
            }}
          />
          {byTier ? (
            <NativeSelect id={`${id}-tier`} label="Tier" value={String(c.tier)} data={optionsWith((plan?.tiers ?? []).map((t) => ({ value: t, label: t })), String(c.tier), "Choose a tier")} onChange={(e) => onChange({ ...c, tier: e.currentTarget.value })} error={error("tier")} />
          ) : (
            <NumberInput id={`${id}-points`} label="Points" value={typeof c.value === "number" ? c.value : ""} onChange={(v) => onChange({ ...c, value: typeof v === "number" ? v : null })} error={error("value")} />
          )}
        </SimpleGrid>
      </>
    );
  } else if (kind === "consent") {
    fields = (
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
        <NativeSelect id={`${id}-consent`} label="Consent" value={String(c.consent ?? "email_marketing")} data={["email_marketing", "personalisation", "tracking"]} onChange={(e) => onChange({ ...c, consent: e.currentTarget.value })} />
        <NativeSelect id={`${id}-granted`} label="State" value={c.granted === false ? "no" : "yes"} data={[{ value: "yes", label: "granted" }, { value: "no", label: "not granted" }]} onChange={(e) => onChange({ ...c, granted: e.currentTarget.value === "yes" })} />
      </SimpleGrid>
    );
  } else if (kind === "happened") {
    const needsMessage = c.happened === "opened" || c.happened === "clicked";
    fields = (
      <Group grow>
        <NativeSelect
          id={`${id}-happened`}
          label="What"
          value={String(c.happened ?? "returned")}
          data={[
            { value: "opened", label: "opened an email" },
            { value: "clicked", label: "clicked in an email" },
            { value: "returned", label: "came back to the site" },
            { value: "purchased", label: "purchased" },
          ]}
          onChange={(e) => {
            const happened = e.currentTarget.value;
            onChange(happened === "opened" || happened === "clicked" ? { happened, message: emailNodes[0]?.id ?? "" } : { happened });
          }}
        />
        {needsMessage ? (
          <NativeSelect id={`${id}-message`} label="Email step" value={String(c.message ?? "")} data={[{ value: "", label: "Choose an email step" }, ...emailNodes.map((n) => ({ value: n.id, label: n.name || n.id }))]} onChange={(e) => onChange({ ...c, message: e.currentTarget.value })} error={error("message")} />
        ) : null}
      </Group>
    );
  } else {
    fields = <JsonField id={`${id}-json`} label="Condition (JSON: all, any, not, trait, segment, plan, consent, happened)" value={condition} onChange={onChange} error={error("")} />;
  }
  return (
    <Stack gap="xs">
      <NativeSelect id={`${id}-kind`} label="Check" value={kind} data={CONDITION_KINDS} onChange={(e) => setKind(e.currentTarget.value)} error={kind === "json" ? undefined : error("")} />
      {fields}
    </Stack>
  );
}
