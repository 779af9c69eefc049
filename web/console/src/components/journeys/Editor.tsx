// The journey editor's pieces: the entry (trigger, re-entry, goal) and one card per node with the fields of its type.
// Wait, email, condition, split, webhook and exit have forms; any other type is edited as its JSON.
import { ActionIcon, Alert, Badge, Button, Card, Checkbox, Group, NativeSelect, NumberInput, SimpleGrid, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { useState, type ReactNode } from "react";

import { describeNode, NODE_TYPES, type Definition, type Json, type JourneyNode } from "./model";

export interface Choices {
  segments: { value: string; label: string }[];
  templates: { value: string; label: string }[];
}

type Obj = { [key: string]: Json };

const UNITS: [number, string][] = [
  [604800, "weeks"],
  [86400, "days"],
  [3600, "hours"],
  [60, "minutes"],
];

export const DEFAULT_HTML = '<p>Hi {{firstName}},</p>\n<p>Write your message here.</p>\n<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>';

export function newNode(type: string, id: string): JourneyNode {
  switch (type) {
    case "wait":
      return { id, type, name: "", seconds: 86400, next: null };
    case "email":
      return { id, type, name: "", subject: "", html: DEFAULT_HTML, text: "", next: null };
    case "condition":
      return { id, type, name: "", branches: [{ condition: { trait: "country", op: "equals", value: "" }, next: null }], elseNext: null };
    case "split":
      return { id, type, name: "", branches: [{ percent: 50, next: null }, { percent: 50, next: null }] };
    case "webhook":
      return { id, type, name: "", url: "https://", next: null };
    case "waitForEvent":
      return { id, type, name: "", timeoutSeconds: 172800, branches: [{ event: "Order Completed", next: null }], timeoutNext: null };
    case "sms":
      return { id, type, name: "", text: "{{firstName}}, ", next: null };
    case "exit":
      return { id, type, name: "" };
    default:
      return { id, type, name: "", next: null };
  }
}

export function uniqueId(type: string, nodes: JourneyNode[]): string {
  const taken = new Set(nodes.map((n) => n.id));
  const base = type.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (let n = 1; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** Where an edge goes: another node, or nowhere (the run ends there). */
function TargetSelect({ id, label, value, self, nodes, onChange, endLabel = "End the journey here" }: { id: string; label: string; value: Json | undefined; self: string; nodes: JourneyNode[]; onChange: (value: string | null) => void; endLabel?: string }) {
  const data = [{ value: "", label: endLabel }, ...nodes.filter((n) => n.id !== self).map((n) => ({ value: n.id, label: `${n.name || n.id} (${NODE_TYPES[n.type] ?? n.type})` }))];
  return <NativeSelect id={id} label={label} value={typeof value === "string" ? value : ""} data={data} onChange={(e) => onChange(e.currentTarget.value || null)} />;
}

function secondsParts(seconds: number): { amount: number; unit: number } {
  for (const [size] of UNITS) if (seconds >= size && seconds % size === 0) return { amount: seconds / size, unit: size };
  return { amount: Math.max(1, Math.round(seconds / 60)), unit: 60 };
}

function Duration({ id, label, seconds, onChange }: { id: string; label: string; seconds: number; onChange: (seconds: number) => void }) {
  const { amount, unit } = secondsParts(seconds || 86400);
  return (
    <Group gap="xs" align="flex-end" wrap="nowrap">
      <NumberInput id={id} label={label} value={amount} min={1} allowDecimal={false} w={120} onChange={(v) => onChange((Number(v) || 0) * unit)} />
      <NativeSelect
        id={`${id}-unit`}
        aria-label={`${label}: unit`}
        value={String(unit)}
        data={UNITS.map(([size, name]) => ({ value: String(size), label: name })).reverse()}
        onChange={(e) => onChange(amount * Number(e.currentTarget.value))}
      />
    </Group>
  );
}

const CONDITION_KINDS = [
  { value: "trait", label: "A trait of the profile" },
  { value: "segment", label: "Membership of a segment" },
  { value: "consent", label: "A consent" },
  { value: "happened", label: "Something that happened in this run" },
  { value: "json", label: "Advanced (JSON)" },
];
const OPS = [
  { value: "equals", label: "equals" },
  { value: "notEquals", label: "does not equal" },
  { value: "in", label: "is one of (comma-separated)" },
  { value: "contains", label: "contains" },
  { value: "startsWith", label: "starts with" },
  { value: "gt", label: "is greater than" },
  { value: "gte", label: "is at least" },
  { value: "lt", label: "is less than" },
  { value: "lte", label: "is at most" },
  { value: "exists", label: "is set" },
  { value: "notExists", label: "is not set" },
];

function conditionKind(condition: Json | undefined): string {
  if (!condition || typeof condition !== "object" || Array.isArray(condition)) return "trait";
  for (const kind of ["trait", "segment", "consent", "happened"]) if (kind in condition) return kind;
  return "json";
}

function JsonField({ id, label, value, onChange, minRows = 3 }: { id: string; label: string; value: Json | undefined; onChange: (value: Json) => void; minRows?: number }) {
  const [text, setText] = useState(() => JSON.stringify(value ?? {}, null, 2));
  const [error, setError] = useState<string>();
  return (
    <Textarea
      id={id}
      label={label}
      value={text}
      autosize
      minRows={minRows}
      styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
      error={error}
      onChange={(e) => {
        setText(e.currentTarget.value);
        try {
          onChange(JSON.parse(e.currentTarget.value) as Json);
          setError(undefined);
        } catch {
          setError("Not valid JSON yet");
        }
      }}
    />
  );
}

function ConditionFields({ id, condition, onChange, choices, emailNodes }: { id: string; condition: Json | undefined; onChange: (c: Json) => void; choices: Choices; emailNodes: JourneyNode[] }) {
  const kind = conditionKind(condition);
  const c = (condition && typeof condition === "object" && !Array.isArray(condition) ? condition : {}) as Obj;
  const setKind = (next: string) => {
    if (next === "trait") onChange({ trait: "country", op: "equals", value: "" });
    if (next === "segment") onChange({ segment: choices.segments[0]?.value ?? "", member: true });
    if (next === "consent") onChange({ consent: "email_marketing", granted: true });
    if (next === "happened") onChange({ happened: "returned" });
    if (next === "json") onChange({ all: [c] });
  };
  let fields: ReactNode = null;
  if (kind === "trait") {
    const noValue = c.op === "exists" || c.op === "notExists";
    fields = (
      <SimpleGrid cols={{ base: 1, sm: noValue ? 2 : 3 }} spacing="xs">
        <TextInput id={`${id}-trait`} label="Trait" value={String(c.trait ?? "")} onChange={(e) => onChange({ ...c, trait: e.currentTarget.value })} />
        <NativeSelect id={`${id}-op`} label="Comparison" value={String(c.op ?? "equals")} data={OPS} onChange={(e) => {
          const op = e.currentTarget.value;
          const next: Obj = { trait: c.trait ?? "", op };
          if (op !== "exists" && op !== "notExists") next.value = op === "in" ? [] : Array.isArray(c.value) ? c.value.join(", ") : (c.value ?? "");
          onChange(next);
        }} />
        {noValue ? null : (
          <TextInput
            id={`${id}-value`}
            label="Value"
            value={Array.isArray(c.value) ? c.value.join(", ") : String(c.value ?? "")}
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
      <Group grow>
        <NativeSelect id={`${id}-segment`} label="Segment" value={String(c.segment ?? "")} data={[{ value: "", label: "Choose a segment" }, ...choices.segments]} onChange={(e) => onChange({ ...c, segment: e.currentTarget.value })} />
        <NativeSelect id={`${id}-member`} label="The profile" value={c.member === false ? "no" : "yes"} data={[{ value: "yes", label: "is in it" }, { value: "no", label: "is not in it" }]} onChange={(e) => onChange({ ...c, member: e.currentTarget.value === "yes" })} />
      </Group>
    );
  } else if (kind === "consent") {
    fields = (
      <Group grow>
        <NativeSelect id={`${id}-consent`} label="Consent" value={String(c.consent ?? "email_marketing")} data={["email_marketing", "personalisation", "tracking"]} onChange={(e) => onChange({ ...c, consent: e.currentTarget.value })} />
        <NativeSelect id={`${id}-granted`} label="State" value={c.granted === false ? "no" : "yes"} data={[{ value: "yes", label: "granted" }, { value: "no", label: "not granted" }]} onChange={(e) => onChange({ ...c, granted: e.currentTarget.value === "yes" })} />
      </Group>
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
          <NativeSelect id={`${id}-message`} label="Email step" value={String(c.message ?? "")} data={[{ value: "", label: "Choose an email step" }, ...emailNodes.map((n) => ({ value: n.id, label: n.name || n.id }))]} onChange={(e) => onChange({ ...c, message: e.currentTarget.value })} />
        ) : null}
      </Group>
    );
  } else {
    fields = <JsonField id={`${id}-json`} label="Condition (JSON: all, any, not, trait, segment, plan, consent, happened)" value={condition} onChange={onChange} />;
  }
  return (
    <Stack gap="xs">
      <NativeSelect id={`${id}-kind`} label="Check" value={kind} data={CONDITION_KINDS} onChange={(e) => setKind(e.currentTarget.value)} />
      {fields}
    </Stack>
  );
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
}: {
  node: JourneyNode;
  index: number;
  nodes: JourneyNode[];
  isStart: boolean;
  errors?: string[];
  choices: Choices;
  onChange: (node: JourneyNode) => void;
  onRemove: () => void;
}) {
  const p = `node-${index}`;
  // the API's error for one field of this step, shown on its input too (the step's alert lists them all)
  const fieldError = (field: string) => errors?.find((m) => m.startsWith(`${field}:`) || m.startsWith(`${field}.`))?.replace(/^[^:]*:\s*/, "");
  const set = (field: string, value: Json | undefined) => {
    const next = { ...node, [field]: value } as JourneyNode;
    if (value === undefined) delete next[field];
    onChange(next);
  };
  const branches = (Array.isArray(node.branches) ? node.branches : []) as Obj[];
  const setBranch = (i: number, branch: Obj) => set("branches", branches.map((b, j) => (j === i ? branch : b)));
  const target = (field: string, label: string, endLabel?: string) => (
    <TargetSelect id={`${p}-${field}`} label={label} value={node[field]} self={node.id} nodes={nodes} onChange={(v) => set(field, v)} endLabel={endLabel} />
  );
  const emailNodes = nodes.filter((n) => n.type === "email");
  let body: ReactNode;
  switch (node.type) {
    case "wait":
      body =
        typeof node.seconds === "number" || Object.keys(node).every((k) => ["id", "type", "name", "next", "seconds"].includes(k)) ? (
          <>
            <Duration id={`${p}-duration`} label="Wait for" seconds={Number(node.seconds ?? 86400)} onChange={(s) => set("seconds", s)} />
            {target("next", "Then")}
          </>
        ) : (
          <JsonField id={`${p}-json`} label="Wait (JSON: until, untilTrait or localTime)" value={node as unknown as Json} onChange={(v) => onChange(v as unknown as JourneyNode)} />
        );
      break;
    case "email": {
      const usesTemplate = typeof node.template === "string";
      body = (
        <>
          <NativeSelect
            id={`${p}-content`}
            label="Content"
            value={usesTemplate ? "template" : "inline"}
            data={[
              { value: "inline", label: "Write the email here" },
              { value: "template", label: "Use an email template from Content" },
            ]}
            onChange={(e) => {
              const { subject: _s, html: _h, text: _t, template: _tp, variables: _v, ...rest } = node;
              onChange(e.currentTarget.value === "template" ? { ...rest, template: choices.templates[0]?.value ?? "" } : { ...rest, subject: "", html: DEFAULT_HTML, text: "" });
            }}
          />
          {usesTemplate ? (
            <NativeSelect id={`${p}-template`} label="Email template" value={String(node.template ?? "")} data={[{ value: "", label: "Choose a template" }, ...choices.templates]} onChange={(e) => set("template", e.currentTarget.value)} error={fieldError("template")} />
          ) : (
            <>
              <TextInput id={`${p}-subject`} label="Subject" description="{{firstName}} and other traits are filled in per person" value={String(node.subject ?? "")} onChange={(e) => set("subject", e.currentTarget.value)} error={fieldError("subject")} />
              <Textarea id={`${p}-html`} label="HTML body" autosize minRows={4} maxRows={14} styles={{ input: { fontFamily: "monospace", fontSize: 12 } }} value={String(node.html ?? "")} onChange={(e) => set("html", e.currentTarget.value)} error={fieldError("html")} />
              <Textarea id={`${p}-text`} label="Plain-text body (optional)" autosize minRows={2} value={String(node.text ?? "")} onChange={(e) => set("text", e.currentTarget.value)} />
            </>
          )}
          <Checkbox id={`${p}-transactional`} label="Transactional (skips consent, frequency cap and quiet hours)" checked={node.transactional === true} onChange={(e) => set("transactional", e.currentTarget.checked)} />
          {target("next", "Then")}
          {target("onFailure", "If the send fails", "The run fails")}
        </>
      );
      break;
    }
    case "condition":
      body = (
        <>
          {branches.map((b, i) => (
            <Card key={i} withBorder p="xs" bg="gray.0">
              <Stack gap="xs">
                <Group justify="space-between">
                  <Text size="sm" fw={600}>
                    Rule {i + 1}
                  </Text>
                  {branches.length > 1 ? (
                    <Button size="compact-xs" variant="subtle" color="red" onClick={() => set("branches", branches.filter((_, j) => j !== i))}>
                      Remove rule {i + 1}
                    </Button>
                  ) : null}
                </Group>
                <ConditionFields id={`${p}-b${i}`} condition={b.condition} choices={choices} emailNodes={emailNodes} onChange={(c) => setBranch(i, { ...b, condition: c })} />
                <TargetSelect id={`${p}-b${i}-next`} label="When it holds, go to" value={b.next} self={node.id} nodes={nodes} onChange={(v) => setBranch(i, { ...b, next: v })} />
              </Stack>
            </Card>
          ))}
          {branches.length < 10 ? (
            <Button size="xs" variant="default" onClick={() => set("branches", [...branches, { condition: { trait: "country", op: "equals", value: "" }, next: null }])}>
              Add a rule
            </Button>
          ) : null}
          {target("elseNext", "Otherwise go to")}
        </>
      );
      break;
    case "split": {
      const total = branches.reduce((sum, b) => sum + (Number(b.percent) || 0), 0);
      body = (
        <>
          {branches.map((b, i) => (
            <Group key={i} align="flex-end" wrap="nowrap">
              <NumberInput id={`${p}-b${i}-percent`} label={`Path ${String.fromCharCode(65 + i)} (%)`} value={Number(b.percent ?? 0)} min={1} max={99} w={130} onChange={(v) => setBranch(i, { ...b, percent: Number(v) || 0 })} />
              <div style={{ flex: 1 }}>
                <TargetSelect id={`${p}-b${i}-next`} label="Goes to" value={b.next} self={node.id} nodes={nodes} onChange={(v) => setBranch(i, { ...b, next: v })} />
              </div>
              {branches.length > 2 ? (
                <ActionIcon variant="subtle" color="red" aria-label={`Remove path ${String.fromCharCode(65 + i)}`} onClick={() => set("branches", branches.filter((_, j) => j !== i))} mb={4}>
                  ×
                </ActionIcon>
              ) : null}
            </Group>
          ))}
          <Group justify="space-between">
            <Text size="sm" c={total === 100 ? "dimmed" : "red.8"}>
              Together: {total} % {total === 100 ? "" : "(must be 100 %)"}
            </Text>
            {branches.length < 10 ? (
              <Button size="xs" variant="default" onClick={() => set("branches", [...branches, { percent: 0, next: null }])}>
                Add a path
              </Button>
            ) : null}
          </Group>
        </>
      );
      break;
    }
    case "webhook":
      body = (
        <>
          <TextInput id={`${p}-url`} label="URL (https)" value={String(node.url ?? "")} onChange={(e) => set("url", e.currentTarget.value)} error={fieldError("url")} />
          <TextInput id={`${p}-secret`} label="Signing secret (optional: generated when empty)" value={String(node.secret ?? "")} onChange={(e) => set("secret", e.currentTarget.value || undefined)} />
          {target("next", "Then")}
          {target("onFailure", "If the call fails", "The run fails")}
        </>
      );
      break;
    case "exit":
      body = <Text size="sm">The run ends here, counted as exited.</Text>;
      break;
    default:
      body = <JsonField id={`${p}-json`} label={`${NODE_TYPES[node.type] ?? node.type} (JSON, see docs/journeys.md)`} value={node as unknown as Json} onChange={(v) => onChange(v as unknown as JourneyNode)} minRows={5} />;
  }
  return (
    <Card withBorder padding="sm" radius="md" style={errors?.length ? { borderColor: "var(--mantine-color-red-6)" } : undefined} data-node-card={node.id} component="section" aria-label={`Step ${node.name || node.id}`}>
      <Stack gap="xs">
        <Group justify="space-between" gap="xs">
          <Group gap="xs">
            <Badge variant="light">{NODE_TYPES[node.type] ?? node.type}</Badge>
            <Text size="sm" c="dimmed">
              {node.id}
            </Text>
            {isStart ? (
              <Badge color="green" variant="dot">
                first step
              </Badge>
            ) : null}
          </Group>
          <Button size="compact-xs" variant="subtle" color="red" onClick={onRemove} aria-label={`Remove step ${node.id}`}>
            Remove
          </Button>
        </Group>
        <TextInput id={`${p}-name`} label="Step name (for people)" placeholder={describeNode(node) || node.id} value={String(node.name ?? "")} onChange={(e) => set("name", e.currentTarget.value)} />
        {body}
        {errors?.length ? (
          <Alert color="red" p="xs" role="alert" title="Fix this step">
            {errors.map((m, i) => (
              <Text key={i} size="sm">
                {m}
              </Text>
            ))}
          </Alert>
        ) : null}
      </Stack>
    </Card>
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
        <TextInput id="trigger-event" label="Event name" description="As your site or app sends it, e.g. Signed Up, Product Added; page views are “page”" value={String(event.event ?? "")} onChange={(e) => setEntry({ trigger: { event: { ...event, event: e.currentTarget.value } } })} required />
      ) : null}
      {kind === "segmentEntered" || kind === "segmentExited" ? (
        <NativeSelect id="trigger-segment" label="Segment" value={String(trigger[kind] ?? "")} data={[{ value: "", label: "Choose a segment" }, ...choices.segments]} onChange={(e) => setEntry({ trigger: { [kind]: e.currentTarget.value } })} />
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
      {errors?.length ? (
        <Alert color="red" p="xs" role="alert" title="Fix the entry">
          {errors.map((m, i) => (
            <Text key={i} size="sm">
              {m}
            </Text>
          ))}
        </Alert>
      ) : null}
    </Stack>
  );
}
