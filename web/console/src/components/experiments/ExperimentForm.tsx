// Create a draft experiment, or edit one (PUT /v1/experiments/{id}): name and hypothesis, the slot or email template
// it tests, its variants with their weights and content, its goal, coverage and window. Only a draft can change: the
// API refuses a new definition once the experiment runs (its counts would mix), so a running or stopped one is
// duplicated into a new draft instead.
import { Alert, Badge, Button, Card, Group, NativeSelect, NumberInput, SimpleGrid, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useEffect, useMemo, useState } from "react";

import { api } from "../../api";
import { useApi } from "../../hooks";
import { useAudiences } from "../content/choices";
import { placeTargetingError } from "../content/model";
import { TargetingFields } from "../content/Targeting";
import { errorAt, fieldErrors, FormDrawer, PairRows, useSubmit, type FieldErrors, type Pair } from "../forms";
import { check, emptyDraft, fromExperiment, idFrom, MAX_VARIANTS, newVariant, nextVariantId, toBody, type Experiment, type ExperimentDraft, type VariantDraft } from "./model";

interface Slot {
  slotId: string;
  name?: string;
  type: string;
  variants: { variantId: string; segmentId?: string | null; when?: unknown; content?: Record<string, unknown> }[];
}

interface Template {
  id: string;
  name?: string;
  source?: { subject?: string; html?: string };
}

/** The slot's default content as name = value rows (what the control shows today), when it is all text. */
function defaultContent(slot: Slot | undefined): Pair[] {
  const fallback = slot?.variants.find((v) => !v.when && !v.segmentId) ?? slot?.variants[0];
  const content = fallback?.content ?? {};
  return Object.entries(content)
    .filter(([, v]) => typeof v === "string")
    .map(([name, value]) => ({ name, value: String(value) }));
}

const untouched = (v: VariantDraft) => v.json === null && v.content.every((p) => !p.name.trim() && !p.value.trim());

export function ExperimentForm({
  opened,
  experiment,
  copy = false,
  onClose,
  onSaved,
}: {
  opened: boolean;
  experiment?: Experiment; // edit it (a draft), or with `copy` start a new draft from it; none: a new one
  copy?: boolean;
  onClose: () => void;
  onSaved: (saved: Experiment) => void;
}) {
  const creating = !experiment || copy;
  const [draft, setDraft] = useState<ExperimentDraft>(() => (experiment ? fromExperiment(experiment, copy) : emptyDraft()));
  const [idEdited, setIdEdited] = useState(Boolean(experiment));
  const slots = useApi<{ slots: Slot[] }>(opened ? "/v1/content/slots" : null);
  const templates = useApi<{ templates: Template[] }>(opened ? "/v1/content/templates" : null);
  const existing = useApi<{ experiments: { id: string }[] }>(opened && creating ? "/v1/experiments" : null);
  const slotList = useMemo(() => (slots.data?.slots ?? []).filter((s) => s.type !== "list"), [slots.data]);
  const chosenSlot = slotList.find((s) => s.slotId === draft.slotId);
  const chosenTemplate = (templates.data?.templates ?? []).find((t) => t.id === draft.templateId);

  // a slot chosen for fresh variants: each starts from what the slot shows today, ready to be changed
  useEffect(() => {
    if (draft.target !== "slot" || !chosenSlot || !draft.variants.every(untouched)) return;
    const content = defaultContent(chosenSlot);
    if (content.length) setDraft((d) => ({ ...d, variants: d.variants.map((v) => ({ ...v, content: content.map((p) => ({ ...p })) })) }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [chosenSlot]);

  const set = (patch: Partial<ExperimentDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setVariant = (i: number, patch: Partial<VariantDraft>) => setDraft((d) => ({ ...d, variants: d.variants.map((v, j) => (j === i ? { ...v, ...patch } : v)) }));
  const totalWeight = draft.variants.reduce((sum, v) => sum + (Number(v.weight) > 0 ? Number(v.weight) : 0), 0);

  const { saving, error, submit } = useSubmit(
    () => api.put<Experiment>(`/v1/experiments/${encodeURIComponent(draft.id)}`, toBody(draft)),
    onSaved,
  );
  // the API names the field at fault (`variants[2].id`, `stopAt`, `goal.click`): each error shows on its input
  const errors: FieldErrors = fieldErrors(error);
  const at = (field: string, scope: "exact" | "under" = "exact") => errorAt(errors, field, scope);
  const joined = (...messages: (string | undefined)[]) => messages.filter(Boolean).join("; ") || undefined;
  const { choices } = useAudiences(opened);
  const audienceErrors = useMemo(() => {
    const into: { targeting: string[]; rules: Record<number, Record<string, string>> } = { targeting: [], rules: {} };
    for (const [path, messages] of Object.entries(errors))
      if (path === "audience" || path.startsWith("audience.")) for (const m of messages) placeTargetingError(draft.audience, path.replace(/^audience\.?/, ""), m, into);
    return into;
  }, [errors, draft.audience]);

  const slotChoices = [
    { value: "", label: slots.loading ? "Loading the slots…" : "Choose a slot" },
    ...slotList.map((s) => ({ value: s.slotId, label: `${s.name || s.slotId} (${s.slotId})` })),
    ...(draft.slotId && !slotList.some((s) => s.slotId === draft.slotId) && !slots.loading ? [{ value: draft.slotId, label: `${draft.slotId} (not found)` }] : []),
  ];
  const templateChoices = [
    { value: "", label: templates.loading ? "Loading the templates…" : "Choose an email template" },
    ...(templates.data?.templates ?? []).map((t) => ({ value: t.id, label: `${t.name || t.id} (${t.id})` })),
    ...(draft.templateId && !(templates.data?.templates ?? []).some((t) => t.id === draft.templateId) && !templates.loading ? [{ value: draft.templateId, label: `${draft.templateId} (not found)` }] : []),
  ];

  return (
    <FormDrawer
      opened={opened}
      title={creating ? (copy ? `New draft from “${experiment?.name}”` : "New experiment") : `Edit “${experiment?.name || experiment?.id}”`}
      label="Experiment"
      onClose={onClose}
      onSubmit={() => void submit(check(draft, creating ? (existing.data?.experiments ?? []).map((e) => e.id) : null))}
      saving={saving}
      error={error}
      errorTitle="The experiment was not saved"
      submitLabel={creating ? "Save draft" : "Save changes"}
    >
      <Text size="sm" c="dimmed">
        A draft can be changed until you start it. Once it runs, nothing about it can change (the API refuses, so its counts never mix two versions): stop it and start a new one instead.
      </Text>
      <Stack gap="xs">
        <TextInput
          id="experiment-name"
          data-autofocus
          label="Name"
          placeholder="Hero headline"
          required
          value={draft.name}
          error={at("name")}
          onChange={(e) => {
            const name = e.currentTarget.value;
            set(creating && !idEdited ? { name, id: idFrom(name) } : { name });
          }}
        />
        <TextInput
          id="experiment-id"
          label="Experiment id"
          description={creating ? "Letters, digits, - and _: the experiment's address in the API. It cannot change later." : "It cannot change."}
          required
          readOnly={!creating}
          value={draft.id}
          error={at("experimentId")}
          onChange={(e) => {
            setIdEdited(true);
            set({ id: e.currentTarget.value });
          }}
        />
        <Textarea id="experiment-hypothesis" label="Hypothesis" placeholder="A bolder headline makes more people order." autosize minRows={2} value={draft.hypothesis} error={at("hypothesis")} onChange={(e) => set({ hypothesis: e.currentTarget.value })} />
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="experiment-target-title">
        <Title order={3} size="h5" id="experiment-target-title">
          What it tests
        </Title>
        <NativeSelect
          id="experiment-target"
          label="Test"
          value={draft.target}
          data={[
            { value: "slot", label: "A slot on the site (its content)" },
            { value: "template", label: "An email template (its subject and body)" },
          ]}
          error={at("target")}
          onChange={(e) => {
            const target = e.currentTarget.value as ExperimentDraft["target"];
            set({ target, goal: target === "slot" ? "event" : draft.goal });
          }}
        />
        {draft.target === "slot" ? (
          <NativeSelect
            id="experiment-slot"
            label="Slot"
            description="Every visitor in the experiment sees their variant's content in this slot, whatever its targeting would show (list slots cannot be tested)."
            value={draft.slotId}
            data={slotChoices}
            error={at("target.slotId")}
            onChange={(e) => set({ slotId: e.currentTarget.value })}
          />
        ) : (
          <NativeSelect
            id="experiment-template"
            label="Email template"
            description="Each variant's subject and body replace the template's in every email sent with it."
            value={draft.templateId}
            data={templateChoices}
            error={at("target.templateId")}
            onChange={(e) => set({ templateId: e.currentTarget.value })}
          />
        )}
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="experiment-variants-title">
        <Title order={3} size="h5" id="experiment-variants-title">
          Variants
        </Title>
        <Text size="sm" c="dimmed">
          The first is the control. Visitors are split by weight: a variant weighing 2 gets twice the visitors of one weighing 1. A person keeps their variant on every visit.
        </Text>
        {at("variants") ? (
          <Text size="sm" c="var(--mantine-color-error)" role="note">
            {at("variants")}
          </Text>
        ) : null}
        {draft.variants.map((v, i) => (
          <VariantCard
            key={i}
            index={i}
            variant={v}
            slot={draft.target === "slot"}
            share={totalWeight > 0 && Number(v.weight) > 0 ? Number(v.weight) / totalWeight : null}
            template={chosenTemplate}
            errors={errors}
            removable={draft.variants.length > 2}
            onChange={(patch) => setVariant(i, patch)}
            onRemove={() => set({ variants: draft.variants.filter((_, j) => j !== i) })}
          />
        ))}
        {draft.variants.length < MAX_VARIANTS ? (
          <div>
            <Button
              id="experiment-add-variant"
              variant="default"
              size="xs"
              onClick={() => set({ variants: [...draft.variants, newVariant(nextVariantId(draft.variants), draft.target === "slot" ? defaultContent(chosenSlot) : [])] })}
            >
              Add a variant
            </Button>
          </div>
        ) : null}
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="experiment-goal-title">
        <Title order={3} size="h5" id="experiment-goal-title">
          Goal
        </Title>
        <NativeSelect
          id="experiment-goal"
          label="A conversion is"
          value={draft.goal}
          data={[
            { value: "event", label: "An event your site or back-end sends (e.g. Order Completed)" },
            ...(draft.target === "template" || draft.goal === "click" ? [{ value: "click", label: "A click on a link in the email" }] : []),
          ]}
          error={joined(at("goal"), at("goal.click"))}
          onChange={(e) => set({ goal: e.currentTarget.value as ExperimentDraft["goal"] })}
        />
        {draft.goal === "event" ? (
          <>
            <TextInput id="experiment-goal-event" label="Event name" placeholder="Order Completed" required value={draft.event} error={at("goal.event")} onChange={(e) => set({ event: e.currentTarget.value })} />
            <Text size="sm" fw={500}>
              Only when the event's properties are (optional)
            </Text>
            <PairRows
              id="experiment-goal-where"
              pairs={draft.where}
              onChange={(where) => set({ where })}
              nameLabel="Property"
              valueLabel="Equals"
              namePlaceholder="currency"
              addLabel="Add a property filter"
              error={at("goal.where", "under")}
            />
          </>
        ) : (
          <TextInput id="experiment-goal-url" label="Only links whose address contains (optional)" placeholder="/recipes" value={draft.urlContains} error={at("goal.urlContains")} onChange={(e) => set({ urlContains: e.currentTarget.value })} />
        )}
        <Text size="xs" c="dimmed">
          A conversion counts once per person in the experiment, when the goal happens after they saw their variant and while it runs.
        </Text>
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="experiment-who-title">
        <Title order={3} size="h5" id="experiment-who-title">
          Who and when
        </Title>
        <NumberInput
          id="experiment-coverage"
          label="Visitors in the experiment (%)"
          description="The others see the slot or the email as usual and are not counted."
          min={1}
          max={100}
          decimalScale={2}
          suffix=" %"
          value={draft.coverage}
          error={at("coverage")}
          onChange={(value) => set({ coverage: value })}
          w={{ base: "100%", sm: 260 }}
        />
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
          <TextInput id="experiment-start" type="datetime-local" label="Runs from (UTC, optional)" value={draft.startAt} error={at("startAt")} onChange={(e) => set({ startAt: e.currentTarget.value })} />
          <TextInput id="experiment-stop" type="datetime-local" label="Until (UTC, optional)" value={draft.stopAt} error={at("stopAt")} onChange={(e) => set({ stopAt: e.currentTarget.value })} />
        </SimpleGrid>
        <Text size="xs" c="dimmed">
          Starting it still takes the Start button; outside this window a started experiment shows nothing and counts nothing.
        </Text>
        <Text size="sm" fw={600} id="experiment-audience-title">
          Who may take part (optional)
        </Text>
        <Text size="xs" c="dimmed">
          With no condition, everyone the slot or the email reaches can take part. With conditions, only the visitors (or, for an email, the people mailed) who meet them do; everyone else sees what they would see anyway and is not counted.
        </Text>
        <TargetingFields
          id="experiment-audience"
          label="Who may take part"
          targeting={draft.audience}
          choices={choices}
          errors={audienceErrors.targeting}
          ruleErrors={audienceErrors.rules}
          onChange={(audience) => set({ audience })}
          empty="No condition: everyone can take part."
          jsonLabel="Who may take part"
        />
      </Stack>
    </FormDrawer>
  );
}

function VariantCard({
  index,
  variant: v,
  slot,
  share,
  template,
  errors,
  removable,
  onChange,
  onRemove,
}: {
  index: number;
  variant: VariantDraft;
  slot: boolean;
  share: number | null;
  template: Template | undefined;
  errors: FieldErrors;
  removable: boolean;
  onChange: (patch: Partial<VariantDraft>) => void;
  onRemove: () => void;
}) {
  const p = `variants[${index}]`;
  const id = `experiment-v${index}`;
  const at = (field: string, scope: "exact" | "under" = "exact") => errorAt(errors, field, scope);
  const contentError = at(`${p}.content`, "under");
  // a template's variant has no content fields to show `content` on: its card's alert says it
  const whole = [at(p), slot ? undefined : contentError].filter(Boolean).join("; ") || undefined;
  const label = v.id || `variant ${index + 1}`;
  return (
    <Card withBorder padding="sm" component="section" aria-label={`Variant ${label}`} data-variant={index} style={whole || at(p, "under") ? { borderColor: "var(--mantine-color-red-6)" } : undefined}>
      <Stack gap="xs">
        <Group justify="space-between" gap="xs">
          <Group gap="xs">
            <Text size="sm" fw={600}>
              Variant {index + 1}
            </Text>
            {index === 0 ? (
              <Badge size="sm" variant="light" color="gray">
                control
              </Badge>
            ) : null}
            <Text size="sm" c="dimmed">
              {share === null ? "" : `${(share * 100).toFixed(share * 100 >= 10 ? 0 : 1)} % of the experiment's visitors`}
            </Text>
          </Group>
          {removable ? (
            <Button size="compact-xs" variant="subtle" color="red" onClick={onRemove} aria-label={`Remove variant ${label}`}>
              Remove
            </Button>
          ) : null}
        </Group>
        {whole ? (
          <Alert color="red" p="xs" title={`Fix variant ${label}`}>
            <Text size="sm">{whole}</Text>
          </Alert>
        ) : null}
        <Group gap="xs" align="flex-start" grow>
          <TextInput id={`${id}-id`} label="Variant id" required value={v.id} error={at(`${p}.id`)} onChange={(e) => onChange({ id: e.currentTarget.value })} />
          <NumberInput id={`${id}-weight`} label="Weight" min={0.01} max={1000} decimalScale={2} value={v.weight} error={at(`${p}.weight`)} onChange={(value) => onChange({ weight: value })} />
        </Group>
        {slot ? (
          v.json === null ? (
            <>
              <Group justify="space-between" gap="xs">
                <Text size="sm" fw={500}>
                  Content shown in the slot
                </Text>
                <Button size="compact-xs" variant="subtle" onClick={() => onChange({ json: JSON.stringify(Object.fromEntries(v.content.filter((x) => x.name.trim()).map((x) => [x.name.trim(), x.value])), null, 2) })}>
                  Edit as JSON
                </Button>
              </Group>
              <PairRows id={`${id}-content`} pairs={v.content} onChange={(content) => onChange({ content })} nameLabel="Field" valueLabel="Value" namePlaceholder="title" addLabel="Add a field" error={contentError} />
            </>
          ) : (
            <>
              <Textarea
                id={`${id}-json`}
                label="Content shown in the slot (JSON)"
                description="An object, as your site renders it: title, image, link…"
                autosize
                minRows={3}
                styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
                value={v.json}
                error={contentError}
                onChange={(e) => onChange({ json: e.currentTarget.value })}
              />
              {canBeFields(v.json) ? (
                <div>
                  <Button size="compact-xs" variant="subtle" onClick={() => onChange({ json: null, content: Object.entries(JSON.parse(v.json!) as Record<string, string>).map(([name, value]) => ({ name, value })) })}>
                    Edit as fields
                  </Button>
                </div>
              ) : null}
            </>
          )
        ) : (
          <>
            <TextInput id={`${id}-subject`} label="Subject" description="Empty: the template's own." placeholder={template?.source?.subject ?? ""} value={v.subject} error={at(`${p}.subject`)} onChange={(e) => onChange({ subject: e.currentTarget.value })} />
            <Textarea
              id={`${id}-html`}
              label="HTML body"
              description="Empty: the template's own. Liquid as in the template ({{ firstName }}…)."
              autosize
              minRows={3}
              maxRows={12}
              styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
              value={v.html}
              error={at(`${p}.html`)}
              onChange={(e) => onChange({ html: e.currentTarget.value })}
            />
          </>
        )}
      </Stack>
    </Card>
  );
}

function canBeFields(json: string): boolean {
  try {
    const parsed: unknown = JSON.parse(json);
    return Boolean(parsed) && typeof parsed === "object" && !Array.isArray(parsed) && Object.values(parsed as object).every((x) => typeof x === "string");
  } catch {
    return false;
  }
}
