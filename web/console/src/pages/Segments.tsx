// Segments: the list with sizes and the overlap of chosen segments; a segment's definition, size over time,
// entries and exits, versions; and the builder (behaviour, trait and environment conditions, all or any) with a
// live size preview.
import { AreaChart, BarChart } from "@mantine/charts";
import { Alert, Badge, Button, Card, Checkbox, Code, Grid, Group, SegmentedControl, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useEffect, useMemo, useState } from "react";

import { api, query } from "../api";
import { ErrorAlert, Json, Link, Loaded, PageHeader, formatNumber, formatTime } from "../components/common";
import { Figure, Section } from "../components/insights/cards";
import { Preview, RuleCard } from "../components/segments/Builder";
import { describe, fromCondition, newRule, toCondition, type Condition, type Draft, type Rule } from "../components/segments/model";
import { useAction, useApi } from "../hooks";
import { href, navigate } from "../router";
import type { PageProps } from "./registry";
import { Scroll } from "../components/tables";

interface Segment {
  segmentId: string;
  name: string;
  description?: string;
  condition: Condition;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface SegmentDetail extends Segment {
  size: number;
  backfill?: { status: string; processed: number; changed: number; finishedAt?: string | null } | null;
}

interface SizeDay {
  date: string;
  size: number;
  entered: number;
  exited: number;
}

const OVERLAP_DEFAULT = 4;

export function SegmentsPage(_props: PageProps) {
  const list = useApi<{ segments: Segment[] }>("/v1/segments");
  const [chosen, setChosen] = useState<string[] | null>(null);
  const segments = list.data?.segments ?? [];
  const picked = chosen ?? segments.slice(0, OVERLAP_DEFAULT).map((s) => s.segmentId);
  return (
    <>
      <PageHeader
        title="Segments"
        description="Groups of profiles defined by what they did, who they are and where they were — kept up to date in real time."
        actions={
          <Button component="a" href={href("/segments/new")}>
            New segment
          </Button>
        }
      />
      <Loaded state={list}>
        {() =>
          segments.length === 0 ? (
            <Alert color="gray" title="No segments yet">
              Create your first segment with <Link to="/segments/new">New segment</Link>: for example, visitors who read at least two recipes in the last 14 days.
            </Alert>
          ) : (
            <Stack gap="md">
              <Card withBorder radius="md" padding="lg">
                <Scroll minWidth={560} label="Segments">
                  <Table verticalSpacing="sm" highlightOnHover>
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th scope="col">Compare</Table.Th>
                        <Table.Th scope="col">Segment</Table.Th>
                        <Table.Th scope="col" style={{ textAlign: "right" }}>
                          Profiles now
                        </Table.Th>
                        <Table.Th scope="col">Version</Table.Th>
                        <Table.Th scope="col">Changed</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {segments.map((segment) => (
                        <Table.Tr key={segment.segmentId}>
                          <Table.Td>
                            <Checkbox
                              aria-label={`Compare ${segment.name}`}
                              checked={picked.includes(segment.segmentId)}
                              onChange={(e) => {
                                const on = e.currentTarget.checked;
                                setChosen(on ? [...picked, segment.segmentId] : picked.filter((id) => id !== segment.segmentId));
                              }}
                            />
                          </Table.Td>
                          <Table.Td>
                            <Link to={`/segments/${encodeURIComponent(segment.segmentId)}`}>{segment.name}</Link>
                            <Text size="xs" c="dimmed">
                              {segment.description || describe(segment.condition)}
                            </Text>
                          </Table.Td>
                          <Table.Td style={{ textAlign: "right" }}>
                            <SegmentSize segmentId={segment.segmentId} />
                          </Table.Td>
                          <Table.Td>v{segment.version}</Table.Td>
                          <Table.Td style={{ whiteSpace: "nowrap" }}>{formatTime(segment.updatedAt)}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Scroll>
              </Card>
              <Section title="Overlap" description="Profiles in both segments of each pair (the diagonal: each segment's size). Tick segments in the list to compare them.">
                {picked.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    Tick at least one segment above.
                  </Text>
                ) : (
                  <Overlap ids={picked} names={Object.fromEntries(segments.map((s) => [s.segmentId, s.name]))} />
                )}
              </Section>
            </Stack>
          )
        }
      </Loaded>
    </>
  );
}

function SegmentSize({ segmentId }: { segmentId: string }) {
  const detail = useApi<SegmentDetail>(`/v1/segments/${encodeURIComponent(segmentId)}`);
  if (detail.error) return <Text size="sm">?</Text>;
  if (!detail.data) return <Text size="sm">…</Text>;
  const running = detail.data.backfill && detail.data.backfill.status !== "done";
  return (
    <Text size="sm" fw={600} data-profiles={detail.data.size}>
      {formatNumber(detail.data.size)}
      {running ? " (counting…)" : ""}
    </Text>
  );
}

function Overlap({ ids, names }: { ids: string[]; names: Record<string, string> }) {
  const overlap = useApi<{ segmentIds: string[]; matrix: number[][] }>(`/v1/segments/overlap${query({ segmentIds: ids.join(",") })}`);
  return (
    <Loaded state={overlap}>
      {({ segmentIds, matrix }) => (
        <Scroll minWidth={200 + 120 * segmentIds.length} label="Overlap of the chosen segments">
          <Table withTableBorder withColumnBorders verticalSpacing="xs" data-testid="overlap">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Segment</Table.Th>
                {segmentIds.map((id) => (
                  <Table.Th scope="col" key={id} style={{ textAlign: "right" }}>
                    {names[id] ?? id}
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {segmentIds.map((row, i) => (
                <Table.Tr key={row}>
                  <Table.Th scope="row">{names[row] ?? row}</Table.Th>
                  {matrix[i].map((count, j) => {
                    const base = matrix[i][i];
                    return (
                      <Table.Td key={j} style={{ textAlign: "right", fontWeight: i === j ? 700 : undefined }}>
                        {formatNumber(count)}
                        {i !== j && base > 0 ? (
                          <Text span size="xs" c="dimmed">
                            {" "}
                            ({Math.round((100 * count) / base)}%)
                          </Text>
                        ) : null}
                      </Table.Td>
                    );
                  })}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Scroll>
      )}
    </Loaded>
  );
}

export function SegmentPage({ params }: PageProps) {
  const id = encodeURIComponent(params.id);
  const segment = useApi<SegmentDetail>(`/v1/segments/${id}`);
  const sizes = useApi<{ days: SizeDay[] }>(`/v1/segments/${id}/sizes`);
  const versions = useApi<{ versions: Segment[] }>(`/v1/segments/${id}/versions`);
  const [raw, setRaw] = useState(false);
  return (
    <Loaded state={segment}>
      {(s) => (
        <>
          <PageHeader
            title={s.name}
            description={s.description || undefined}
            actions={
              <>
                <Button variant="default" component="a" href={href("/segments")}>
                  All segments
                </Button>
                <Button component="a" href={href(`/segments/${id}/edit`)}>
                  Edit
                </Button>
              </>
            }
          />
          <Stack gap="md">
            <SimpleGrid cols={{ base: 1, xs: 3 }}>
              <Figure label="Profiles now" value={s.size} />
              <Figure label="Version" value={`v${s.version}`} hint={`saved ${formatTime(s.updatedAt)}`} />
              <Figure
                label="Backfill"
                value={s.backfill ? (s.backfill.status === "done" ? "Done" : "Counting…") : "–"}
                hint={s.backfill ? `${formatNumber(s.backfill.processed)} profiles checked, ${formatNumber(s.backfill.changed)} changed` : undefined}
              />
            </SimpleGrid>
            <Section
              title="Definition"
              actions={
                <Button size="compact-sm" variant="subtle" onClick={() => setRaw((r) => !r)}>
                  {raw ? "Show in words" : "Show as JSON"}
                </Button>
              }
            >
              {raw ? <Json value={s.condition} /> : <Text data-testid="definition">Profiles who {describe(s.condition)}.</Text>}
            </Section>
            <Section title="Size over time" description="Profiles in the segment at the end of each day (UTC), last 30 days.">
              <Loaded state={sizes}>
                {({ days }) =>
                  days.length === 0 ? (
                    <Text size="sm" c="dimmed">
                      No history yet.
                    </Text>
                  ) : (
                    <Stack>
                      <AreaChart h={220} data={days.map((d) => ({ ...d, day: d.date.slice(5) }))} dataKey="day" series={[{ name: "size", label: "Profiles", color: "indigo.6" }]} curveType="stepAfter" />
                      <Title order={3} size="h5">
                        Entries and exits per day
                      </Title>
                      <BarChart
                        h={180}
                        data={days.map((d) => ({ day: d.date.slice(5), entered: d.entered, exited: d.exited }))}
                        dataKey="day"
                        withLegend
                        series={[
                          { name: "entered", label: "Entered", color: "teal.7" },
                          { name: "exited", label: "Exited", color: "red.7" },
                        ]}
                      />
                      <Text size="sm">
                        Last 30 days: {formatNumber(days.reduce((a, d) => a + d.entered, 0))} entered, {formatNumber(days.reduce((a, d) => a + d.exited, 0))} exited.
                      </Text>
                    </Stack>
                  )
                }
              </Loaded>
            </Section>
            <Section title="Versions" description="Each save is a new version; the segment is counted again from its definition.">
              <Loaded state={versions}>
                {({ versions: list }) => (
                  <Scroll minWidth={420} label="Versions">
                    <Table verticalSpacing="xs">
                      <Table.Thead>
                        <Table.Tr>
                          <Table.Th scope="col">Version</Table.Th>
                          <Table.Th scope="col">Saved</Table.Th>
                          <Table.Th scope="col">Definition</Table.Th>
                        </Table.Tr>
                      </Table.Thead>
                      <Table.Tbody>
                        {[...list].reverse().map((v) => (
                          <Table.Tr key={v.version}>
                            <Table.Td>
                              v{v.version}
                              {v.version === s.version ? (
                                <Badge ml="xs" size="sm" variant="light" autoContrast>
                                  current
                                </Badge>
                              ) : null}
                            </Table.Td>
                            <Table.Td style={{ whiteSpace: "nowrap" }}>{formatTime(v.updatedAt ?? v.createdAt)}</Table.Td>
                            <Table.Td>
                              <Text size="sm">{describe(v.condition)}</Text>
                            </Table.Td>
                          </Table.Tr>
                        ))}
                      </Table.Tbody>
                    </Table>
                  </Scroll>
                )}
              </Loaded>
            </Section>
          </Stack>
        </>
      )}
    </Loaded>
  );
}

const EMPTY: Draft = { name: "", description: "", match: "all", rules: [newRule("behaviour")] };

export function SegmentBuilderPage({ params }: PageProps) {
  const editing = params.id ?? null;
  const existing = useApi<SegmentDetail>(editing ? `/v1/segments/${encodeURIComponent(editing)}` : null);
  const [draft, setDraft] = useState<Draft | null>(editing ? null : EMPTY);
  const [unsupported, setUnsupported] = useState<Condition | null>(null);
  useEffect(() => {
    if (!existing.data || draft) return;
    const parsed = fromCondition(existing.data.condition);
    if (!parsed) setUnsupported(existing.data.condition);
    setDraft({ name: existing.data.name, description: existing.data.description ?? "", match: parsed?.match ?? "all", rules: parsed?.rules ?? [] });
  }, [existing.data, draft]);
  const condition = useMemo(() => (draft ? (unsupported && draft.rules.length === 0 ? unsupported : toCondition(draft)) : null), [draft, unsupported]);
  const save = useAction(async () => {
    if (!draft || !condition) return;
    const body = { name: draft.name.trim(), description: draft.description.trim(), condition };
    const saved = editing
      ? await api.put<Segment>(`/v1/segments/${encodeURIComponent(editing)}`, { ...body, expectedVersion: existing.data?.version })
      : await api.post<Segment>("/v1/segments", body);
    navigate(`/segments/${encodeURIComponent(saved.segmentId)}`);
  });
  if (editing && !draft) return <Loaded state={existing}>{() => null}</Loaded>;
  if (!draft) return null;
  const setRules = (rules: Rule[]) => setDraft({ ...draft, rules });
  return (
    <>
      <PageHeader
        title={editing ? `Edit ${existing.data?.name ?? "segment"}` : "New segment"}
        description="Combine what people did, who they are and where they were. The size updates as you edit."
      />
      <ErrorAlert error={save.error} title="The segment was not saved" />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
        aria-label="Segment"
      >
        <Grid gap="md">
          <Grid.Col span={{ base: 12, md: 8 }}>
            <Stack gap="md">
              <Card withBorder radius="md" padding="lg">
                <Stack gap="sm">
                  <TextInput label="Name" name="name" placeholder="Recipe fans on mobile" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.currentTarget.value })} required />
                  <Textarea label="Description" name="description" placeholder="What this segment is for (optional)" autosize minRows={1} value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.currentTarget.value })} />
                </Stack>
              </Card>
              {unsupported && draft.rules.length === 0 ? (
                <Alert color="yellow" title="This definition uses more than the builder shows">
                  <Text size="sm" mb="xs">
                    It is kept as it is unless you add conditions here (which replace it):
                  </Text>
                  <Code block>{JSON.stringify(unsupported, null, 2)}</Code>
                </Alert>
              ) : null}
              <Group gap="sm" align="center">
                <Text size="sm" fw={500} id="match-label">
                  Profiles must match
                </Text>
                <SegmentedControl
                  aria-labelledby="match-label"
                  value={draft.match}
                  onChange={(v) => setDraft({ ...draft, match: v as Draft["match"] })}
                  data={[
                    { value: "all", label: "all conditions" },
                    { value: "any", label: "any condition" },
                  ]}
                />
              </Group>
              {draft.rules.map((rule, index) => (
                <RuleCard
                  key={index}
                  rule={rule}
                  index={index}
                  onChange={(changed) => setRules(draft.rules.map((r, i) => (i === index ? changed : r)))}
                  onRemove={() => setRules(draft.rules.filter((_, i) => i !== index))}
                />
              ))}
              {draft.rules.length === 0 && !unsupported ? (
                <Text size="sm" c="dimmed">
                  No conditions yet: add one below.
                </Text>
              ) : null}
              <Group gap="xs">
                <Button variant="default" onClick={() => setRules([...draft.rules, newRule("behaviour")])}>
                  + Behaviour
                </Button>
                <Button variant="default" onClick={() => setRules([...draft.rules, newRule("trait")])}>
                  + Trait
                </Button>
                <Button variant="default" onClick={() => setRules([...draft.rules, newRule("environment")])}>
                  + Environment
                </Button>
              </Group>
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Stack gap="md" style={{ position: "sticky", top: 72 }}>
              <Preview condition={condition} />
              <Button type="submit" size="md" disabled={!condition || !draft.name.trim()} loading={save.running}>
                {editing ? "Save a new version" : "Save segment"}
              </Button>
              {!draft.name.trim() ? (
                <Text size="xs" c="dimmed">
                  Give the segment a name to save it.
                </Text>
              ) : null}
              {editing ? (
                <Button variant="default" component="a" href={href(`/segments/${encodeURIComponent(editing)}`)}>
                  Cancel
                </Button>
              ) : null}
            </Stack>
          </Grid.Col>
        </Grid>
      </form>
    </>
  );
}
