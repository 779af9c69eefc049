// A catalogue item's form (PUT /v1/content/items/{itemId}): where it lives (a path, maybe a pattern, or a URL),
// what it is and is about, whom it is for, when it was published. A refusal shows at the fields it names.
import { Autocomplete, Button, Group, MultiSelect, SimpleGrid, Stack, TagsInput, Text, TextInput, Textarea } from "@mantine/core";
import { useRef, useState, type FormEvent } from "react";

import { api, Problem } from "../../api";
import { FormDrawer, Refusal } from "./parts";
import { ID_HINT, ITEM_FIELDS, byField, itemBody, itemDraft, slug, type Choices, type FieldError, type Item, type ItemDraft } from "./model";

export function ItemEditor({
  item,
  taken,
  now,
  choices,
  topics,
  types,
  onClose,
  onSaved,
}: {
  item: Item | null;
  taken: string[];
  now: Date;
  choices: Choices;
  topics: string[];
  types: string[];
  onClose: () => void;
  onSaved: (itemId: string) => void;
}) {
  const [initial] = useState<ItemDraft>(() => itemDraft(item, now));
  const [draft, setDraft] = useState(initial);
  const [idTouched, setIdTouched] = useState(Boolean(item));
  const [refused, setRefused] = useState<Error | null>(null);
  const [errors, setErrors] = useState<{ fields: Record<string, string>; general: string[] }>({ fields: {}, general: [] });
  const [saving, setSaving] = useState(false);
  const top = useRef<HTMLDivElement>(null);
  const set = (patch: Partial<ItemDraft>) => setDraft({ ...draft, ...patch });
  const refuse = (error: Error, faults: FieldError[]) => {
    setRefused(error);
    const found = byField(faults, ITEM_FIELDS);
    if (found.fields.itemId) found.fields.id = found.fields.itemId;
    setErrors(found);
    top.current?.scrollIntoView({ block: "start" });
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const itemId = draft.id.trim();
    const { body, faults } = itemBody(draft);
    if (!item && itemId && taken.includes(itemId)) faults.unshift({ field: "id", message: "An item has this id already: edit that item, or choose another id" });
    if (faults.length) return refuse(new Problem(400, "Not saved", "Fix the fields marked in red.", faults), faults);
    setSaving(true);
    try {
      await api.put(`/v1/content/items/${encodeURIComponent(itemId)}`, body);
      onSaved(itemId);
    } catch (failed) {
      refuse(failed as Error, failed instanceof Problem ? failed.errors : []);
    } finally {
      setSaving(false);
    }
  };
  const audiences = [...choices.audiences, ...draft.segments.filter((s) => !choices.audiences.some((a) => a.value === s)).map((s) => ({ value: s, label: s }))];
  const e = errors.fields;
  return (
    <FormDrawer title={item ? `Edit “${item.title}”` : "New catalogue item"} dirty={draft !== initial} onClose={onClose}>
      {(close) => (
        <form onSubmit={(ev) => void save(ev)} noValidate>
          <Stack gap="md">
            <div ref={top} style={{ scrollMarginTop: 80 }} />
            <Refusal error={refused} general={errors.general} title="The item was not saved" />
            <TextInput
              id="item-title"
              label="Title"
              value={draft.title}
              onChange={(ev) => {
                const title = ev.currentTarget.value;
                set({ title, id: idTouched ? draft.id : slug(title) });
              }}
              error={e.title}
              required
              data-autofocus
            />
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
              <TextInput
                id="item-id"
                label="Content id"
                description={item ? "What a page's properties.contentId names" : ID_HINT}
                value={draft.id}
                readOnly={Boolean(item)}
                onChange={(ev) => {
                  setIdTouched(true);
                  set({ id: ev.currentTarget.value });
                }}
                error={e.id}
                required
              />
              <Autocomplete id="item-type" label="Type" description="article, recipe, video, product…" data={types} value={draft.type} onChange={(type) => set({ type })} error={e.type} />
            </SimpleGrid>
            <Text size="sm" c="dimmed">
              Where it lives: a path on your site (a <code>*</code> stands for one whole segment: <code>/recipes/*</code>) or its full URL, or both. Page views are matched to it.
            </Text>
            <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
              <TextInput id="item-path" label="Path" placeholder="/recipes/lemon-tart" value={draft.path} onChange={(ev) => set({ path: ev.currentTarget.value })} error={e.path} />
              <TextInput id="item-url" label="URL" placeholder="https://www.example.com/recipes/lemon-tart" value={draft.url} onChange={(ev) => set({ url: ev.currentTarget.value })} error={e.url} />
            </SimpleGrid>
            <TagsInput id="item-topics" label="Topics" description="Lower-case words (recipes, history…): press Enter or a comma after each" data={topics} value={draft.topics} onChange={(values) => set({ topics: values })} error={e.topics} />
            <MultiSelect id="item-segments" label="For" description="Segments or questionnaire segments it is meant for; none: everyone" data={audiences} value={draft.segments} onChange={(values) => set({ segments: values })} error={e.segments} searchable clearable />
            <TagsInput id="item-keywords" label="Keywords" value={draft.keywords} onChange={(values) => set({ keywords: values })} error={e.keywords} />
            <Textarea id="item-summary" label="Summary" autosize minRows={2} maxRows={6} value={draft.summary} onChange={(ev) => set({ summary: ev.currentTarget.value })} error={e.summary} />
            <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
              <TextInput id="item-published" type="datetime-local" step={1} label="Published (UTC)" description="Lists and emails never show it before then" value={draft.publishedAt} onChange={(ev) => set({ publishedAt: ev.currentTarget.value })} error={e.publishedAt} required />
              <TextInput id="item-locale" label="Language" placeholder="en-GB" value={draft.locale} onChange={(ev) => set({ locale: ev.currentTarget.value })} error={e.locale} />
              <TextInput id="item-image" label="Image URL" placeholder="https://…" value={draft.image} onChange={(ev) => set({ image: ev.currentTarget.value })} error={e.image} />
            </SimpleGrid>
            <Group justify="flex-end" gap="xs" pt="sm" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" id="item-save" loading={saving}>
                Save item
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </FormDrawer>
  );
}
