// A slot's form (PUT /v1/content/slots/{slotId}): its name and kind; for a variants slot each variant's id, content
// and targeting, their order and the default; for a list slot its size, item types and topics per audience.
// Nothing typed is lost on a refusal: each error shows at the field it names, the rest above the form.
import { ActionIcon, Badge, Button, Card, Group, NativeSelect, NumberInput, Stack, TagsInput, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useRef, useState, type FormEvent } from "react";

import { api, Problem } from "../../api";
import { FormDrawer, Refusal } from "./parts";
import { TargetingFields } from "./Targeting";
import { ID_HINT, newSlotDraft, newVariant, nextId, slotBody, slotDraft, slotErrors, slug, type Choices, type FieldError, type Slot, type SlotDraft, type SlotErrors, type VariantDraft, type VariantErrors } from "./model";

const NO_ERRORS: SlotErrors = { fields: {}, variants: {}, general: [] };
const NO_VARIANT_ERRORS: VariantErrors = { extra: {}, targeting: [], rules: {} };

function VariantCard({
  variant,
  index,
  count,
  isDefault,
  errors,
  choices,
  onChange,
  onMove,
  onRemove,
}: {
  variant: VariantDraft;
  index: number;
  count: number;
  isDefault: boolean;
  errors: VariantErrors;
  choices: Choices;
  onChange: (variant: VariantDraft) => void;
  onMove: (by: number) => void;
  onRemove: () => void;
}) {
  const p = `variant-${index}`;
  const name = `Variant ${index + 1}${variant.variantId ? ` (${variant.variantId})` : ""}`;
  const setContent = (patch: Partial<VariantDraft["content"]>) => onChange({ ...variant, content: { ...variant.content, ...patch } });
  const extra = variant.content.extra;
  const failed = Boolean(errors.variantId || errors.content || errors.targeting.length || Object.keys(errors.rules).length || Object.keys(errors.extra).length);
  return (
    <Card withBorder radius="md" padding="sm" component="section" aria-label={name} data-variant={index} style={failed ? { borderColor: "var(--mantine-color-red-7)" } : undefined}>
      <Stack gap="xs">
        <Group justify="space-between" gap="xs" wrap="wrap">
          <Group gap="xs">
            <Title order={3} size="h5">
              {name}
            </Title>
            {isDefault ? (
              <Badge color="dark" variant="outline">
                default
              </Badge>
            ) : null}
          </Group>
          <Group gap={4}>
            <Button size="compact-xs" variant="default" id={`${p}-up`} aria-label={`Move ${name} up`} disabled={index === 0} onClick={() => onMove(-1)}>
              ↑ Up
            </Button>
            <Button size="compact-xs" variant="default" id={`${p}-down`} aria-label={`Move ${name} down`} disabled={index === count - 1} onClick={() => onMove(1)}>
              ↓ Down
            </Button>
            <Button size="compact-xs" variant="default" id={`${p}-remove`} aria-label={`Remove ${name}`} disabled={count === 1} onClick={onRemove}>
              Remove
            </Button>
          </Group>
        </Group>
        <TextInput id={`${p}-id`} label="Variant id" description="What the site is told it shows (and what experiments and analytics name)" value={variant.variantId} onChange={(e) => onChange({ ...variant, variantId: e.currentTarget.value })} error={errors.variantId} required />
        <Text size="sm" fw={600} mt={4}>
          Content
        </Text>
        <Group grow align="flex-start" wrap="wrap" gap="sm">
          <TextInput id={`${p}-title`} label="Title" value={variant.content.title} onChange={(e) => setContent({ title: e.currentTarget.value })} miw={200} />
          <TextInput id={`${p}-link`} label="Link" placeholder="/recipes or https://…" value={variant.content.link} onChange={(e) => setContent({ link: e.currentTarget.value })} miw={200} />
        </Group>
        <Textarea id={`${p}-body`} label="Text" autosize minRows={2} maxRows={8} value={variant.content.body} onChange={(e) => setContent({ body: e.currentTarget.value })} />
        <TextInput id={`${p}-image`} label="Image URL" placeholder="https://…/hero.jpg" value={variant.content.image} onChange={(e) => setContent({ image: e.currentTarget.value })} />
        {extra.map((f, k) => (
          <Group key={f.id} gap="xs" align="flex-start" wrap="nowrap">
            <TextInput id={`${p}-extra-${k}-key`} label="Field" value={f.key} onChange={(e) => setContent({ extra: extra.map((x) => (x.id === f.id ? { ...x, key: e.currentTarget.value } : x)) })} w={140} error={errors.extra[f.id]} />
            <TextInput
              id={`${p}-extra-${k}-value`}
              label={f.json ? "Value (JSON)" : "Value"}
              value={f.value}
              onChange={(e) => setContent({ extra: extra.map((x) => (x.id === f.id ? { ...x, value: e.currentTarget.value } : x)) })}
              style={{ flex: 1 }}
              styles={f.json ? { input: { fontFamily: "monospace" } } : undefined}
            />
            <ActionIcon variant="subtle" color="gray" size="lg" mt={24} aria-label={`Remove the field ${f.key || k + 1} of ${name}`} onClick={() => setContent({ extra: extra.filter((x) => x.id !== f.id) })}>
              ×
            </ActionIcon>
          </Group>
        ))}
        {errors.content ? (
          <Text size="sm" c="red.9">
            {errors.content}
          </Text>
        ) : null}
        <Group>
          <Button size="compact-sm" variant="default" id={`${p}-add-field`} onClick={() => setContent({ extra: [...extra, { id: nextId(), key: "", value: "", json: false }] })}>
            + Another content field
          </Button>
        </Group>
        <Text size="sm" fw={600} mt={4}>
          Who sees it
        </Text>
        {isDefault ? (
          <>
            <Text size="sm">Everyone no other variant matches: this is the default variant.</Text>
            {errors.targeting.length ? (
              <Text size="sm" c="red.9">
                {errors.targeting.join("; ")}
              </Text>
            ) : null}
          </>
        ) : (
          <TargetingFields id={`${p}-when`} label={name} targeting={variant.targeting} choices={choices} errors={errors.targeting} ruleErrors={errors.rules} onChange={(targeting) => onChange({ ...variant, targeting })} />
        )}
      </Stack>
    </Card>
  );
}

function ListFields({ draft, choices, topics, types, errors, onChange }: { draft: SlotDraft; choices: Choices; topics: string[]; types: string[]; errors: Record<string, string>; onChange: (draft: SlotDraft) => void }) {
  const audiences = [{ value: "neutral", label: "No questionnaire segment (neutral)" }, ...choices.audiences];
  const taken = new Set(draft.audiences.map((a) => a.audience));
  return (
    <Stack gap="sm">
      <Group align="flex-start" wrap="wrap">
        <NumberInput id="slot-limit" label="Items shown" min={1} max={50} allowDecimal={false} value={draft.limit} onChange={(v) => onChange({ ...draft, limit: Number(v) || 1 })} error={errors["list.limit"]} w={140} />
        <TagsInput id="slot-types" label="Item types" description="Empty: every type" data={types} value={draft.types} onChange={(values) => onChange({ ...draft, types: values })} error={errors["list.types"]} style={{ flex: "1 1 240px" }} />
      </Group>
      <Text size="sm" fw={600}>
        Topics per audience
      </Text>
      <Text size="xs" c="dimmed">
        Each audience&apos;s list is drawn from its topics (an audience not listed: every topic).
      </Text>
      {draft.audiences.map((row, k) => (
        <Group key={row.id} align="flex-start" gap="xs" wrap="wrap">
          <NativeSelect
            id={`slot-audience-${k}`}
            label="Audience"
            value={row.audience}
            data={[...(row.audience && !audiences.some((a) => a.value === row.audience) ? [{ value: row.audience, label: row.audience }] : []), ...(row.audience ? [] : [{ value: "", label: "Choose an audience" }]), ...audiences.filter((a) => a.value === row.audience || !taken.has(a.value))]}
            onChange={(e) => onChange({ ...draft, audiences: draft.audiences.map((a) => (a.id === row.id ? { ...a, audience: e.currentTarget.value } : a)) })}
            style={{ flex: "1 1 200px" }}
          />
          <TagsInput id={`slot-audience-${k}-topics`} label="Topics" data={topics} value={row.topics} onChange={(values) => onChange({ ...draft, audiences: draft.audiences.map((a) => (a.id === row.id ? { ...a, topics: values } : a)) })} style={{ flex: "2 1 240px" }} />
          <ActionIcon variant="subtle" color="gray" size="lg" mt={24} aria-label={`Remove the audience ${row.audience || k + 1}`} onClick={() => onChange({ ...draft, audiences: draft.audiences.filter((a) => a.id !== row.id) })}>
            ×
          </ActionIcon>
        </Group>
      ))}
      {errors["list.topicsByAudience"] ? (
        <Text size="sm" c="red.9">
          {errors["list.topicsByAudience"]}
        </Text>
      ) : null}
      <Group>
        <Button size="compact-sm" variant="default" id="slot-add-audience" onClick={() => onChange({ ...draft, audiences: [...draft.audiences, { id: nextId(), audience: "", topics: [] }] })}>
          + An audience
        </Button>
      </Group>
    </Stack>
  );
}

/** The slot form in a side panel: a new slot (`slot` null) or an existing one. `onSaved` gets the slot's id. */
export function SlotEditor({
  slot,
  taken,
  choices,
  topics,
  types,
  onClose,
  onSaved,
}: {
  slot: Slot | null;
  taken: string[];
  choices: Choices;
  topics: string[];
  types: string[];
  onClose: () => void;
  onSaved: (slotId: string) => void;
}) {
  const [initial] = useState<SlotDraft>(() => (slot ? slotDraft(slot) : newSlotDraft()));
  const [draft, setDraft] = useState(initial);
  const [idTouched, setIdTouched] = useState(Boolean(slot));
  const [refused, setRefused] = useState<Error | null>(null);
  const [errors, setErrors] = useState<SlotErrors>(NO_ERRORS);
  const [saving, setSaving] = useState(false);
  const top = useRef<HTMLDivElement>(null);
  const refuse = (error: Error, faults: FieldError[]) => {
    setRefused(error);
    setErrors(slotErrors(faults, draft));
    top.current?.scrollIntoView({ block: "start" });
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const slotId = draft.slotId.trim();
    const { body, faults } = slotBody(draft);
    if (!slot && slotId && taken.includes(slotId)) faults.unshift({ field: "slotId", message: "A slot has this id already: edit that slot, or choose another id" });
    if (faults.length) return refuse(new Problem(400, "Not saved", "Fix the fields marked in red.", faults), faults);
    setSaving(true);
    try {
      await api.put(`/v1/content/slots/${encodeURIComponent(slotId)}`, body);
      onSaved(slotId);
    } catch (failed) {
      refuse(failed as Error, failed instanceof Problem ? failed.errors : []);
    } finally {
      setSaving(false);
    }
  };
  const move = (index: number, by: number) => {
    const variants = [...draft.variants];
    const [moved] = variants.splice(index, 1);
    variants.splice(index + by, 0, moved);
    setDraft({ ...draft, variants });
  };
  const remove = (index: number) => {
    const gone = draft.variants[index];
    const variants = draft.variants.filter((_, i) => i !== index);
    setDraft({ ...draft, variants, defaultKey: gone.key === draft.defaultKey ? variants[0].key : draft.defaultKey });
  };
  const title = slot ? `Edit the slot “${slot.name || slot.slotId}”` : "New slot";
  return (
    <FormDrawer title={title} dirty={draft !== initial} onClose={onClose}>
      {(close) => (
        <form onSubmit={(e) => void save(e)} noValidate>
          <Stack gap="md">
            <div ref={top} style={{ scrollMarginTop: 80 }} />
            <Refusal error={refused} general={errors.general} title="The slot was not saved" />
            <Group grow align="flex-start" wrap="wrap">
              <TextInput
                id="slot-name"
                label="Name"
                description="For people: what and where it is"
                value={draft.name}
                onChange={(e) => {
                  const name = e.currentTarget.value;
                  setDraft({ ...draft, name, slotId: idTouched ? draft.slotId : slug(name) });
                }}
                error={errors.fields.name}
                required
                data-autofocus
                miw={220}
              />
              <TextInput
                id="slot-id"
                label="Slot id"
                description={slot ? "What the site asks for (GET /v1/decide?slots=…)" : ID_HINT}
                value={draft.slotId}
                onChange={(e) => {
                  setIdTouched(true);
                  setDraft({ ...draft, slotId: e.currentTarget.value });
                }}
                readOnly={Boolean(slot)}
                error={errors.fields.slotId}
                required
                miw={220}
              />
            </Group>
            <NativeSelect
              id="slot-type"
              label="It shows"
              value={draft.type}
              data={[
                { value: "variants", label: "One variant per visitor (targeted content)" },
                { value: "list", label: "A list of catalogue items picked for the visitor" },
              ]}
              onChange={(e) => setDraft({ ...draft, type: e.currentTarget.value as SlotDraft["type"] })}
              error={errors.fields.type}
            />
            {draft.type === "list" ? (
              <ListFields draft={draft} choices={choices} topics={topics} types={types} errors={errors.fields} onChange={setDraft} />
            ) : (
              <>
                <Text size="sm">Variants are tried from the top: a visitor sees the first one whose conditions they match. The default is shown to everyone else, wherever it is listed.</Text>
                <NativeSelect
                  id="slot-default"
                  label="Default variant"
                  description="Shown to everyone no other variant matches (and to visitors who refused personalisation)"
                  value={String(draft.defaultKey)}
                  data={draft.variants.map((v, i) => ({ value: String(v.key), label: v.variantId || `Variant ${i + 1}` }))}
                  onChange={(e) => setDraft({ ...draft, defaultKey: Number(e.currentTarget.value) })}
                />
                {draft.variants.map((variant, i) => (
                  <VariantCard
                    key={variant.key}
                    variant={variant}
                    index={i}
                    count={draft.variants.length}
                    isDefault={variant.key === draft.defaultKey}
                    errors={errors.variants[variant.key] ?? NO_VARIANT_ERRORS}
                    choices={choices}
                    onChange={(next) => setDraft({ ...draft, variants: draft.variants.map((v) => (v.key === variant.key ? next : v)) })}
                    onMove={(by) => move(i, by)}
                    onRemove={() => remove(i)}
                  />
                ))}
                <Group>
                  <Button variant="default" id="slot-add-variant" onClick={() => setDraft({ ...draft, variants: [...draft.variants, newVariant(draft.variants)] })} disabled={draft.variants.length >= 50}>
                    + Add a variant
                  </Button>
                </Group>
              </>
            )}
            <Group justify="flex-end" gap="xs" pt="sm" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" id="slot-save" loading={saving}>
                Save slot
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </FormDrawer>
  );
}
