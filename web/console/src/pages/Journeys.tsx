// Journeys: the list (state and counts, ready templates to install), one journey drawn as a graph with its counts,
// its actions and runs, and the editor (entry, waits, emails, conditions, splits…) that saves drafts and publishes.
import { Alert, Anchor, Badge, Button, Card, Checkbox, Grid, Group, Menu, Modal, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useCallback, useEffect, useMemo, useState } from "react";

import { api, Problem, query } from "../api";
import { ErrorAlert, formatNumber, formatTime, Link, Loaded, Loading, PageHeader } from "../components/common";
import { EntryFields, newNode, NodeCard, uniqueId, type Choices } from "../components/journeys/Editor";
import { JourneyGraph } from "../components/journeys/JourneyGraph";
import { describeTrigger, errorsByNode, NODE_TYPES, percent, STATUS_COLOURS, type Analytics, type Definition, type JourneyDetail, type JourneyNode, type JourneySummary, type Json, type VersionAnalytics } from "../components/journeys/model";
import { Notice } from "../components/journeys/Notice";
import { Scroll } from "../components/journeys/Scroll";
import { useAction, useApi } from "../hooks";
import { href, navigate } from "../router";
import type { PageProps } from "./registry";

interface JourneyTemplate {
  name: string;
  title: string;
  description: string;
  parameters: Record<string, { default?: string | number | boolean; description?: string }>;
  journeys: string[];
}

function StatusBadge({ status }: { status: string }) {
  return (
    <Badge component="span" color={STATUS_COLOURS[status] ?? "gray"} variant="dot">
      {status}
    </Badge>
  );
}

function JourneyCounts({ journeyId, version }: { journeyId: string; version?: number | null }) {
  const analytics = useApi<Analytics>(version ? `/v1/journeys/${journeyId}/analytics` : null);
  if (!version) return <Table.Td colSpan={3}>not published yet</Table.Td>;
  if (analytics.error) return <Table.Td colSpan={3}>counts unavailable</Table.Td>;
  if (!analytics.data)
    return (
      <Table.Td colSpan={3} role="status">
        …
      </Table.Td>
    );
  const totals = { entered: 0, active: 0, converted: 0 };
  for (const v of analytics.data.versions) {
    totals.entered += v.journey.entered ?? 0;
    totals.active += v.journey.active ?? 0;
    totals.converted += v.journey.converted ?? 0;
  }
  return (
    <>
      <Table.Td ta="right">{formatNumber(totals.entered)}</Table.Td>
      <Table.Td ta="right">{formatNumber(totals.active)}</Table.Td>
      <Table.Td ta="right">
        {formatNumber(totals.converted)} {totals.entered ? <Text span size="xs" c="dimmed">({percent(totals.converted / totals.entered)})</Text> : null}
      </Table.Td>
    </>
  );
}

export function JourneysPage(_props: PageProps) {
  const journeys = useApi<{ journeys: JourneySummary[] }>("/v1/journeys");
  const templates = useApi<{ templates: JourneyTemplate[] }>("/v1/journeys/templates");
  const [installing, setInstalling] = useState<JourneyTemplate | null>(null);
  const [status, setStatus] = useState("");
  return (
    <>
      <PageHeader
        title="Journeys"
        description="Automated paths people take: a trigger, waits, branches and messages."
        actions={
          <Button component="a" href={href("/journeys/new")}>
            New journey
          </Button>
        }
      />
      <Loaded state={journeys}>
        {(data) => {
          const shown = data.journeys.filter((j) => !status || j.status === status);
          return data.journeys.length === 0 ? (
            <Alert title="No journeys yet" mb="lg">
              Create one with <b>New journey</b>, or install a ready template below.
            </Alert>
          ) : (
            <Card withBorder mb="lg" p={0}>
              <Group p="sm" justify="space-between">
                <Text size="sm" c="dimmed">
                  {data.journeys.length} journeys
                </Text>
                <NativeSelect aria-label="Show journeys by state" size="xs" value={status} onChange={(e) => setStatus(e.currentTarget.value)} data={[{ value: "", label: "Every state" }, "draft", "active", "paused", "archived"]} />
              </Group>
              <Scroll minWidth={640}>
                <Table striped highlightOnHover>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Journey</Table.Th>
                      <Table.Th>State</Table.Th>
                      <Table.Th ta="right">Version</Table.Th>
                      <Table.Th ta="right">Entered</Table.Th>
                      <Table.Th ta="right">In it now</Table.Th>
                      <Table.Th ta="right">Converted</Table.Th>
                      <Table.Th>Updated</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {shown.map((j) => (
                      <Table.Tr key={j.journeyId}>
                        <Table.Td>
                          <Link to={`/journeys/${j.journeyId}`}>{j.name}</Link>
                        </Table.Td>
                        <Table.Td>
                          <StatusBadge status={j.status} />
                        </Table.Td>
                        <Table.Td ta="right">{j.version || "–"}</Table.Td>
                        <JourneyCounts journeyId={j.journeyId} version={j.version} />
                        <Table.Td>{formatTime(j.updatedAt)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Scroll>
            </Card>
          );
        }}
      </Loaded>
      <Title order={2} size="h3" mb="xs">
        Start from a template
      </Title>
      <Text c="dimmed" size="sm" mb="sm">
        Ready-made journeys: fill in a few settings and install them as drafts (or published at once).
      </Text>
      <Loaded state={templates}>
        {(data) => (
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
            {data.templates.map((t) => (
              <Card key={t.name} withBorder>
                <Stack gap="xs" h="100%" justify="space-between">
                  <div>
                    <Text fw={600}>{t.title}</Text>
                    <Text size="sm" c="dimmed" lineClamp={4}>
                      {t.description}
                    </Text>
                  </div>
                  <Button variant="default" onClick={() => setInstalling(t)} aria-label={`Install ${t.title}`}>
                    Install…
                  </Button>
                </Stack>
              </Card>
            ))}
          </SimpleGrid>
        )}
      </Loaded>
      {installing ? <InstallTemplate template={installing} onClose={() => setInstalling(null)} /> : null}
    </>
  );
}

function InstallTemplate({ template, onClose }: { template: JourneyTemplate; onClose: () => void }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(Object.entries(template.parameters).map(([k, p]) => [k, p.default === undefined ? "" : String(p.default)])));
  const [publish, setPublish] = useState(false);
  const install = useAction(
    useCallback(async () => {
      const parameters: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(values)) {
        if (v === "") continue;
        const declared = template.parameters[k]?.default;
        parameters[k] = typeof declared === "number" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : typeof declared === "boolean" ? v === "true" : v;
      }
      return api.post<{ journeys: { journeyId: string }[] }>(`/v1/journeys/templates/${encodeURIComponent(template.name)}/install`, { parameters, publish });
    }, [values, publish, template]),
  );
  return (
    <Modal opened onClose={onClose} title={`Install “${template.title}”`} size="lg" closeButtonProps={{ "aria-label": "Close" }}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void install.run().then((done) => done && navigate(`/journeys/${done.journeys[0]?.journeyId ?? ""}`));
        }}
      >
        <Stack>
          <Text size="sm">{template.description}</Text>
          <ErrorAlert error={install.error} title="The template could not be installed" />
          {Object.entries(template.parameters).map(([name, p]) => (
            <TextInput key={name} id={`param-${name}`} label={name} description={p.description} value={values[name] ?? ""} required={p.default === undefined} onChange={(e) => setValues({ ...values, [name]: e.currentTarget.value })} />
          ))}
          <Checkbox label="Publish at once (otherwise it is saved as a draft to review)" checked={publish} onChange={(e) => setPublish(e.currentTarget.checked)} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={install.running}>
              Install
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

interface Run {
  runId?: string;
  profileId?: string;
  state?: string;
  version?: number;
  enteredAt?: string;
  endedAt?: string;
  endedAtNode?: string;
  reason?: string;
}

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card withBorder p="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={700} size="xl">
        {value}
      </Text>
      {hint ? (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      ) : null}
    </Card>
  );
}

export function JourneyPage({ params }: PageProps) {
  const id = params.id;
  const journey = useApi<JourneyDetail>(`/v1/journeys/${id}`);
  const analytics = useApi<Analytics>(`/v1/journeys/${id}/analytics`);
  const [runState, setRunState] = useState("");
  const runs = useApi<{ runs: Run[] }>(`/v1/journeys/${id}/runs${query({ state: runState })}`);
  const [version, setVersion] = useState<number>();
  const act = useAction(
    useCallback(
      async (action: string) => {
        const answer = await api.post<{ released?: number; stopped?: number }>(`/v1/journeys/${id}/${action}`);
        journey.reload();
        analytics.reload();
        runs.reload();
        return answer;
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [id],
    ),
  );
  const [notice, setNotice] = useState<string>();
  const run = (action: string, done: string) =>
    void act.run(action).then((answer) => {
      if (!answer) return;
      const extra = answer.released !== undefined ? ` ${answer.released} held runs released.` : answer.stopped !== undefined ? ` ${answer.stopped} runs stopped.` : "";
      setNotice(done + extra);
    });
  return (
    <Loaded state={journey}>
      {(j) => {
        const versions = analytics.data?.versions ?? [];
        const shown = versions.find((v) => v.version === (version ?? j.version)) ?? versions[versions.length - 1];
        const hasDraft = j.draft && JSON.stringify(j.draft) !== JSON.stringify(j.definition);
        return (
          <>
            <PageHeader
              title={j.name}
              description={
                <Group gap="xs" component="span">
                  <StatusBadge status={j.status} />
                  <span>{j.version ? `version ${j.version}` : "never published"}</span>
                  <span>· {describeTrigger(j.definition.entry?.trigger)}</span>
                  {j.definition.goal?.event ? <span>· goal: {j.definition.goal.event}</span> : null}
                </Group>
              }
              actions={
                <>
                  <Button variant="default" component="a" href={href(`/journeys/${id}/edit`)} disabled={j.status === "archived"}>
                    Edit
                  </Button>
                  {j.status !== "archived" && (j.status === "draft" || hasDraft) ? (
                    <Button onClick={() => run("publish", "Published.")} loading={act.running}>
                      {j.status === "draft" ? "Publish" : "Publish the draft"}
                    </Button>
                  ) : null}
                  {j.status === "active" ? (
                    <Button variant="default" onClick={() => run("pause", "Paused: no new entries; runs hold at their next message.")} loading={act.running}>
                      Pause
                    </Button>
                  ) : null}
                  {j.status === "paused" ? (
                    <Button color="green" onClick={() => run("resume", "Resumed.")} loading={act.running}>
                      Resume
                    </Button>
                  ) : null}
                  {j.status !== "archived" ? (
                    <Button
                      variant="default"
                      c="red.9"
                      onClick={() => {
                        if (window.confirm(`Archive “${j.name}”? Every run stops and it cannot be published again.`)) run("archive", "Archived.");
                      }}
                      loading={act.running}
                    >
                      Archive
                    </Button>
                  ) : null}
                </>
              }
            />
            <ErrorAlert error={act.error} title="That did not work" />
            {notice ? (
              <Notice withCloseButton onClose={() => setNotice(undefined)} aria-live="polite" closeButtonLabel="Dismiss">
                {notice}
              </Notice>
            ) : null}
            {hasDraft && j.status !== "draft" ? (
              <Alert color="blue" mb="md" title="Unpublished changes">
                The draft differs from version {j.version}: publish it to make runs use it.
              </Alert>
            ) : null}
            <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} mb="md">
              <Stat label="Entered" value={formatNumber(shown?.journey.entered ?? 0)} />
              <Stat label="In it now" value={formatNumber(shown?.journey.active ?? 0)} />
              <Stat label="Completed" value={formatNumber(shown?.journey.completed ?? 0)} />
              <Stat label="Converted" value={formatNumber(shown?.journey.converted ?? 0)} hint={j.definition.goal?.event ? `goal: ${j.definition.goal.event}` : "no goal set"} />
              <Stat label="Conversion" value={percent(shown?.journey.conversionRate)} />
              <Stat label="Exited / failed" value={`${formatNumber(shown?.journey.exited ?? 0)} / ${formatNumber(shown?.journey.failed ?? 0)}`} />
            </SimpleGrid>
            <Group justify="space-between" mb="xs">
              <Title order={2} size="h3">
                The journey
              </Title>
              {versions.length > 1 ? (
                <NativeSelect aria-label="Counts of version" size="xs" value={String(shown?.version ?? "")} data={versions.map((v) => ({ value: String(v.version), label: `Counts of version ${v.version}` }))} onChange={(e) => setVersion(Number(e.currentTarget.value))} />
              ) : null}
            </Group>
            {analytics.error ? <ErrorAlert error={analytics.error} title="Counts unavailable" /> : null}
            <JourneyGraph definition={j.definition} analytics={shown} />
            <Text size="xs" c="dimmed" mt={4} mb="lg">
              Each step shows how many runs entered it, are waiting there now and what it sent; each path shows how many took it and how many of those converted.
            </Text>
            {shown ? <SplitResults definition={j.definition} analytics={shown} /> : null}
            <Group justify="space-between" mb="xs">
              <Title order={2} size="h3">
                Runs
              </Title>
              <NativeSelect aria-label="Runs in state" size="xs" value={runState} onChange={(e) => setRunState(e.currentTarget.value)} data={[{ value: "", label: "Every state" }, "running", "completed", "converted", "exited", "failed", "archived", "holdout"]} />
            </Group>
            <Loaded state={runs}>
              {(data) =>
                data.runs.length === 0 ? (
                  <Text c="dimmed">No runs {runState ? `in state ${runState}` : "yet"}: people enter when the trigger happens{j.status === "active" ? "" : " and the journey is active"}.</Text>
                ) : (
                  <Scroll minWidth={700}>
                    <Table striped>
                      <Table.Thead>
                        <Table.Tr>
                          <Table.Th>Profile</Table.Th>
                          <Table.Th>State</Table.Th>
                          <Table.Th>Version</Table.Th>
                          <Table.Th>Entered</Table.Th>
                          <Table.Th>Ended</Table.Th>
                          <Table.Th>Where / why</Table.Th>
                        </Table.Tr>
                      </Table.Thead>
                      <Table.Tbody>
                        {data.runs.map((r, i) => (
                          <Table.Tr key={r.runId ?? i}>
                            <Table.Td>{r.profileId ? <Link to={`/profiles/${r.profileId}`}>{r.profileId.slice(0, 13)}…</Link> : "–"}</Table.Td>
                            <Table.Td>
                              <Badge variant="outline" size="sm">
                                {r.state ?? "–"}
                              </Badge>
                            </Table.Td>
                            <Table.Td>{r.version ?? "–"}</Table.Td>
                            <Table.Td>{formatTime(r.enteredAt)}</Table.Td>
                            <Table.Td>{formatTime(r.endedAt)}</Table.Td>
                            <Table.Td>{[r.endedAtNode, r.reason].filter(Boolean).join(": ") || "–"}</Table.Td>
                          </Table.Tr>
                        ))}
                      </Table.Tbody>
                    </Table>
                  </Scroll>
                )
              }
            </Loaded>
          </>
        );
      }}
    </Loaded>
  );
}

const signed = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)} %`);

/** A split's paths (or a holdout against the journey) read as an A/B test: the first path is the control. */
function SplitResults({ definition, analytics }: { definition: Definition; analytics: VersionAnalytics }) {
  const tests = definition.nodes.filter((n) => (n.type === "split" || n.type === "holdout") && analytics.nodes[n.id]?.experiment);
  if (tests.length === 0) return null;
  const label = (node: JourneyNode, branch: string) => (node.type === "holdout" ? (branch === "holdout" ? "Held out (control)" : "Got the journey") : `Path ${String.fromCharCode(65 + Number(branch))}${branch === "0" ? " (control)" : ""}`);
  return (
    <Stack mb="lg">
      {tests.map((node) => {
        const experiment = analytics.nodes[node.id].experiment!;
        return (
          <Card withBorder key={node.id}>
            <Group justify="space-between" mb="xs">
              <Title order={2} size="h4">
                {node.type === "split" ? "A/B test" : "Holdout test"}: {node.name || node.id}
              </Title>
              <Text size="sm" c={experiment.srmDetected ? "red.9" : "dimmed"}>
                {experiment.srmDetected ? "Sample ratio mismatch: the paths are not split as set" : "Sample ratio check passed"}
                {experiment.srmPValue !== null && experiment.srmPValue !== undefined ? ` (p = ${experiment.srmPValue.toFixed(3)})` : ""}
              </Text>
            </Group>
            <Scroll minWidth={640}>
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Path</Table.Th>
                    <Table.Th ta="right">Runs</Table.Th>
                    <Table.Th ta="right">Converted</Table.Th>
                    <Table.Th ta="right">Rate</Table.Th>
                    <Table.Th ta="right">Uplift (95 % interval)</Table.Th>
                    <Table.Th ta="right">Chance to win</Table.Th>
                    <Table.Th ta="right">p-value</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {experiment.variants.map((v, i) => (
                    <Table.Tr key={v.branch}>
                      <Table.Td>{label(node, v.branch)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(v.users)}</Table.Td>
                      <Table.Td ta="right">{formatNumber(v.conversions)}</Table.Td>
                      <Table.Td ta="right">{percent(v.rate)}</Table.Td>
                      <Table.Td ta="right">{i === 0 ? "–" : `${signed(v.uplift)} (${v.upliftInterval ? `${signed(v.upliftInterval[0])} to ${signed(v.upliftInterval[1])}` : "–"})`}</Table.Td>
                      <Table.Td ta="right">{i === 0 ? "–" : percent(v.chanceToWin)}</Table.Td>
                      <Table.Td ta="right">{i === 0 || v.pValue === null ? "–" : v.pValue < 0.001 ? "< 0.001" : v.pValue.toFixed(3)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Scroll>
          </Card>
        );
      })}
    </Stack>
  );
}

const BLANK: Definition = {
  name: "",
  description: "",
  entry: { trigger: { event: { event: "" } }, reentry: "once" },
  start: "",
  nodes: [],
};

/** What the API takes: no empty goal or audience. */
function cleaned(definition: Definition): Definition {
  const out: Definition = { ...definition, entry: { ...definition.entry } };
  if (!out.goal?.event) delete out.goal;
  if (out.entry.audience === null || out.entry.audience === undefined) delete out.entry.audience;
  return out;
}

const ADDABLE = ["wait", "email", "condition", "split", "waitForEvent", "sms", "webhook", "updateProfile", "claimCode", "addScore", "publishEvent", "holdout", "exit"];
const HAS_NEXT = new Set(["wait", "email", "sms", "webhook", "updateProfile", "addScore", "publishEvent", "claimCode", "holdout"]);

export function JourneyEditorPage({ params }: PageProps) {
  const id = params.id;
  const loaded = useApi<JourneyDetail>(id ? `/v1/journeys/${id}` : null);
  const segments = useApi<{ segments: { segmentId: string; name: string }[] }>("/v1/segments");
  const templates = useApi<{ templates: { id: string; name: string }[] }>("/v1/content/templates");
  const pools = useApi<{ pools: { poolId: string; name: string; remaining: number }[] }>("/v1/coupons/pools");
  const plans = useApi<{ plans: { planId: string; name: string; tiers?: { name: string }[] }[] }>("/v1/scoring/plans");
  const [definition, setDefinition] = useState<Definition | null>(id ? null : BLANK);
  useEffect(() => {
    if (loaded.data && !definition) setDefinition(loaded.data.draft ?? loaded.data.definition);
  }, [loaded.data, definition]);
  const choices: Choices = useMemo(
    () => ({
      segments: (segments.data?.segments ?? []).map((s) => ({ value: s.segmentId, label: s.name })),
      templates: (templates.data?.templates ?? []).map((t) => ({ value: t.id, label: t.name || t.id })),
      pools: (pools.data?.pools ?? []).map((p) => ({ value: p.poolId, label: `${p.name || p.poolId} (${formatNumber(p.remaining)} codes left)` })),
      plans: (plans.data?.plans ?? []).map((p) => ({ value: p.planId, label: p.name || p.planId, tiers: (p.tiers ?? []).map((t) => t.name) })),
    }),
    [segments.data, templates.data, pools.data, plans.data],
  );
  const save = useAction(
    useCallback(
      async (publish: boolean) => {
        const body = cleaned(definition!);
        let journeyId = id;
        if (!journeyId) {
          const created = await api.post<JourneyDetail>(`/v1/journeys${publish ? "?publish=true" : ""}`, body);
          journeyId = created.journeyId;
        } else {
          await api.put(`/v1/journeys/${journeyId}`, body);
          if (publish) await api.post(`/v1/journeys/${journeyId}/publish`);
        }
        return journeyId;
      },
      [definition, id],
    ),
  );
  const [saved, setSaved] = useState<string>();
  const [sent, setSent] = useState<JourneyNode[]>([]); // the steps as saved: a refusal's nodes[i] is the i-th of these
  if (id && !definition) return <Loaded state={loaded}>{() => <Loading />}</Loaded>;
  const d = definition!;
  const problem = save.error instanceof Problem ? save.error : null;
  const fieldErrors = problem ? errorsByNode(problem.errors, sent) : {};
  const setNodes = (nodes: JourneyNode[], start = d.start) => setDefinition({ ...d, nodes, start });
  const add = (type: string) => {
    const node = newNode(type, uniqueId(type, d.nodes), choices);
    const nodes = d.nodes.map((n) => n);
    const last = nodes[nodes.length - 1];
    // the common case is a straight line: the step before leads to the new one when it led nowhere
    if (last && HAS_NEXT.has(last.type) && !last.next) nodes[nodes.length - 1] = { ...last, next: node.id };
    setNodes([...nodes, node], d.start || node.id);
  };
  const remove = (index: number) => {
    const gone = d.nodes[index].id;
    const unlink = (value: Json | undefined): Json | undefined => {
      if (value === gone) return null;
      if (Array.isArray(value)) return value.map((v) => unlink(v) as Json);
      if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "next" || k.endsWith("Next") || k === "onFailure" || k === "onEmpty" ? unlink(v) : v])) as Json;
      return value;
    };
    const nodes = d.nodes.filter((_, i) => i !== index).map((n) => unlink(n as unknown as Json) as unknown as JourneyNode);
    setNodes(nodes, d.start === gone ? (nodes[0]?.id ?? "") : d.start);
  };
  const move = (index: number, by: -1 | 1) => {
    const nodes = [...d.nodes];
    [nodes[index], nodes[index + by]] = [nodes[index + by], nodes[index]];
    setNodes(nodes);
  };
  const submit = (publish: boolean) => {
    setSent(d.nodes);
    void save.run(publish).then((journeyId) => {
      if (!journeyId) return;
      if (publish) navigate(`/journeys/${journeyId}`);
      else if (!id) navigate(`/journeys/${journeyId}/edit`);
      else setSaved("Draft saved. Runs keep using the published version until you publish.");
    });
  };
  return (
    <>
      <PageHeader
        title={id ? `Edit “${loaded.data?.name ?? d.name}”` : "New journey"}
        description={id ? <Anchor href={href(`/journeys/${id}`)}>Back to the journey</Anchor> : "Choose who enters, then add the steps they take."}
        actions={
          <>
            <Button variant="default" id="save-draft" onClick={() => submit(false)} loading={save.running}>
              Save draft
            </Button>
            <Button id="save-publish" onClick={() => submit(true)} loading={save.running}>
              Save and publish
            </Button>
          </>
        }
      />
      <ErrorAlert error={save.error} title={problem?.errors.length ? "The journey has problems: see the steps marked in red" : undefined} />
      {saved ? (
        <Notice aria-live="polite" withCloseButton onClose={() => setSaved(undefined)} closeButtonLabel="Dismiss">
          {saved}
        </Notice>
      ) : null}
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 6 }}>
          <Stack>
            <Card withBorder>
              <Stack gap="xs">
                <TextInput id="journey-name" label="Journey name" value={d.name} onChange={(e) => setDefinition({ ...d, name: e.currentTarget.value })} required error={fieldErrors.journey?.find((m) => m.startsWith("name"))} />
                <TextInput id="journey-description" label="Description (optional)" value={d.description ?? ""} onChange={(e) => setDefinition({ ...d, description: e.currentTarget.value })} />
              </Stack>
            </Card>
            <Card withBorder>
              <Title order={2} size="h4" mb="xs">
                Entry
              </Title>
              <EntryFields definition={d} onChange={setDefinition} choices={choices} errors={fieldErrors.entry} />
            </Card>
            <Group justify="space-between">
              <Title order={2} size="h4">
                Steps
              </Title>
              {d.nodes.length > 1 ? (
                <NativeSelect id="journey-start" aria-label="First step" size="xs" value={d.start} data={d.nodes.map((n) => ({ value: n.id, label: `First step: ${n.name || n.id}` }))} onChange={(e) => setDefinition({ ...d, start: e.currentTarget.value })} />
              ) : null}
            </Group>
            {d.nodes.length === 0 ? <Text c="dimmed">No steps yet: add a wait, an email or a branch below. Each new step follows the previous one; change where a step leads in its “Then” field.</Text> : null}
            {d.nodes.map((node, i) => (
              <NodeCard
                key={node.id}
                node={node}
                index={i}
                nodes={d.nodes}
                isStart={node.id === d.start}
                errors={fieldErrors[node.id]}
                choices={choices}
                onChange={(next) => setNodes(d.nodes.map((n, j) => (j === i ? next : n)))}
                onRemove={() => remove(i)}
                onMove={(by) => move(i, by)}
              />
            ))}
            <Group gap="xs">
              <Button id="add-step-wait" variant="default" onClick={() => add("wait")}>
                Add a wait
              </Button>
              <Button id="add-step-email" variant="default" onClick={() => add("email")}>
                Add an email
              </Button>
              <Button id="add-step-condition" variant="default" onClick={() => add("condition")}>
                Add a condition
              </Button>
              <Button id="add-step-split" variant="default" onClick={() => add("split")}>
                Add an A/B split
              </Button>
              <Menu id="add-step-more">
                <Menu.Target>
                  <Button variant="subtle">
                    More steps…
                  </Button>
                </Menu.Target>
                <Menu.Dropdown>
                  {ADDABLE.slice(4).map((type) => (
                    <Menu.Item key={type} id={`add-step-${type}`} onClick={() => add(type)}>
                      {NODE_TYPES[type]}
                    </Menu.Item>
                  ))}
                </Menu.Dropdown>
              </Menu>
            </Group>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 6 }}>
          <div style={{ position: "sticky", top: 72 }}>
            <Title order={2} size="h4" mb="xs">
              Preview
            </Title>
            {d.nodes.length ? <JourneyGraph definition={d} errors={fieldErrors} height={620} /> : <Text c="dimmed">The graph appears here as you add steps.</Text>}
          </div>
        </Grid.Col>
      </Grid>
    </>
  );
}
