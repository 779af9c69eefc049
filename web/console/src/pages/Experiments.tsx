// Experiments: the list, and one experiment's results (docs/content.md, "Reading the results"): users and
// conversions per variant, the uplift against the control with its 95 % interval, the chance to win, the p-value
// and the sample-ratio check; start and stop (promoting a winner). A draft is created and edited in a drawer
// (components/experiments/ExperimentForm.tsx); a running or stopped one cannot change, but can be copied into a new draft.
import { BarChart } from "@mantine/charts";
import { Alert, Badge, Box, Button, Card, Checkbox, Code, Group, Modal, NativeSelect, Progress, SimpleGrid, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { useCallback, useState } from "react";

import { api } from "../api";
import { ErrorAlert, formatNumber, formatTime, Link, Loaded, PageHeader } from "../components/common";
import { ExperimentForm } from "../components/experiments/ExperimentForm";
import type { Experiment } from "../components/experiments/model";
import { Notice } from "../components/journeys/Notice";
import { Scroll } from "../components/journeys/Scroll";
import { useAction, useApi } from "../hooks";
import { navigate } from "../router";
import type { PageProps } from "./registry";

interface VariantResult {
  variantId: string;
  users: number;
  conversions: number;
  rate: number | null;
  uplift: number | null;
  upliftInterval: [number, number] | null;
  pValue: number | null;
  credibleInterval: [number, number] | null;
  chanceToWin: number | null;
  risk: number | null;
  controlRisk: number | null;
}

interface Results {
  experimentId: string;
  status: string | null;
  control: string;
  leader: string | null;
  variants: VariantResult[];
  srmPValue: number | null;
  srmDetected: boolean;
}

const COLOURS: Record<string, string> = { draft: "gray", running: "green", stopped: "dark" };

function StatusBadge({ status }: { status: string }) {
  return (
    <Badge component="span" variant="dot" color={COLOURS[status] ?? "gray"}>
      {status}
    </Badge>
  );
}

function target(e: Experiment): string {
  return e.target.slotId ? `slot ${e.target.slotId}` : e.target.templateId ? `email template ${e.target.templateId}` : "–";
}

function goal(e: Pick<Experiment, "goal">): string {
  if (e.goal.click) return `a click in the email${e.goal.urlContains ? ` on a link containing “${e.goal.urlContains}”` : ""}`;
  const where = Object.entries(e.goal.where ?? {});
  return `event “${e.goal.event ?? ""}”${where.length ? ` where ${where.map(([k, v]) => `${k} = ${String(v)}`).join(", ")}` : ""}`;
}

const pct = (value: number | null | undefined, digits = 1) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)} %`);
const signed = (value: number | null | undefined) => (value === null || value === undefined ? "–" : `${value >= 0 ? "+" : ""}${(value * 100).toFixed(1)} %`);

export function ExperimentsPage(_props: PageProps) {
  const experiments = useApi<{ experiments: Experiment[] }>("/v1/experiments");
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Experiments"
        description="A/B tests of slot content and email templates, read with GrowthBook's statistics."
        actions={
          <Button id="new-experiment" onClick={() => setCreating(true)}>
            New experiment
          </Button>
        }
      />
      {creating ? <ExperimentForm opened onClose={() => setCreating(false)} onSaved={(saved) => navigate(`/experiments/${encodeURIComponent(saved.id)}`)} /> : null}
      <Loaded state={experiments}>
        {(data) =>
          data.experiments.length === 0 ? (
            <Alert title="No experiments yet">
              Create one with <b>New experiment</b> (or <Code>PUT /v1/experiments/&lt;id&gt;</Code>, docs/content.md, “Experiments”), then start it from its page. A journey's A/B split node is an experiment too: its results are on the journey's page.
            </Alert>
          ) : (
            <Scroll minWidth={720}>
              <Table striped highlightOnHover>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Experiment</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th>Tests</Table.Th>
                    <Table.Th>Variants</Table.Th>
                    <Table.Th>Goal</Table.Th>
                    <Table.Th>Started</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.experiments.map((e) => (
                    <Table.Tr key={e.id}>
                      <Table.Td>
                        <Link to={`/experiments/${e.id}`}>{e.name || e.id}</Link>
                      </Table.Td>
                      <Table.Td>
                        <StatusBadge status={e.status} />
                      </Table.Td>
                      <Table.Td>{target(e)}</Table.Td>
                      <Table.Td>{e.variants.map((v) => v.id).join(", ")}</Table.Td>
                      <Table.Td>{goal(e)}</Table.Td>
                      <Table.Td>{formatTime(e.startedAt)}</Table.Td>
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
}

/** The uplifts and their 95 % intervals on one axis through zero (a forest plot). */
function UpliftPlot({ variants }: { variants: VariantResult[] }) {
  const shown = variants.filter((v) => v.upliftInterval);
  if (shown.length === 0) return <Text size="sm" c="dimmed">No interval yet: it needs users and conversions in the control and the variant.</Text>;
  const bound = Math.max(0.05, ...shown.flatMap((v) => v.upliftInterval!.map(Math.abs)));
  const x = (value: number) => `${50 + (value / bound) * 48}%`;
  return (
    <Stack gap="sm" role="img" aria-label={shown.map((v) => `${v.variantId}: uplift ${signed(v.uplift)}, 95 % interval ${signed(v.upliftInterval![0])} to ${signed(v.upliftInterval![1])}`).join("; ")}>
      {shown.map((v) => {
        const [low, high] = v.upliftInterval!;
        const colour = low > 0 ? "var(--mantine-color-green-7)" : high < 0 ? "var(--mantine-color-red-7)" : "var(--mantine-color-gray-6)";
        return (
          <div key={v.variantId}>
            <Group justify="space-between" gap="xs">
              <Text size="sm" fw={600}>
                {v.variantId}
              </Text>
              <Text size="sm">
                {signed(v.uplift)}{" "}
                <Text span size="xs" c="dimmed">
                  ({signed(low)} to {signed(high)})
                </Text>
              </Text>
            </Group>
            <Box pos="relative" h={22} bg="gray.0" style={{ borderRadius: 4 }}>
              <Box pos="absolute" top={0} bottom={0} left="50%" w={1} bg="gray.5" />
              <Box pos="absolute" top={9} h={4} left={x(low)} w={`calc(${x(high)} - ${x(low)})`} style={{ background: colour, borderRadius: 2 }} />
              <Box pos="absolute" top={5} h={12} w={4} left={`calc(${x(v.uplift ?? 0)} - 2px)`} style={{ background: colour, borderRadius: 2 }} />
            </Box>
          </div>
        );
      })}
      <Group justify="space-between">
        <Text size="xs" c="dimmed">
          {signed(-bound)}
        </Text>
        <Text size="xs" c="dimmed">
          0 (same as control)
        </Text>
        <Text size="xs" c="dimmed">
          {signed(bound)}
        </Text>
      </Group>
    </Stack>
  );
}

export function ExperimentPage({ params }: PageProps) {
  const id = params.id;
  const experiment = useApi<Experiment>(`/v1/experiments/${id}`);
  const results = useApi<Results>(`/v1/experiments/${id}/results`);
  const [stopping, setStopping] = useState(false);
  const [promote, setPromote] = useState(true);
  const [winner, setWinner] = useState("");
  const [editing, setEditing] = useState<"edit" | "copy" | null>(null);
  const act = useAction(
    useCallback(
      async (action: "start" | "stop") => {
        const answer = await api.post(`/v1/experiments/${id}/${action}`, action === "stop" ? { promote, ...(promote && winner ? { winner } : {}) } : {});
        experiment.reload();
        results.reload();
        return answer;
      },
      // eslint-disable-next-line react-hooks/exhaustive-deps
      [id, promote, winner],
    ),
  );
  return (
    <Loaded state={experiment}>
      {(e) => (
        <>
          <PageHeader
            title={e.name || e.id}
            description={
              <Group gap="xs" component="span">
                <StatusBadge status={e.status} />
                <span>
                  tests {target(e)} · goal: {goal(e)}
                </span>
              </Group>
            }
            actions={
              <>
                {e.status === "draft" ? (
                  <Button id="edit-experiment" variant="default" onClick={() => setEditing("edit")}>
                    Edit
                  </Button>
                ) : (
                  <Button id="copy-experiment" variant="default" onClick={() => setEditing("copy")}>
                    Copy as a new draft
                  </Button>
                )}
                {e.status === "draft" ? (
                  <Button id="start-experiment" onClick={() => void act.run("start")} loading={act.running}>
                    Start
                  </Button>
                ) : null}
                {e.status === "running" ? (
                  <Button variant="default" c="red.9" onClick={() => setStopping(true)}>
                    Stop…
                  </Button>
                ) : null}
              </>
            }
          />
          <ErrorAlert error={act.error} title="That did not work" />
          {e.status !== "draft" ? (
            <Text size="sm" mb="md" data-frozen>
              This experiment {e.status === "running" ? "runs" : "has stopped"}: its target, variants, weights, goal, coverage and window can no longer change (the API refuses a new definition once an experiment has started, so its counts never mix two versions). To test something else, copy it as a new draft.
            </Text>
          ) : null}
          {editing ? (
            <ExperimentForm
              opened
              experiment={e}
              copy={editing === "copy"}
              onClose={() => setEditing(null)}
              onSaved={(saved) => {
                setEditing(null);
                if (saved.id !== e.id) navigate(`/experiments/${encodeURIComponent(saved.id)}`);
                else {
                  experiment.reload();
                  results.reload();
                }
              }}
            />
          ) : null}
          {e.hypothesis ? (
            <Text mb="md">
              <b>Hypothesis:</b> {e.hypothesis}
            </Text>
          ) : null}
          <Text size="sm" c="dimmed" mb="md">
            {e.startedAt ? `Started ${formatTime(e.startedAt)}` : "Not started"}
            {e.stoppedAt ? ` · stopped ${formatTime(e.stoppedAt)}` : ""}
            {e.winner ? ` · winner ${e.winner}` : ""} · coverage {pct(e.coverage ?? 1, 0)}
          </Text>
          <Loaded state={results}>{(r) => <ResultsView results={r} experiment={e} />}</Loaded>
          <Modal opened={stopping} onClose={() => setStopping(false)} title="Stop the experiment" closeButtonProps={{ "aria-label": "Close" }}>
            <Stack>
              <Text size="sm">Stopping ends exposures and counting. Promoting makes the winner what everyone sees (the slot's default content, or the template's new version).</Text>
              <Checkbox label="Promote a winner" checked={promote} onChange={(ev) => setPromote(ev.currentTarget.checked)} />
              {promote ? (
                <NativeSelect
                  label="Winner"
                  value={winner}
                  data={[{ value: "", label: `The leader (${results.data?.leader ?? "the control"})` }, ...e.variants.map((v) => v.id)]}
                  onChange={(ev) => setWinner(ev.currentTarget.value)}
                />
              ) : null}
              <Group justify="flex-end">
                <Button variant="default" onClick={() => setStopping(false)}>
                  Cancel
                </Button>
                <Button color="red" loading={act.running} onClick={() => void act.run("stop").then((done) => done !== undefined && setStopping(false))}>
                  Stop
                </Button>
              </Group>
            </Stack>
          </Modal>
        </>
      )}
    </Loaded>
  );
}

function ResultsView({ results, experiment }: { results: Results; experiment: Experiment }) {
  const users = results.variants.reduce((sum, v) => sum + v.users, 0);
  const weights = experiment.variants.reduce((sum, v) => sum + (v.weight ?? 1), 0) || 1;
  const rates = results.variants.map((v) => ({ variant: v.variantId, "Conversion rate (%)": v.rate === null ? 0 : Number((v.rate * 100).toFixed(2)) }));
  const exposure = results.variants.map((v) => {
    const weight = experiment.variants.find((x) => x.id === v.variantId)?.weight ?? 1;
    return { variant: v.variantId, Users: v.users, Expected: Math.round((users * weight) / weights) };
  });
  return (
    <Stack>
      {results.srmDetected ? (
        <Alert color="red" title="Sample ratio mismatch">
          The users are not split as the weights say (p = {results.srmPValue?.toExponential(2)}). Something breaks the assignment: fix the cause before trusting any other figure.
        </Alert>
      ) : (
        <Notice title="Sample ratio check passed" variant="light">
          Users are split as the weights say{results.srmPValue !== null ? ` (p = ${results.srmPValue.toFixed(3)}, a mismatch is below 0.001)` : ""}.
        </Notice>
      )}
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Card withBorder p="sm">
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Users
          </Text>
          <Text fw={700} size="xl">
            {formatNumber(users)}
          </Text>
        </Card>
        <Card withBorder p="sm">
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Conversions
          </Text>
          <Text fw={700} size="xl">
            {formatNumber(results.variants.reduce((sum, v) => sum + v.conversions, 0))}
          </Text>
        </Card>
        <Card withBorder p="sm">
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Leader
          </Text>
          <Text fw={700} size="xl">
            {results.leader ?? results.control}
          </Text>
        </Card>
        <Card withBorder p="sm">
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            Control
          </Text>
          <Text fw={700} size="xl">
            {results.control}
          </Text>
        </Card>
      </SimpleGrid>
      <Scroll minWidth={760}>
        <Table striped id="experiment-results">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Variant</Table.Th>
              <Table.Th ta="right">Users</Table.Th>
              <Table.Th ta="right">Conversions</Table.Th>
              <Table.Th ta="right">Rate</Table.Th>
              <Table.Th ta="right">Uplift (95 % interval)</Table.Th>
              <Table.Th>Chance to win</Table.Th>
              <Table.Th ta="right">p-value</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {results.variants.map((v) => (
              <Table.Tr key={v.variantId}>
                <Table.Td>
                  {v.variantId}{" "}
                  {v.variantId === results.control ? (
                    <Badge size="xs" variant="default">
                      control
                    </Badge>
                  ) : null}
                </Table.Td>
                <Table.Td ta="right">{formatNumber(v.users)}</Table.Td>
                <Table.Td ta="right">{formatNumber(v.conversions)}</Table.Td>
                <Table.Td ta="right">{pct(v.rate, 2)}</Table.Td>
                <Table.Td ta="right">{v.variantId === results.control ? "–" : `${signed(v.uplift)} (${v.upliftInterval ? `${signed(v.upliftInterval[0])} to ${signed(v.upliftInterval[1])}` : "–"})`}</Table.Td>
                <Table.Td miw={140}>
                  {v.variantId === results.control || v.chanceToWin === null ? (
                    "–"
                  ) : (
                    <Tooltip label={`risk ${pct(v.risk, 2)} · control risk ${pct(v.controlRisk, 2)}`}>
                      <Group gap="xs" wrap="nowrap">
                        <Progress value={v.chanceToWin * 100} color={v.chanceToWin >= 0.95 ? "green" : v.chanceToWin <= 0.05 ? "red" : "indigo"} w={70} aria-label={`Chance to win of ${v.variantId}`} />
                        <Text size="sm">{pct(v.chanceToWin)}</Text>
                      </Group>
                    </Tooltip>
                  )}
                </Table.Td>
                <Table.Td ta="right">{v.pValue === null ? "–" : v.pValue < 0.001 ? "< 0.001" : v.pValue.toFixed(3)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Scroll>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Card withBorder>
          <Title order={2} size="h5" mb="sm">
            Conversion rate
          </Title>
          <BarChart h={200} data={rates} dataKey="variant" series={[{ name: "Conversion rate (%)", color: "indigo.7" }]} unit=" %" withTooltip={false} />
        </Card>
        <Card withBorder>
          <Title order={2} size="h5" mb="sm">
            Users against the split
          </Title>
          <BarChart
            h={200}
            data={exposure}
            dataKey="variant"
            series={[
              { name: "Users", color: "indigo.7" },
              { name: "Expected", color: "gray.5" },
            ]}
            withLegend
            withTooltip={false}
          />
        </Card>
        <Card withBorder>
          <Title order={2} size="h5" mb="sm">
            Uplift against the control
          </Title>
          <UpliftPlot variants={results.variants.filter((v) => v.variantId !== results.control)} />
        </Card>
      </SimpleGrid>
      <Text size="xs" c="dimmed">
        Decide the sample size before starting and do not stop at the first p &lt; 0.05: prefer a variant whose interval is clearly above zero and whose chance to win is 95 % or more.
      </Text>
    </Stack>
  );
}
