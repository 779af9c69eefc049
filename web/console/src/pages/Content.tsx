// Content: the catalogue, slots and their variants with their targeting, email templates (a live preview for a
// chosen profile in a sandboxed frame, a test send), and what each segment reads (a segment × topic heatmap and the
// top content per segment).
import { Alert, Anchor, Badge, Button, Card, Code, Grid, Group, NativeSelect, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title } from "@mantine/core";
import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";

import { api, query } from "../api";
import { ErrorAlert, formatNumber, formatTime, Loaded, Loading, PageHeader } from "../components/common";
import { config } from "../config";
import { Scroll } from "../components/journeys/Scroll";
import { useAction, useApi } from "../hooks";
import { currentQuery, href } from "../router";
import type { PageProps } from "./registry";

interface Item {
  id: string;
  title: string;
  path?: string;
  type?: string;
  topics?: string[];
  keywords?: string[];
  segments?: string[];
  locale?: string;
  publishedAt?: string;
  summary?: string;
}

type Obj = Record<string, unknown>;

interface Slot {
  slotId: string;
  name?: string;
  type: string;
  updatedAt?: string;
  variants: { variantId: string; segmentId?: string; when?: Obj; content?: Obj }[];
  list?: { limit?: number; types?: string[]; topicsByAudience?: Record<string, string[]> };
}

interface Template {
  id: string;
  name?: string;
  version?: number;
  updatedAt?: string;
  source: { subject?: string; html?: string; text?: string; preheader?: string };
}

/** Names for segment ids and questionnaire ids (the audiences content speaks of). */
function useNames() {
  const segments = useApi<{ segments: { segmentId: string; name: string }[] }>("/v1/segments");
  const questionnaires = useApi<{ questionnaires: { questionnaireId: string; name: string }[] }>("/v1/questionnaires");
  const names = useMemo(() => {
    const names: Record<string, string> = {};
    for (const s of segments.data?.segments ?? []) names[s.segmentId] = s.name;
    for (const q of questionnaires.data?.questionnaires ?? []) names[q.questionnaireId] = q.name;
    return names;
  }, [segments.data, questionnaires.data]);
  // the pages wait for the names (an error in either only leaves ids shown)
  return { names, ready: !segments.loading && !questionnaires.loading };
}

export function ContentPage(_props: PageProps) {
  const [tab, setTab] = useState<string>(() => currentQuery().get("tab") ?? "catalogue");
  const { names, ready } = useNames();
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
          <Catalogue names={names} />
        </Tabs.Panel>
        <Tabs.Panel value="slots">
          <Slots names={names} />
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

function Catalogue({ names }: { names: Record<string, string> }) {
  const items = useApi<{ items: Item[] }>("/v1/content/items");
  const [search, setSearch] = useState("");
  const [type, setType] = useState("");
  return (
    <Loaded state={items}>
      {(data) => {
        if (data.items.length === 0)
          return (
            <Alert title="The catalogue is empty">
              Add articles, recipes or products with <Code>PUT /v1/content/items/&lt;id&gt;</Code> or import them in bulk (<Code>POST /v1/content/items/import</Code>, JSON lines or CSV).
            </Alert>
          );
        const types = [...new Set(data.items.map((i) => i.type ?? ""))].filter(Boolean).sort();
        const wanted = search.trim().toLowerCase();
        const shown = data.items.filter((i) => (!type || i.type === type) && (!wanted || `${i.title} ${i.path} ${(i.topics ?? []).join(" ")}`.toLowerCase().includes(wanted)));
        return (
          <>
            <Group mb="sm" align="flex-end">
              <TextInput id="catalogue-search" label="Search" placeholder="title, path or topic" value={search} onChange={(e) => setSearch(e.currentTarget.value)} w={260} />
              <NativeSelect id="catalogue-type" label="Type" value={type} data={[{ value: "", label: "Every type" }, ...types]} onChange={(e) => setType(e.currentTarget.value)} />
              <Text size="sm" c="dimmed" ml="auto">
                {shown.length} of {data.items.length} items
              </Text>
            </Group>
            <Scroll minWidth={760}>
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Title</Table.Th>
                    <Table.Th>Type</Table.Th>
                    <Table.Th>Topics</Table.Th>
                    <Table.Th>For</Table.Th>
                    <Table.Th>Published</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {shown.map((item) => (
                    <Table.Tr key={item.id}>
                      <Table.Td>
                        <Text size="sm" fw={500}>
                          {item.title}
                        </Text>
                        <Text size="xs" c="dimmed">
                          {item.path ?? item.id}
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
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Scroll>
          </>
        );
      }}
    </Loaded>
  );
}

const OP_WORDS: Record<string, string> = { equals: "is", notEquals: "is not", in: "is one of", gte: "is at least", gt: "is above", lte: "is at most", lt: "is below" };

function targeting(variant: Slot["variants"][number], names: Record<string, string>): string {
  const parts: string[] = [];
  if (variant.segmentId) parts.push(`in segment ${names[variant.segmentId] ?? variant.segmentId}`);
  const when = variant.when;
  if (when) {
    const subject = typeof when.questionnaire === "string" ? `questionnaire ${names[when.questionnaire] ?? when.questionnaire}` : typeof when.plan === "string" ? `score ${names[when.plan] ?? when.plan}` : typeof when.trait === "string" ? `trait ${when.trait}` : null;
    if (subject) parts.push(`${subject} ${OP_WORDS[String(when.op ?? "equals")] ?? String(when.op)} ${Array.isArray(when.value) ? when.value.join(", ") : String(when.value ?? "")}`);
    else parts.push(JSON.stringify(when));
  }
  return parts.length ? parts.join(" and ") : "everyone else (the default)";
}

function Slots({ names }: { names: Record<string, string> }) {
  const slots = useApi<{ slots: Slot[] }>("/v1/content/slots");
  return (
    <Loaded state={slots}>
      {(data) =>
        data.slots.length === 0 ? (
          <Alert title="No slots yet">
            A slot is a place on your site (a hero, a list) that shows each visitor the variant meant for them. Define one with <Code>PUT /v1/content/slots/&lt;id&gt;</Code>.
          </Alert>
        ) : (
          <Stack>
            {data.slots.map((slot) => (
              <Card key={slot.slotId} withBorder>
                <Group justify="space-between" mb="xs">
                  <div>
                    <Title order={2} size="h4">
                      {slot.name || slot.slotId}
                    </Title>
                    <Text size="xs" c="dimmed">
                      {slot.slotId} · {slot.type === "list" ? "a list picked per audience" : `${slot.variants.length} variants`} · updated {formatTime(slot.updatedAt)}
                    </Text>
                  </div>
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
              The first variant whose targeting matches is shown; the last one without targeting is the default.
            </Text>
          </Stack>
        )
      }
    </Loaded>
  );
}

interface Preview {
  subject: string;
  html: string;
  text: string;
  templateVersion: number;
}

interface ProfileView {
  profileId: string;
  traits?: Record<string, unknown>;
}

function Templates() {
  const templates = useApi<{ templates: Template[] }>("/v1/content/templates");
  const [chosen, setChosen] = useState<string>();
  const list = templates.data?.templates ?? [];
  const current = list.find((t) => t.id === chosen) ?? list[0];
  return (
    <Loaded state={templates}>
      {() =>
        list.length === 0 ? (
          <Alert title="No email templates yet">
            Templates are Liquid: one serves newsletters and journey emails. Save one with <Code>PUT /v1/content/templates/&lt;id&gt;</Code> (docs/content.md).
          </Alert>
        ) : (
          <Stack>
            {list.length > 1 ? <NativeSelect id="template-choice" label="Template" value={current.id} data={list.map((t) => ({ value: t.id, label: t.name || t.id }))} onChange={(e) => setChosen(e.currentTarget.value)} w={320} /> : null}
            {current ? <TemplatePreview key={current.id} template={current} /> : null}
          </Stack>
        )
      }
    </Loaded>
  );
}

function TemplatePreview({ template }: { template: Template }) {
  const [email, setEmail] = useState("");
  const [profile, setProfile] = useState<ProfileView | null>(null);
  const [preview, setPreview] = useState<Preview>();
  const render = useAction(
    useCallback(
      async (forEmail: string) => {
        let found: ProfileView | null = null;
        if (forEmail) found = await api.get<ProfileView>(`/v1/profiles${query({ email: forEmail })}`);
        const answer = await api.post<Preview>(`/v1/content/templates/${encodeURIComponent(template.id)}/preview`, found ? { profileId: found.profileId } : {});
        setProfile(found);
        setPreview(answer);
        return answer;
      },
      [template.id],
    ),
  );
  useEffect(() => {
    void render.run("");
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [template.id]);
  const [to, setTo] = useState("");
  const [sent, setSent] = useState<string>();
  const send = useAction(
    useCallback(
      async () => {
        const answer = await api.post<{ messageId: string; sent: boolean; subject: string }>(`/v1/content/templates/${encodeURIComponent(template.id)}/test-send`, { to, ...(profile ? { profileId: profile.profileId } : {}) });
        setSent(`“${answer.subject}” ${answer.sent ? "was sent" : "was not sent"} to ${to}.`);
        return answer;
      },
      [template.id, to, profile],
    ),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void render.run(email.trim());
  };
  const who = profile ? String(profile.traits?.firstName ?? profile.traits?.email ?? profile.profileId) : "a neutral reader (no profile)";
  return (
    <Grid gap="lg">
      <Grid.Col span={{ base: 12, md: 4 }}>
        <Stack>
          <Card withBorder>
            <Text fw={600}>{template.name || template.id}</Text>
            <Text size="xs" c="dimmed" mb="xs">
              {template.id} · version {template.version ?? "–"} · updated {formatTime(template.updatedAt)}
            </Text>
            <Text size="sm">
              Subject: <Code>{template.source.subject}</Code>
            </Text>
            {template.source.preheader ? (
              <Text size="sm" mt={4}>
                Preheader: {template.source.preheader}
              </Text>
            ) : null}
          </Card>
          <Card withBorder component="form" onSubmit={submit}>
            <Text fw={600} mb={4}>
              Preview for a person
            </Text>
            <Text size="xs" c="dimmed" mb="xs">
              Their traits, segments and questionnaire answers fill the template. Leave empty for a neutral reader.
            </Text>
            <TextInput id="preview-email" label="Profile's email address" placeholder="someone@example.com" value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <Button type="submit" mt="sm" loading={render.running}>
              Preview
            </Button>
          </Card>
          <Card withBorder component="form" onSubmit={(e: FormEvent) => (e.preventDefault(), void send.run())}>
            <Text fw={600} mb={4}>
              Send a test
            </Text>
            <Text size="xs" c="dimmed" mb="xs">
              Rendered for {who}, sent to the address below.
            </Text>
            <TextInput id="test-send-to" label="Send to" type="email" placeholder="me@example.com" value={to} onChange={(e) => setTo(e.currentTarget.value)} required />
            <Button type="submit" mt="sm" variant="default" loading={send.running}>
              Send test email
            </Button>
            <ErrorAlert error={send.error} title="The test was not sent" />
            {sent ? (
              <Text size="sm" mt="xs" aria-live="polite">
                ✓ {sent} {config().local ? <Anchor href={href("/mailbox")} underline="always">Open the mailbox</Anchor> : null}
              </Text>
            ) : null}
          </Card>
        </Stack>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 8 }}>
        <ErrorAlert error={render.error} title="The preview failed" />
        {preview ? (
          <Card withBorder id="template-preview">
            <Text size="xs" c="dimmed">
              For {who} · version {preview.templateVersion}
            </Text>
            <Title order={2} size="h4" mb="sm" id="preview-subject">
              {preview.subject}
            </Title>
            <iframe title={`Preview of ${template.name || template.id}`} sandbox="" srcDoc={preview.html} style={{ width: "100%", height: 520, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4, background: "white" }} />
          </Card>
        ) : null}
      </Grid.Col>
    </Grid>
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
