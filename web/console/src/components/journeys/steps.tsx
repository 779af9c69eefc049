// Each kind of journey step's own fields (docs/journeys.md, "Nodes"), inside the StepCard every step shares. A form
// gets the step and what it needs to change it; its inputs' ids are `<step>-<field>` (`node-2-text`,
// `node-0-b1-event` for a field of branch 1), and each shows the API's refusal of the field it edits.
import { Button, Checkbox, Group, NativeSelect, NumberInput, SimpleGrid, Stack, Text, Textarea, TextInput } from "@mantine/core";
import type { ReactNode } from "react";

import { ConditionFields, optionsWith, type Choices } from "./ConditionFields";
import { Duration, FieldGroup, JsonField, ListInput, PropertyFilters, TargetSelect, ValuesField, type Obj } from "./inputs";
import type { Json, JourneyNode } from "./model";

export interface Step {
  node: JourneyNode;
  id: string; // the prefix of the step's input ids: node-<index>
  nodes: JourneyNode[];
  choices: Choices;
  set: (field: string, value: Json | undefined) => void;
  replace: (node: JourneyNode) => void;
  /** The API's refusal of a field (`text`, `branches[0].event`) and of what lies below it; `exact`: that field only. */
  error: (path: string, exact?: boolean) => string | undefined;
}

export const DEFAULT_HTML = '<p>Hi {{firstName}},</p>\n<p>Write your message here.</p>\n<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>';
export const EMAIL_EVENTS = ["Email Opened", "Email Link Clicked"];

/** One edge of the step (`next`, `onFailure`…) as a select of the other steps. */
function Target({ step, field, label, endLabel }: { step: Step; field: string; label: string; endLabel?: string }) {
  return <TargetSelect id={`${step.id}-${field}`} label={label} value={step.node[field]} self={step.node.id} nodes={step.nodes} onChange={(v) => step.set(field, v)} endLabel={endLabel} error={step.error(field)} />;
}

/** Where an action goes next, and where it goes when it fails. */
function ActionTargets({ step, failing }: { step: Step; failing: string }) {
  return (
    <>
      <Target step={step} field="next" label="Then" />
      <Target step={step} field="onFailure" label={failing} endLabel="The run fails" />
    </>
  );
}

function branchesOf(node: JourneyNode): Obj[] {
  return (Array.isArray(node.branches) ? node.branches : []) as Obj[];
}

function setBranch(step: Step, i: number, branch: Obj) {
  step.set("branches", branchesOf(step.node).map((b, j) => (j === i ? branch : b)));
}

/** A branching step's branches (a condition's rules, the events a wait listens for, a split's paths), each in its own
 * box with a title and a button that removes it, and a button that adds one (`fresh`). */
function Branches({ step, title, min, addLabel, fresh, children }: { step: Step; title: (i: number) => string; min: number; addLabel: string; fresh: Obj; children: (branch: Obj, i: number) => ReactNode }) {
  const branches = branchesOf(step.node);
  return (
    <>
      {branches.map((branch, i) => (
        <Stack key={i} gap="xs" p="xs" style={{ border: "1px solid var(--mantine-color-gray-3)", borderRadius: 6, background: "var(--mantine-color-gray-0)" }}>
          <Group justify="space-between">
            <Text size="sm" fw={600}>
              {title(i)}
            </Text>
            {branches.length > min ? (
              <Button size="compact-xs" variant="subtle" color="red" onClick={() => step.set("branches", branches.filter((_, j) => j !== i))}>
                Remove {title(i).charAt(0).toLowerCase() + title(i).slice(1)}
              </Button>
            ) : null}
          </Group>
          {children(branch, i)}
        </Stack>
      ))}
      {branches.length < 10 ? (
        <div>
          <Button id={`${step.id}-add-branch`} size="xs" variant="default" onClick={() => step.set("branches", [...branches, fresh])}>
            {addLabel}
          </Button>
        </div>
      ) : null}
    </>
  );
}

const emailSteps = (nodes: JourneyNode[]) => nodes.filter((n) => n.type === "email");

// ---- waits ----

const WAIT_MODES = [
  { value: "seconds", label: "For a while" },
  { value: "until", label: "Until a date and time (UTC)" },
  { value: "untilTrait", label: "Until a date in the person's profile" },
  { value: "localTime", label: "Until a time of day, in the person's time zone" },
];
const WEEKDAYS = [
  ["mon", "Mon"],
  ["tue", "Tue"],
  ["wed", "Wed"],
  ["thu", "Thu"],
  ["fri", "Fri"],
  ["sat", "Sat"],
  ["sun", "Sun"],
];

/** An ISO date-time as a datetime-local input shows it, in UTC. */
function utcMinutes(value: Json | undefined): string {
  if (typeof value !== "string" || !value) return "";
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? value.slice(0, 16) : at.toISOString().slice(0, 16);
}

function tomorrowAtNine(): string {
  const at = new Date(Date.now() + 86400000);
  return `${at.toISOString().slice(0, 10)}T09:00:00Z`;
}

function WaitStep({ step }: { step: Step }) {
  const { node, id } = step;
  const mode = WAIT_MODES.find((m) => node[m.value] !== undefined && node[m.value] !== null)?.value ?? "seconds";
  const untilTrait = (node.untilTrait ?? {}) as Obj;
  const offset = Number(untilTrait.offsetSeconds ?? 0);
  const localTime = (node.localTime ?? {}) as Obj;
  const days = (Array.isArray(localTime.weekdays) ? localTime.weekdays : []) as string[];
  let fields: ReactNode;
  if (mode === "until")
    fields = <TextInput id={`${id}-until`} type="datetime-local" label="Date and time (UTC)" value={utcMinutes(node.until)} onChange={(e) => step.set("until", e.currentTarget.value ? `${e.currentTarget.value}:00Z` : "")} error={step.error("until")} />;
  else if (mode === "untilTrait")
    fields = (
      <>
        <TextInput id={`${id}-trait`} label="Date trait" description="A trait holding a date, e.g. renewalDate (no readable date: the run goes on at once)" value={String(untilTrait.trait ?? "")} onChange={(e) => step.set("untilTrait", { ...untilTrait, trait: e.currentTarget.value })} error={step.error("untilTrait.trait")} />
        <Group gap="xs" align="flex-end">
          <NativeSelect
            id={`${id}-offset-side`}
            label="When"
            value={offset < 0 ? "before" : offset > 0 ? "after" : "on"}
            data={[
              { value: "on", label: "On the date" },
              { value: "before", label: "Before the date" },
              { value: "after", label: "After the date" },
            ]}
            onChange={(e) => step.set("untilTrait", { ...untilTrait, offsetSeconds: { on: 0, before: -Math.abs(offset || 86400), after: Math.abs(offset || 86400) }[e.currentTarget.value] ?? 0 })}
          />
          {offset ? <Duration id={`${id}-offset`} label="By" seconds={Math.abs(offset)} onChange={(s) => step.set("untilTrait", { ...untilTrait, offsetSeconds: offset < 0 ? -s : s })} error={step.error("untilTrait.offsetSeconds")} /> : null}
        </Group>
      </>
    );
  else if (mode === "localTime")
    fields = (
      <>
        <TextInput id={`${id}-time`} type="time" label="Time of day (the person's own time zone)" value={String(localTime.time ?? "").slice(0, 5)} onChange={(e) => step.set("localTime", { ...localTime, time: e.currentTarget.value })} error={step.error("localTime.time")} w={260} />
        <Checkbox.Group id={`${id}-weekdays`} label="On these days (none ticked: any day)" value={days} onChange={(weekdays) => step.set("localTime", { ...localTime, weekdays: WEEKDAYS.map(([d]) => d).filter((d) => weekdays.includes(d)) })} error={step.error("localTime.weekdays")}>
          <Group gap="sm" mt={4}>
            {WEEKDAYS.map(([value, label]) => (
              <Checkbox key={value} id={`${id}-day-${value}`} value={value} label={label} />
            ))}
          </Group>
        </Checkbox.Group>
      </>
    );
  else fields = <Duration id={`${id}-duration`} label="Wait for" seconds={Number(node.seconds ?? 86400)} onChange={(s) => step.set("seconds", s)} error={step.error("seconds")} />;
  return (
    <>
      <NativeSelect
        id={`${id}-wait-mode`}
        label="Wait"
        value={mode}
        data={WAIT_MODES}
        onChange={(e) => {
          const { seconds: _s, until: _u, untilTrait: _t, localTime: _l, ...rest } = node;
          const chosen = e.currentTarget.value;
          const fresh = { seconds: 86400, until: tomorrowAtNine(), untilTrait: { trait: "renewalDate", offsetSeconds: 0 }, localTime: { time: "09:00", weekdays: [] } }[chosen];
          step.replace({ ...rest, [chosen]: fresh } as JourneyNode);
        }}
      />
      {fields}
      <Target step={step} field="next" label="Then" />
    </>
  );
}

function WaitForEventStep({ step }: { step: Step }) {
  const { node, id } = step;
  return (
    <>
      <Duration id={`${id}-timeout`} label="Wait at most" seconds={Number(node.timeoutSeconds ?? 172800)} onChange={(s) => step.set("timeoutSeconds", s)} error={step.error("timeoutSeconds")} />
      <Branches step={step} title={(i) => `Event ${i + 1}`} min={1} addLabel="Wait for another event too" fresh={{ event: "", next: null }}>
        {(b, i) => {
          const branch = `${id}-b${i}`;
          const { message: _m, ...withoutMessage } = b;
          return (
            <>
              <TextInput
                id={`${branch}-event`}
                label="Event name"
                description="As your site or app sends it, e.g. Order Completed; page views are “page”"
                value={String(b.event ?? "")}
                onChange={(e) => setBranch(step, i, EMAIL_EVENTS.includes(e.currentTarget.value) ? { ...b, event: e.currentTarget.value } : { ...withoutMessage, event: e.currentTarget.value })}
                error={step.error(`branches[${i}].event`)}
              />
              {EMAIL_EVENTS.includes(String(b.event)) ? (
                <NativeSelect
                  id={`${branch}-message`}
                  label="Of the email step"
                  value={String(b.message ?? "")}
                  data={[{ value: "", label: "Any email" }, ...emailSteps(step.nodes).map((n) => ({ value: n.id, label: n.name || n.id }))]}
                  onChange={(e) => setBranch(step, i, e.currentTarget.value ? { ...b, message: e.currentTarget.value } : withoutMessage)}
                  error={step.error(`branches[${i}].message`)}
                />
              ) : null}
              <PropertyFilters
                id={branch}
                value={b.where}
                onChange={(where) => {
                  const { where: _w, ...rest } = b;
                  setBranch(step, i, where.length ? { ...b, where } : rest);
                }}
                error={(path) => step.error(`branches[${i}].${path}`)}
              />
              <TargetSelect id={`${branch}-next`} label="When it happens, go to" value={b.next} self={node.id} nodes={step.nodes} onChange={(v) => setBranch(step, i, { ...b, next: v })} error={step.error(`branches[${i}].next`)} />
            </>
          );
        }}
      </Branches>
      <Target step={step} field="timeoutNext" label="If none happens in time, go to" />
    </>
  );
}

// ---- branches ----

function ConditionStep({ step }: { step: Step }) {
  const { node, id, choices } = step;
  return (
    <>
      <Branches step={step} title={(i) => `Rule ${i + 1}`} min={1} addLabel="Add a rule" fresh={{ condition: { trait: "country", op: "equals", value: "" }, next: null }}>
        {(b, i) => {
          const at = `branches[${i}].condition`;
          return (
            <>
              <ConditionFields id={`${id}-b${i}`} condition={b.condition} choices={choices} emailNodes={emailSteps(step.nodes)} onChange={(c) => setBranch(step, i, { ...b, condition: c })} error={(path) => (path ? step.error(`${at}.${path}`) : step.error(at, true))} />
              <TargetSelect id={`${id}-b${i}-next`} label="When it holds, go to" value={b.next} self={node.id} nodes={step.nodes} onChange={(v) => setBranch(step, i, { ...b, next: v })} error={step.error(`branches[${i}].next`)} />
            </>
          );
        }}
      </Branches>
      <Target step={step} field="elseNext" label="Otherwise go to" />
    </>
  );
}

function SplitStep({ step }: { step: Step }) {
  const { node, id } = step;
  const branches = branchesOf(node);
  const total = branches.reduce((sum, b) => sum + (Number(b.percent) || 0), 0);
  const path = (i: number) => `Path ${String.fromCharCode(65 + i)}`;
  return (
    <>
      <Branches step={step} title={path} min={2} addLabel="Add a path" fresh={{ percent: 0, next: null }}>
        {(b, i) => (
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
            <NumberInput id={`${id}-b${i}-percent`} label={`${path(i)} (%)`} value={Number(b.percent ?? 0)} min={1} max={99} onChange={(v) => setBranch(step, i, { ...b, percent: Number(v) || 0 })} error={step.error(`branches[${i}].percent`)} />
            <TargetSelect id={`${id}-b${i}-next`} label="Goes to" value={b.next} self={node.id} nodes={step.nodes} onChange={(v) => setBranch(step, i, { ...b, next: v })} error={step.error(`branches[${i}].next`)} />
          </SimpleGrid>
        )}
      </Branches>
      <Text size="sm" c={total === 100 ? "dimmed" : "red.8"}>
        Together: {total} % {total === 100 ? "" : "(must be 100 %)"}
      </Text>
    </>
  );
}

function HoldoutStep({ step }: { step: Step }) {
  return (
    <>
      <NumberInput id={`${step.id}-percent`} label="Held out (%)" description="They get nothing for 7 days and are counted against the others for conversion" value={Number(step.node.percent ?? 10)} min={1} max={99} onChange={(v) => step.set("percent", typeof v === "number" ? v : 0)} error={step.error("percent")} w={260} />
      <Target step={step} field="next" label="The others go to" />
    </>
  );
}

// ---- messages ----

function EmailStep({ step }: { step: Step }) {
  const { node, id, choices } = step;
  const usesTemplate = typeof node.template === "string";
  return (
    <>
      <NativeSelect
        id={`${id}-content`}
        label="Content"
        value={usesTemplate ? "template" : "inline"}
        data={[
          { value: "inline", label: "Write the email here" },
          { value: "template", label: "Use an email template from Content" },
        ]}
        onChange={(e) => {
          const { subject: _s, html: _h, text: _t, template: _tp, variables: _v, ...rest } = node;
          step.replace(e.currentTarget.value === "template" ? { ...rest, template: choices.templates[0]?.value ?? "" } : { ...rest, subject: "", html: DEFAULT_HTML, text: "" });
        }}
      />
      {usesTemplate ? (
        <>
          <NativeSelect id={`${id}-template`} label="Email template" value={String(node.template ?? "")} data={optionsWith(choices.templates, String(node.template ?? ""), "Choose a template")} onChange={(e) => step.set("template", e.currentTarget.value)} error={step.error("template")} />
          <FieldGroup legend="Template variables (optional: the profile and unsubscribeUrl are there already)">
            <ValuesField id={`${id}-variables`} value={node.variables} onChange={(v) => step.set("variables", Object.keys(v).length ? v : undefined)} nameLabel="Variable" valueLabel="Value" addLabel="Add a variable" namePlaceholder="offer" error={step.error("variables")} />
          </FieldGroup>
        </>
      ) : (
        <>
          <TextInput id={`${id}-subject`} label="Subject" description="{{firstName}} and other traits are filled in per person" value={String(node.subject ?? "")} onChange={(e) => step.set("subject", e.currentTarget.value)} error={step.error("subject")} />
          <Textarea id={`${id}-html`} label="HTML body" autosize minRows={4} maxRows={14} styles={{ input: { fontFamily: "monospace", fontSize: 12 } }} value={String(node.html ?? "")} onChange={(e) => step.set("html", e.currentTarget.value)} error={step.error("html")} />
          <Textarea id={`${id}-text`} label="Plain-text body (optional)" autosize minRows={2} value={String(node.text ?? "")} onChange={(e) => step.set("text", e.currentTarget.value)} error={step.error("text")} />
        </>
      )}
      <Checkbox id={`${id}-transactional`} label="Transactional (skips consent, frequency cap and quiet hours)" checked={node.transactional === true} onChange={(e) => step.set("transactional", e.currentTarget.checked)} />
      <ActionTargets step={step} failing="If the send fails" />
    </>
  );
}

function SmsStep({ step }: { step: Step }) {
  const { node, id } = step;
  const text = String(node.text ?? "");
  return (
    <>
      <Textarea
        id={`${id}-text`}
        label="Message"
        description={`To the number in the trait phone; {{firstName}} and other traits are filled in. ${text.length} of 1,600 characters.`}
        autosize
        minRows={2}
        value={text}
        onChange={(e) => step.set("text", e.currentTarget.value)}
        error={step.error("text")}
      />
      <Checkbox id={`${id}-transactional`} label="Transactional (needs only a phone number: no SMS opt-in, cap or quiet hours)" checked={node.transactional === true} onChange={(e) => step.set("transactional", e.currentTarget.checked)} />
      <ActionTargets step={step} failing="If the send fails" />
    </>
  );
}

function WebhookStep({ step }: { step: Step }) {
  const { node, id } = step;
  return (
    <>
      <TextInput id={`${id}-url`} label="URL (https)" value={String(node.url ?? "")} onChange={(e) => step.set("url", e.currentTarget.value)} error={step.error("url")} />
      <TextInput id={`${id}-secret`} label="Signing secret (optional: generated when empty)" value={String(node.secret ?? "")} onChange={(e) => step.set("secret", e.currentTarget.value || undefined)} error={step.error("secret")} />
      <ActionTargets step={step} failing="If the call fails" />
    </>
  );
}

// ---- the profile and the platform ----

const CONSENTS = [
  ["email_marketing", "Email marketing"],
  ["personalisation", "Personalisation"],
  ["tracking", "Tracking"],
];

function UpdateProfileStep({ step }: { step: Step }) {
  const { node, id } = step;
  const consent = (node.consent && typeof node.consent === "object" && !Array.isArray(node.consent) ? node.consent : {}) as Obj;
  const list = (field: string, label: string, description: string) => <ListInput id={`${id}-${field}`} label={label} description={description} value={node[field]} onChange={(v) => step.set(field, v.length ? v : undefined)} error={step.error(field)} />;
  return (
    <>
      <FieldGroup legend="Traits to set (a number or true/false is kept as one)">
        <ValuesField id={`${id}-set`} value={node.set} onChange={(v) => step.set("set", v)} nameLabel="Trait" valueLabel="Value" addLabel="Set another trait" namePlaceholder="lifecycleStage" error={step.error("set")} />
      </FieldGroup>
      {list("remove", "Traits to clear", "Comma-separated trait names")}
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
        {list("addTags", "Tags to add", "Comma-separated")}
        {list("removeTags", "Tags to remove", "Comma-separated")}
      </SimpleGrid>
      <FieldGroup legend="Consent to record">
        <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="xs">
          {CONSENTS.map(([purpose, label]) => (
            <NativeSelect
              key={purpose}
              id={`${id}-consent-${purpose}`}
              label={label}
              value={consent[purpose] === true ? "grant" : consent[purpose] === false ? "refuse" : ""}
              data={[
                { value: "", label: "Leave as it is" },
                { value: "grant", label: "Record it granted" },
                { value: "refuse", label: "Record it refused" },
              ]}
              onChange={(e) => {
                const { [purpose]: _gone, ...others } = consent;
                const next = e.currentTarget.value ? { ...others, [purpose]: e.currentTarget.value === "grant" } : others;
                step.set("consent", Object.keys(next).length ? next : undefined);
              }}
              error={step.error(`consent.${purpose}`)}
            />
          ))}
        </SimpleGrid>
      </FieldGroup>
      <ActionTargets step={step} failing="If it fails" />
    </>
  );
}

function AddScoreStep({ step }: { step: Step }) {
  const { node, id, choices } = step;
  return (
    <>
      <NativeSelect id={`${id}-planId`} label="Scoring plan" description="Its tiers, thresholds and score segments follow" value={String(node.planId ?? "")} data={optionsWith(choices.plans, String(node.planId ?? ""), "Choose a plan")} onChange={(e) => step.set("planId", e.currentTarget.value)} error={step.error("planId")} />
      <NumberInput id={`${id}-points`} label="Points" description="Negative points take points away" value={typeof node.points === "number" ? node.points : ""} min={-10000} max={10000} onChange={(v) => step.set("points", typeof v === "number" ? v : 0)} error={step.error("points")} w={260} />
      <ActionTargets step={step} failing="If it fails" />
    </>
  );
}

const isScalar = (v: Json) => v === null || typeof v !== "object";

function PublishEventStep({ step }: { step: Step }) {
  const { node, id } = step;
  const properties = (node.properties && typeof node.properties === "object" && !Array.isArray(node.properties) ? node.properties : {}) as Obj;
  return (
    <>
      <TextInput id={`${id}-event`} label="Event name" description="Put on the platform's bus as JourneyEventPublished, for any consumer" value={String(node.event ?? "")} onChange={(e) => step.set("event", e.currentTarget.value)} error={step.error("event")} />
      {Object.values(properties).every(isScalar) ? (
        <FieldGroup legend="Properties (optional)">
          <ValuesField id={`${id}-properties`} value={properties} onChange={(v) => step.set("properties", v)} nameLabel="Property" valueLabel="Value" addLabel="Add a property" namePlaceholder="source" error={step.error("properties")} />
        </FieldGroup>
      ) : (
        <JsonField id={`${id}-properties-json`} label="Properties (JSON: they hold lists or objects)" value={properties} onChange={(v) => step.set("properties", v)} error={step.error("properties")} />
      )}
      <ActionTargets step={step} failing="If it fails" />
    </>
  );
}

function ClaimCodeStep({ step }: { step: Step }) {
  const { node, id, choices } = step;
  return (
    <>
      <NativeSelect
        id={`${id}-pool`}
        label="Coupon pool"
        description="One code per person and journey, kept on the run: later emails show it as {{couponCode}}"
        value={String(node.pool ?? "")}
        data={optionsWith(choices.pools, String(node.pool ?? ""), "Choose a pool")}
        onChange={(e) => step.set("pool", e.currentTarget.value)}
        error={step.error("pool")}
      />
      <Target step={step} field="next" label="Then" />
      <Target step={step} field="onEmpty" label="If the pool is empty, go to" endLabel="Treat it as a failure" />
      <Target step={step} field="onFailure" label="If it fails" endLabel="The run fails" />
    </>
  );
}

function ExitStep() {
  return <Text size="sm">The run ends here, counted as exited.</Text>;
}

/** The form of each step kind; a kind without one is edited as JSON. */
export const STEP_FORMS: Record<string, (props: { step: Step }) => ReactNode> = {
  wait: WaitStep,
  waitForEvent: WaitForEventStep,
  condition: ConditionStep,
  split: SplitStep,
  holdout: HoldoutStep,
  email: EmailStep,
  sms: SmsStep,
  webhook: WebhookStep,
  updateProfile: UpdateProfileStep,
  addScore: AddScoreStep,
  publishEvent: PublishEventStep,
  claimCode: ClaimCodeStep,
  exit: ExitStep,
};

/** A new step of a kind, with what a marketer most often wants (the first pool or plan the API lists). */
export function newNode(type: string, id: string, choices?: Choices): JourneyNode {
  const base = { id, type, name: "" };
  switch (type) {
    case "wait":
      return { ...base, seconds: 86400, next: null };
    case "waitForEvent":
      return { ...base, timeoutSeconds: 172800, branches: [{ event: "Order Completed", next: null }], timeoutNext: null };
    case "condition":
      return { ...base, branches: [{ condition: { trait: "country", op: "equals", value: "" }, next: null }], elseNext: null };
    case "split":
      return { ...base, branches: [{ percent: 50, next: null }, { percent: 50, next: null }] };
    case "holdout":
      return { ...base, percent: 10, next: null };
    case "email":
      return { ...base, subject: "", html: DEFAULT_HTML, text: "", next: null };
    case "sms":
      return { ...base, text: "{{firstName}}, ", next: null };
    case "webhook":
      return { ...base, url: "https://", next: null };
    case "updateProfile":
      return { ...base, set: {}, next: null };
    case "addScore":
      return { ...base, planId: choices?.plans[0]?.value ?? "", points: 10, next: null };
    case "publishEvent":
      return { ...base, event: "", properties: {}, next: null };
    case "claimCode":
      return { ...base, pool: choices?.pools[0]?.value ?? "", next: null };
    case "exit":
      return base;
    default:
      return { ...base, next: null };
  }
}
