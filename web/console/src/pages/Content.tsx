// Content: the catalogue, slots and their variants with their targeting, email templates (edited as Liquid, previewed
// for a chosen profile in a sandboxed frame, a test send), and what each segment reads (a segment × topic heatmap and
// the top content per segment). Catalogue items, slots and templates are created and edited in forms
// (components/content/).
import { Alert, Badge, Button, Card, Code, Group, NativeSelect, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title, VisuallyHidden } from "@mantine/core";
import { useMemo, useState } from "react";

import { query } from "../api";
import { formatNumber, formatTime, Loaded, Loading, PageHeader } from "../components/common";
import { ItemEditor } from "../components/content/ItemEditor";
import { ConfirmDelete } from "../components/content/parts";
import { SlotEditor } from "../components/content/SlotEditor";
import { Templates } from "../components/content/Templates";
import { useAudiences } from "../components/content/choices";
import type { Choices, Item, Slot } from "../components/content/model";
import { Notice } from "../components/journeys/Notice";
import { Scroll } from "../components/journeys/Scroll";
import { describe, type Json } from "../components/segments/model";
import { config } from "../config";
import { useApi } from "../hooks";
import { currentQuery } from "../router";
import type { PageProps } from "./registry";

/** The local cloud's virtual time (new items are published "now" on its clock), else the browser's. */
function useNow(): Date | null {
  const clock = useApi<{ now: string }>(config().local ? "/_local/clock" : null);
  return config().local ? (clock.data ? new Date(clock.data.now) : null) : new Date();
}

export function ContentPage(_props: PageProps) {
  const [tab, setTab] = useState<string>(() => currentQuery().get("tab") ?? "catalogue");
  const { names, choices, ready } = useAudiences();
  if (!ready) return <Loading />;
  return (
    <>
      <PageHeader title="Content" description="What the site and emails show, to whom, and what each audience reads." />
      <Tabs value={tab} onChange={(value) => setTab(value ?? "catalogue")} keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="catalogue">Catalogue</Tabs.Tab>
          <Tabs.Tab value="slots">Slots</Tabs.Tab>
          <Tabs.Tab value="templates">Email templates</Tabs.Tab>
          <Tabs.Tab value="analytics">Analytics</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="catalogue">
          <Catalogue names={names} choices={choices} />
        </Tabs.Panel>
        <Tabs.Panel value="slots">
          <Slots names={names} choices={choices} />
        </Tabs.Panel>
        <Tabs.Panel value="templates">
          <Templates />
        </Tabs.Panel>
        <Tabs.Panel value="analytics">
          <ContentAnalytics names={names} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}

/** What a form did, said once after its panel closed. */
function Done({ text, onClose }: { text: string | undefined; onClose: () => void }) {
  if (!text) return null;
  return (
    <Notice aria-live="polite" withCloseButton onClose={onClose} closeButtonLabel="Dismiss" data-done>
      {text}
    </Notice>
  );
}

function Catalogue({ names, choices }: { names: Record<string, string>; choices: Choices }) {
  const items = useApi<{ items: Item[] }>("/v1/content/items");
  const now = useNow();
  const [search, setSearch] = useState("");
  const [type, setType] = useState("");
  const [editing, setEditing] = useState<Item | "new" | null>(null);
  const [deleting, setDeleting] = useState<Item | null>(null);
  const [done, setDone] = useState<string>();
  const all = items.data?.items ?? [];
  const topics = useMemo(() => [...new Set(all.flatMap((i) => i.topics ?? []))].sort(), [all]);
  const types = useMemo(() => [...new Set(all.map((i) => i.type ?? ""))].filter(Boolean).sort(), [all]);
  return (
    <Loaded state={items}>
      {(data) => {
        const wanted = search.trim().toLowerCase();
        const shown = data.items.filter((i) => (!type || i.type === type) && (!wanted || `${i.title} ${i.path} ${(i.topics ?? []).join(" ")}`.toLowerCase().includes(wanted)));
        return (
          <>
            <Done text={done} onClose={() => setDone(undefined)} />
            {editing && now ? (
              <ItemEditor
                item={editing === "new" ? null : editing}
                taken={data.items.map((i) => i.id)}
                now={now}
                choices={choices}
                topics={topics}
                types={types}
                onClose={() => setEditing(null)}
                onSaved={(id) => {
                  setDone(`The item ${id} was saved.`);
                  setEditing(null);
                  items.reload();
                }}
              />
            ) : null}
            {deleting ? (
              <ConfirmDelete
                what="item"
                name={deleting.title}
                path={`/v1/content/items/${encodeURIComponent(deleting.id)}`}
                onClose={() => setDeleting(null)}
                onDeleted={() => {
                  setDone(`The item ${deleting.id} was deleted.`);
                  setDeleting(null);
                  items.reload();
                }}
              >
                The item leaves the catalogue at once: lists and emails stop showing it, and views of its pages no longer count for its topics.
              </ConfirmDelete>
            ) : null}
            {data.items.length === 0 ? (
              <Alert title="The catalogue is empty" mb="md">
                Add articles, recipes or products one by one with New item, or import them in bulk (<Code>POST /v1/content/items/import</Code>, JSON lines or CSV).
              </Alert>
            ) : null}
            <Group mb="sm" align="flex-end" wrap="wrap">
              {data.items.length ? (
                <>
                  <TextInput id="catalogue-search" label="Search" placeholder="title, path or topic" value={search} onChange={(e) => setSearch(e.currentTarget.value)} w={260} />
                  <NativeSelect id="catalogue-type" label="Type" value={type} data={[{ value: "", label: "Every type" }, ...types]} onChange={(e) => setType(e.currentTarget.value)} />
                </>
              ) : null}
              <Button id="item-new" onClick={() => setEditing("new")} disabled={!now}>
                New item
              </Button>
              {data.items.length ? (
                <Text size="sm" c="dimmed" ml="auto">
                  {shown.length} of {data.items.length} items
                </Text>
              ) : null}
            </Group>
            {data.items.length ? (
              <Scroll minWidth={900}>
                <Table striped id="catalogue-table">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Title</Table.Th>
                      <Table.Th>Type</Table.Th>
                      <Table.Th>Topics</Table.Th>
                      <Table.Th>For</Table.Th>
                      <Table.Th>Published</Table.Th>
                      <Table.Th>
                        <VisuallyHidden>Actions</VisuallyHidden>
                      </Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {shown.map((item) => (
                      <Table.Tr key={item.id} data-item={item.id}>
                        <Table.Td>
                          <Text size="sm" fw={500}>
                            {item.title}
                          </Text>
                          <Text size="xs" c="dimmed">
                            {item.path ?? item.url ?? item.id}
                          </Text>
                        </Table.Td>
                        <Table.Td>{item.type ?? "–"}</Table.Td>
                        <Table.Td>
                          <Group gap={4}>
                            {(item.topics ?? []).map((t) => (
                              <Badge key={t} size="sm" variant="default">
                                {t}
                              </Badge>
                            ))}
                          </Group>
                        </Table.Td>
                        <Table.Td>{item.segments?.length ? item.segments.map((s) => names[s] ?? s).join(", ") : "everyone"}</Table.Td>
                        <Table.Td>{formatTime(item.publishedAt).slice(0, 10)}</Table.Td>
                        <Table.Td>
                          <Group gap={4} wrap="nowrap">
                            <Button size="compact-sm" variant="default" aria-label={`Edit ${item.title}`} onClick={() => setEditing(item)} disabled={!now}>
                              Edit
                            </Button>
                            <Button size="compact-sm" variant="outline" color="red.9" aria-label={`Delete ${item.title}`} onClick={() => setDeleting(item)}>
                              Delete…
                            </Button>
                          </Group>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Scroll>
            ) : null}
          </>
        );
      }}
    </Loaded>
  );
}

const OP_WORDS: Record<string, string> = { equals: "is", notEquals: "is not", in: "is one of", gte: "is at least", gt: "is above", lte: "is at most", lt: "is below", atLeast: "is at least", between: "is between" };

function words(value: Json | undefined): string {
  return Array.isArray(value) ? value.join(", ") : String(value ?? "");
}

/** A variant's targeting in words: its segment, questionnaire, score, tier or trait, else the condition language's
 * own words (with names for the ids it names). */
function targeting(variant: Slot["variants"][number], names: Record<string, string>): string {
  const parts: string[] = [];
  if (variant.segmentId) parts.push(`in segment ${names[variant.segmentId] ?? variant.segmentId}`);
  const when = variant.when;
  if (when) {
    const op = OP_WORDS[String(when.op ?? "equals")] ?? String(when.op);
    if (typeof when.questionnaire === "string" && (when.op === "neutral" || when.op === "answered")) parts.push(`questionnaire ${names[when.questionnaire] ?? when.questionnaire} ${when.op === "neutral" ? "in no segment" : "answered"}`);
    else if (typeof when.questionnaire === "string") parts.push(`questionnaire ${names[when.questionnaire] ?? when.questionnaire} ${op} ${words(when.value)}`);
    else if (typeof when.score === "string") parts.push(`score ${names[when.score] ?? when.score} ${op} ${words(when.value)}`);
    else if (typeof when.tier === "string") parts.push(`tier ${names[when.tier] ?? when.tier} ${op} ${words(when.value)}`);
    else if (typeof when.inSegment === "string") parts.push(`in segment ${names[when.inSegment] ?? when.inSegment}`);
    else parts.push(Object.entries(names).reduce((text, [id, name]) => text.split(id).join(name), describe(when)));
  }
  return parts.length ? parts.join(" and ") : "everyone else (the default)";
}

function Slots({ names, choices }: { names: Record<string, string>; choices: Choices }) {
  const slots = useApi<{ slots: Slot[] }>("/v1/content/slots");
  const items = useApi<{ items: Item[] }>("/v1/content/items");
  const [editing, setEditing] = useState<Slot | "new" | null>(null);
  const [deleting, setDeleting] = useState<Slot | null>(null);
  const [done, setDone] = useState<string>();
  const all = items.data?.items ?? [];
  const topics = useMemo(() => [...new Set(all.flatMap((i) => i.topics ?? []))].sort(), [all]);
  const types = useMemo(() => [...new Set(all.map((i) => i.type ?? ""))].filter(Boolean).sort(), [all]);
  return (
    <Loaded state={slots}>
      {(data) => (
        <Stack>
          <Done text={done} onClose={() => setDone(undefined)} />
          {editing ? (
            <SlotEditor
              slot={editing === "new" ? null : editing}
              taken={data.slots.map((s) => s.slotId)}
              choices={choices}
              topics={topics}
              types={types}
              onClose={() => setEditing(null)}
              onSaved={(id) => {
                setDone(`The slot ${id} was saved: visitors see it within 30 seconds.`);
                setEditing(null);
                slots.reload();
              }}
            />
          ) : null}
          {deleting ? (
            <ConfirmDelete
              what="slot"
              name={deleting.name || deleting.slotId}
              path={`/v1/content/slots/${encodeURIComponent(deleting.slotId)}`}
              onClose={() => setDeleting(null)}
              onDeleted={() => {
                setDone(`The slot ${deleting.slotId} was deleted.`);
                setDeleting(null);
                slots.reload();
              }}
            >
              Pages that ask for the slot {deleting.slotId} get an error from then on: remove it from the site first.
            </ConfirmDelete>
          ) : null}
          <Group>
            <Button id="slot-new" onClick={() => setEditing("new")}>
              New slot
            </Button>
          </Group>
          {data.slots.length === 0 ? (
            <Alert title="No slots yet">A slot is a place on your site (a hero, a list) that shows each visitor the variant meant for them. Make one with New slot; the site asks for it with GET /v1/decide?slots=&lt;id&gt;.</Alert>
          ) : (
            <>
              {data.slots.map((slot) => (
                <Card key={slot.slotId} withBorder data-slot={slot.slotId}>
                  <Group justify="space-between" mb="xs" align="flex-start">
                    <div>
                      <Title order={2} size="h4">
                        {slot.name || slot.slotId}
                      </Title>
                      <Text size="xs" c="dimmed">
                        {slot.slotId} · {slot.type === "list" ? "a list picked per audience" : `${slot.variants.length} variants`} · updated {formatTime(slot.updatedAt)}
                      </Text>
                    </div>
                    <Group gap="xs">
                      <Button size="compact-sm" variant="default" aria-label={`Edit the slot ${slot.name || slot.slotId}`} onClick={() => setEditing(slot)}>
                        Edit
                      </Button>
                      <Button size="compact-sm" variant="outline" color="red.9" aria-label={`Delete the slot ${slot.name || slot.slotId}`} onClick={() => setDeleting(slot)}>
                        Delete…
                      </Button>
                    </Group>
                  </Group>
                  {slot.type === "list" && slot.list ? (
                    <Scroll minWidth={480}>
                      <Table>
                        <Table.Thead>
                          <Table.Tr>
                            <Table.Th>Audience</Table.Th>
                            <Table.Th>Topics shown (up to {slot.list.limit ?? "–"} items)</Table.Th>
                          </Table.Tr>
                        </Table.Thead>
                        <Table.Tbody>
                          {Object.entries(slot.list.topicsByAudience ?? {}).map(([audience, topics]) => (
                            <Table.Tr key={audience}>
                              <Table.Td>{names[audience] ?? audience}</Table.Td>
                              <Table.Td>{topics.join(", ")}</Table.Td>
                            </Table.Tr>
                          ))}
                        </Table.Tbody>
                      </Table>
                    </Scroll>
                  ) : (
                    <Scroll minWidth={640}>
                      <Table>
                        <Table.Thead>
                          <Table.Tr>
                            <Table.Th>Variant</Table.Th>
                            <Table.Th>Shown when the visitor is…</Table.Th>
                            <Table.Th>Content</Table.Th>
                          </Table.Tr>
                        </Table.Thead>
                        <Table.Tbody>
                          {slot.variants.map((v) => (
                            <Table.Tr key={v.variantId}>
                              <Table.Td>
                                <Code>{v.variantId}</Code>
                              </Table.Td>
                              <Table.Td>{targeting(v, names)}</Table.Td>
                              <Table.Td>
                                <Text size="sm">{String(v.content?.title ?? "")}</Text>
                                {v.content?.link ? (
                                  <Text size="xs" c="dimmed">
                                    {String(v.content.link)}
                                  </Text>
                                ) : null}
                              </Table.Td>
                            </Table.Tr>
                          ))}
                        </Table.Tbody>
                      </Table>
                    </Scroll>
                  )}
                </Card>
              ))}
              <Text size="xs" c="dimmed">
                The first variant whose targeting matches is shown; the one without targeting is the default.
              </Text>
            </>
          )}
        </Stack>
      )}
    </Loaded>
  );
}

interface AnalyticsRow {
  audience: string;
  topic?: string;
  item?: string;
  title?: string | null;
  views: number;
  readers: number;
  clicks: number;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function ContentAnalytics({ names }: { names: Record<string, string> }) {
  const clock = useApi<{ now: string }>(config().local ? "/_local/clock" : null);
  const today = config().local ? (clock.data ? new Date(clock.data.now) : null) : new Date();
  const [range, setRange] = useState(7);
  const [metric, setMetric] = useState<"readers" | "views" | "clicks">("readers");
  const span = today ? { from: isoDay(new Date(today.getTime() - (range - 1) * 86400000)), to: isoDay(today) } : null;
  const byTopic = useApi<{ rows: AnalyticsRow[] }>(span ? `/v1/content/analytics${query({ ...span, by: "topic" })}` : null);
  const byItem = useApi<{ rows: AnalyticsRow[]; topItems?: Record<string, { item: string; title?: string | null; views: number; readers: number }[]> }>(span ? `/v1/content/analytics${query({ ...span, by: "item" })}` : null);
  const label = (audience: string) => (audience === "all" ? "Everyone" : audience === "neutral" ? "No questionnaire segment" : (names[audience] ?? audience));
  return (
    <Stack>
      <Group align="flex-end">
        <NativeSelect id="analytics-range" label="Period" value={String(range)} data={[{ value: "7", label: "Last 7 days" }, { value: "30", label: "Last 30 days" }, { value: "90", label: "Last 90 days" }]} onChange={(e) => setRange(Number(e.currentTarget.value))} />
        <NativeSelect id="analytics-metric" label="Measure" value={metric} data={[{ value: "readers", label: "Readers (unique per day)" }, { value: "views", label: "Views" }, { value: "clicks", label: "Clicks in emails" }]} onChange={(e) => setMetric(e.currentTarget.value as typeof metric)} />
        {span ? (
          <Text size="sm" c="dimmed">
            {span.from} to {span.to}
          </Text>
        ) : null}
      </Group>
      <Loaded state={byTopic}>
        {(data) => {
          if (data.rows.length === 0) return <Alert title="Nothing read in this period">Once visitors read catalogued pages, each audience's reading per topic shows here.</Alert>;
          const audiences = [...new Set(data.rows.map((r) => r.audience))].sort((a, b) => (a === "all" ? -1 : b === "all" ? 1 : label(a).localeCompare(label(b))));
          const topics = [...new Set(data.rows.map((r) => r.topic ?? ""))].sort();
          const cell = new Map(data.rows.map((r) => [`${r.audience}|${r.topic}`, r[metric]]));
          const max = Math.max(1, ...data.rows.filter((r) => r.audience !== "all").map((r) => r[metric]));
          return (
            <Card withBorder>
              <Title order={2} size="h4" mb={4}>
                Segment × topic
              </Title>
              <Text size="xs" c="dimmed" mb="sm">
                Darker is more. A reader counts in every audience they are in, so a topic's audiences add up to more than everyone.
              </Text>
              <Scroll minWidth={120 + topics.length * 90}>
                <Table withColumnBorders id="content-heatmap">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Audience</Table.Th>
                      {topics.map((t) => (
                        <Table.Th key={t} ta="center">
                          {t}
                        </Table.Th>
                      ))}
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {audiences.map((a) => (
                      <Table.Tr key={a}>
                        <Table.Th scope="row">{label(a)}</Table.Th>
                        {topics.map((t) => {
                          const value = cell.get(`${a}|${t}`) ?? 0;
                          const strength = a === "all" ? 0 : value / max;
                          return (
                            <Table.Td key={t} ta="center" style={{ background: a === "all" ? "var(--mantine-color-gray-1)" : `rgba(66, 99, 235, ${(strength * 0.85).toFixed(3)})`, color: strength > 0.5 ? "white" : undefined, fontWeight: value ? 600 : 400 }}>
                              {formatNumber(value)}
                            </Table.Td>
                          );
                        })}
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Scroll>
            </Card>
          );
        }}
      </Loaded>
      <Loaded state={byItem}>
        {(data) => {
          const top = Object.entries(data.topItems ?? {}).filter(([a]) => a !== "all");
          if (top.length === 0) return null;
          return (
            <div>
              <Title order={2} size="h4" mb="xs">
                Top content per audience
              </Title>
              <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
                {top.map(([audience, items]) => (
                  <Card key={audience} withBorder>
                    <Text fw={600} mb="xs">
                      {label(audience)}
                    </Text>
                    <Stack gap={4} component="ol" style={{ margin: 0, paddingLeft: "1.2rem" }}>
                      {items.slice(0, 5).map((i) => (
                        <li key={i.item}>
                          <Text size="sm">
                            {i.title ?? i.item}{" "}
                            <Text span size="xs" c="dimmed">
                              {formatNumber(i.views)} views · {formatNumber(i.readers)} readers
                            </Text>
                          </Text>
                        </li>
                      ))}
                    </Stack>
                  </Card>
                ))}
              </SimpleGrid>
            </div>
          );
        }}
      </Loaded>
    </Stack>
  );
}
