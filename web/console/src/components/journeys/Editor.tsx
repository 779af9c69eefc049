// The journey editor's pieces: the entry (trigger, re-entry, goal) and one card per step. Every step kind has a form
// (steps.tsx) inside the frame all steps share (StepCard.tsx); a kind the console does not know is edited as JSON.
import { Checkbox, Group, NativeSelect, NumberInput, Stack, TextInput } from "@mantine/core";

import { optionsWith, type Choices } from "./ConditionFields";
import { JsonField, PropertyFilters, type Obj } from "./inputs";
import { NODE_TYPES, type Definition, type Json, type JourneyNode } from "./model";
import { ErrorSummary, StepCard } from "./StepCard";
import { STEP_FORMS, type Step } from "./steps";

export { type Choices } from "./ConditionFields";
export { DEFAULT_HTML, newNode } from "./steps";

export function uniqueId(type: string, nodes: JourneyNode[]): string {
  const taken = new Set(nodes.map((n) => n.id));
  const base = type.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (let n = 1; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** The API's refusals of one step ("branches[0].event: …", as errorsByNode words them) for the field `path`, and for
 * the fields below it (each then with the rest of its path) unless `exact`. */
export function stepError(errors: string[] | undefined, path: string, exact = false): string | undefined {
  const found: string[] = [];
  for (const error of errors ?? []) {
    const at = error.indexOf(": ");
    if (at < 0) continue;
    const field = error.slice(0, at);
    const message = error.slice(at + 2);
    if (field === path) found.push(message);
    else if (!exact && (field.startsWith(`${path}.`) || field.startsWith(`${path}[`))) found.push(`${field.slice(path.length).replace(/^\./, "")}: ${message}`);
  }
  return found.length ? found.join("; ") : undefined;
}

export function NodeCard({
  node,
  index,
  nodes,
  isStart,
  errors,
  choices,
  onChange,
  onRemove,
  onMove,
}: {
  node: JourneyNode;
  index: number;
  nodes: JourneyNode[];
  isStart: boolean;
  errors?: string[];
  choices: Choices;
  onChange: (node: JourneyNode) => void;
  onRemove: () => void;
  onMove: (by: -1 | 1) => void;
}) {
  const set = (field: string, value: Json | undefined) => {
    const next = { ...node, [field]: value } as JourneyNode;
    if (value === undefined) delete next[field];
    onChange(next);
  };
  const step: Step = { node, id: `node-${index}`, nodes, choices, set, replace: onChange, error: (path, exact) => stepError(errors, path, exact) };
  const Form = STEP_FORMS[node.type];
  return (
    <StepCard node={node} index={index} count={nodes.length} isStart={isStart} errors={errors} onName={(name) => set("name", name)} onMove={onMove} onRemove={onRemove}>
      {Form ? <Form step={step} /> : <JsonField id={`${step.id}-json`} label={`${NODE_TYPES[node.type] ?? node.type} (JSON, see docs/journeys.md)`} value={node as unknown as Json} onChange={(v) => onChange(v as unknown as JourneyNode)} minRows={5} />}
    </StepCard>
  );
}

/** The trigger: an event (the common case), a segment entered or left, the API, or any other trigger as JSON. */
export function EntryFields({ definition, onChange, choices, errors }: { definition: Definition; onChange: (d: Definition) => void; choices: Choices; errors?: string[] }) {
  const trigger = definition.entry.trigger ?? {};
  const kind = "event" in trigger ? "event" : "segmentEntered" in trigger ? "segmentEntered" : "segmentExited" in trigger ? "segmentExited" : "api" in trigger ? "api" : "json";
  const setEntry = (entry: Partial<Definition["entry"]>) => onChange({ ...definition, entry: { ...definition.entry, ...entry } });
  const event = (trigger.event ?? {}) as Obj;
  const reentry = definition.entry.reentry ?? "once";
  const reentryKind = typeof reentry === "string" ? reentry : "afterDays";
  const audience = definition.entry.audience;
  const emailOnly = JSON.stringify(audience) === JSON.stringify({ trait: "email", op: "exists" });
  return (
    <Stack gap="xs">
      <NativeSelect
        id="trigger-kind"
        label="Who enters, and when"
        value={kind}
        data={[
          { value: "event", label: "When a person does something (an event)" },
          { value: "segmentEntered", label: "When a person enters a segment" },
          { value: "segmentExited", label: "When a person leaves a segment" },
          { value: "api", label: "Only when enrolled through the API" },
          { value: "json", label: "Other trigger (JSON)" },
        ]}
        onChange={(e) => {
          const k = e.currentTarget.value;
          const first = choices.segments[0]?.value ?? "";
          setEntry({ trigger: k === "event" ? { event: { event: "" } } : k === "api" ? { api: true } : k === "json" ? { traitChanged: { trait: "plan" } } : { [k]: first } });
        }}
      />
      {kind === "event" ? (
        <TextInput id="trigger-event" label="Event name" description="As your site or app sends it, e.g. Signed Up, Product Added; page views are “page”" value={String(event.event ?? "")} onChange={(e) => setEntry({ trigger: { event: { ...event, event: e.currentTarget.value } } })} error={stepError(errors, "entry.trigger.event.event")} required />
      ) : null}
      {kind === "event" ? (
        <PropertyFilters
          id="trigger"
          value={event.where}
          onChange={(where) => {
            const { where: _w, ...rest } = event;
            setEntry({ trigger: { event: where.length ? { ...rest, where } : rest } });
          }}
          error={(path) => stepError(errors, `entry.trigger.event.${path}`)}
        />
      ) : null}
      {kind === "segmentEntered" || kind === "segmentExited" ? (
        <NativeSelect id="trigger-segment" label="Segment" value={String(trigger[kind] ?? "")} data={optionsWith(choices.segments, String(trigger[kind] ?? ""), "Choose a segment")} onChange={(e) => setEntry({ trigger: { [kind]: e.currentTarget.value } })} error={stepError(errors, `entry.trigger.${kind}`)} />
      ) : null}
      {kind === "json" ? <JsonField id="trigger-json" label="Trigger (JSON)" value={trigger} onChange={(v) => setEntry({ trigger: v as Obj })} /> : null}
      <Group grow align="flex-end">
        <NativeSelect
          id="reentry"
          label="Can a person enter again?"
          value={reentryKind}
          data={[
            { value: "once", label: "No, only once" },
            { value: "whenNotInside", label: "Yes, whenever not already inside" },
            { value: "afterDays", label: "Yes, after some days" },
          ]}
          onChange={(e) => setEntry({ reentry: e.currentTarget.value === "afterDays" ? { afterDays: 7 } : e.currentTarget.value })}
        />
        {reentryKind === "afterDays" ? (
          <NumberInput id="reentry-days" label="Days" min={1} value={Number((reentry as Obj).afterDays ?? 7)} onChange={(v) => setEntry({ reentry: { afterDays: Number(v) || 1 } })} />
        ) : null}
      </Group>
      {audience === undefined || audience === null || emailOnly ? (
        <Checkbox id="audience-email" label="Only people with an email address" checked={emailOnly} onChange={(e) => setEntry({ audience: e.currentTarget.checked ? { trait: "email", op: "exists" } : null })} />
      ) : (
        <JsonField id="audience-json" label="Audience (a condition, JSON)" value={audience} onChange={(v) => setEntry({ audience: v })} />
      )}
      <TextInput
        id="goal-event"
        label="Goal event (optional)"
        description="Reaching it ends the run wherever it is, counted as a conversion, e.g. Order Completed"
        value={definition.goal?.event ?? ""}
        onChange={(e) => onChange({ ...definition, goal: e.currentTarget.value ? { ...(definition.goal ?? {}), event: e.currentTarget.value } : null })}
      />
      <ErrorSummary title="Fix the entry" errors={errors} />
    </Stack>
  );
}
