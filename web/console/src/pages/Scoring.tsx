// Scoring plans (their rules, decay and tiers, and the engagement pyramid) and questionnaires (their segments'
// sizes and the movements between them); each created and edited in a drawer (components/scoring/).
import { AreaChart, BarChart } from "@mantine/charts";
import { Alert, Badge, Button, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";

import { Loaded, PageHeader, formatNumber } from "../components/common";
import { Pyramid, Section, type PyramidTier } from "../components/insights/cards";
import { PlanForm } from "../components/scoring/PlanForm";
import { QuestionnaireForm } from "../components/scoring/QuestionnaireForm";
import type { Plan, Questionnaire, Rule } from "../components/scoring/model";
import { describe, type Json } from "../components/segments/model";
import { useApi } from "../hooks";
import type { PageProps } from "./registry";
import { Scroll } from "../components/tables";
import { Notice } from "../components/journeys/Notice";

interface Movements {
  from: string;
  to: string;
  movements: { from: string; to: string; profiles: number }[];
  sizes: Record<string, number>;
}

export function ScoringPage(_props: PageProps) {
  const plans = useApi<{ plans: Plan[] }>("/v1/scoring/plans");
  const questionnaires = useApi<{ questionnaires: Questionnaire[] }>("/v1/questionnaires");
  // what the drawer edits: a plan or a questionnaire (`null`: a new one)
  const [plan, setPlan] = useState<Plan | null>();
  const [questionnaire, setQuestionnaire] = useState<Questionnaire | null>();
  const [saved, setSaved] = useState<string>();
  return (
    <>
      <PageHeader title="Scoring & questionnaires" description="How engaged your profiles are, and which kind of customer they told you they are." />
      {saved ? (
        <Notice aria-live="polite" withCloseButton onClose={() => setSaved(undefined)} closeButtonLabel="Dismiss">
          {saved}
        </Notice>
      ) : null}
      <Stack gap="md">
        <Group justify="space-between" gap="xs">
          <Title order={2} size="h3">
            Scoring plans
          </Title>
          <Button id="new-plan" variant="default" onClick={() => setPlan(null)}>
            New scoring plan
          </Button>
        </Group>
        <Loaded state={plans}>
          {({ plans: list }) =>
            list.length === 0 ? (
              <Alert color="gray" title="No scoring plan yet">
                A scoring plan gives points for what people do (a recipe read, a form sent, a purchase) and ranks them in tiers such as cold, warm and hot. Create one
                with <b>New scoring plan</b> (or <code>POST /v1/scoring/plans</code>, <code>cxm scoring create</code>).
              </Alert>
            ) : (
              list.map((p) => <PlanCard key={p.planId} plan={p} onEdit={() => setPlan(p)} />)
            )
          }
        </Loaded>
        <Group justify="space-between" gap="xs" mt="md">
          <Title order={2} size="h3">
            Questionnaires
          </Title>
          <Button id="new-questionnaire" variant="default" onClick={() => setQuestionnaire(null)}>
            New questionnaire
          </Button>
        </Group>
        <Loaded state={questionnaires}>
          {({ questionnaires: list }) =>
            list.length === 0 ? (
              <Alert color="gray" title="No questionnaire yet">
                A questionnaire sorts the people who answer it into segments (explorer, home cook…) that journeys and content can use. Create one with <b>New questionnaire</b>.
              </Alert>
            ) : (
              list.map((q) => <QuestionnaireCard key={q.questionnaireId} questionnaire={q} onEdit={() => setQuestionnaire(q)} />)
            )
          }
        </Loaded>
      </Stack>
      {plan !== undefined ? (
        <PlanForm
          plan={plan ?? undefined}
          onClose={() => setPlan(undefined)}
          onSaved={(done) => {
            setPlan(undefined);
            setSaved(`Scoring plan “${done.name}” saved (version ${done.version}).`);
            plans.reload();
          }}
        />
      ) : null}
      {questionnaire !== undefined ? (
        <QuestionnaireForm
          questionnaire={questionnaire ?? undefined}
          onClose={() => setQuestionnaire(undefined)}
          onSaved={(done) => {
            setQuestionnaire(undefined);
            setSaved(`Questionnaire “${done.name}” saved (version ${done.version}).`);
            questionnaires.reload();
          }}
        />
      ) : null}
    </>
  );
}

function decayText(decay: Plan["decay"]): string {
  if (!decay) return "Points never expire.";
  if (decay.expireAfterDays) return `Points expire after ${decay.expireAfterDays} days.`;
  if (decay.percentPerWeek) return `Scores lose ${decay.percentPerWeek}% a week.`;
  return "Points never expire.";
}

const TIER_COLOURS = ["red.7", "orange.6", "indigo.5", "gray.5", "teal.6"]; // top tier first

function PlanCard({ plan, onEdit }: { plan: Plan; onEdit: () => void }) {
  const pyramid = useApi<{ tiers: PyramidTier[]; days: { date: string; tiers: Record<string, number> }[] }>(
    `/v1/scoring/plans/${encodeURIComponent(plan.planId)}/pyramid?days=30`,
  );
  return (
    <Section
      title={plan.name}
      description={`${plan.description ? plan.description + " " : ""}${decayText(plan.decay)} Version ${plan.version}.`}
      actions={
        <Button size="xs" variant="default" onClick={onEdit} aria-label={`Edit scoring plan ${plan.name}`} data-edit-plan={plan.planId}>
          Edit
        </Button>
      }
    >
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Stack gap="xs">
          <Title order={3} size="h5">
            Rules
          </Title>
          <Scroll minWidth={360} label="Rules">
            <Table verticalSpacing={6}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Rule</Table.Th>
                  <Table.Th scope="col">When</Table.Th>
                  <Table.Th scope="col" style={{ textAlign: "right" }}>
                    Points
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {plan.rules.map((rule) => (
                  <Table.Tr key={rule.name}>
                    <Table.Td>{rule.name}</Table.Td>
                    <Table.Td>
                      <Text size="sm">{ruleText(rule)}</Text>
                      {rule.maxPerDay || rule.maxLifetime ? (
                        <Text size="xs" c="dimmed">
                          {[rule.maxPerDay ? `at most ${rule.maxPerDay} a day` : "", rule.maxLifetime ? `at most ${rule.maxLifetime} in all` : ""].filter(Boolean).join(", ")}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td style={{ textAlign: "right" }}>
                      <Text size="sm" fw={600} c={rule.points < 0 ? "red.8" : undefined}>
                        {rule.points > 0 ? "+" : ""}
                        {rule.points}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Scroll>
          <Title order={3} size="h5" mt="xs">
            Tiers
          </Title>
          <Group gap="xs">
            {plan.tiers.map((tier) => (
              <Badge key={tier.name} variant="light" size="lg" tt="none" autoContrast>
                {tier.name} {tier.min !== undefined && tier.min !== null ? `${tier.min}+` : ""}
              </Badge>
            ))}
          </Group>
        </Stack>
        <Stack gap="xs">
          <Title order={3} size="h5">
            Engagement pyramid
          </Title>
          <Loaded state={pyramid}>{(data) => <Pyramid tiers={data.tiers} />}</Loaded>
          <Title order={3} size="h5" mt="xs">
            Over the last 30 days
          </Title>
          <Loaded state={pyramid}>
            {(data) => (
              <div data-pyramid-days={data.days.length}>
                <AreaChart
                  h={200}
                  type="stacked"
                  data={data.days.map((d) => ({ day: d.date.slice(5), ...d.tiers }))}
                  dataKey="day"
                  series={data.tiers.map((t, i) => ({ name: t.tier, label: t.tier, color: TIER_COLOURS[i % TIER_COLOURS.length] }))}
                  curveType="stepAfter"
                  withLegend
                />
              </div>
            )}
          </Loaded>
        </Stack>
      </SimpleGrid>
    </Section>
  );
}

function ruleText(rule: Rule): string {
  if (rule.traits) return `once, when ${describe(rule.traits)}`;
  if (rule.activity && typeof rule.activity === "object" && !Array.isArray(rule.activity)) {
    const a = rule.activity as Record<string, Json>;
    const what = a.event ? `“${String(a.event)}”` : a.type === "page" ? "a page view" : String(a.type ?? "an activity");
    const where = Array.isArray(a.where) ? a.where.map((w) => (w && typeof w === "object" && !Array.isArray(w) ? `${String(w.property ?? w.environment)} ${String(w.op)} ${String(w.value)}` : "")).join(", ") : "";
    return `each ${what}${where ? ` where ${where}` : ""}`;
  }
  return "–";
}

function QuestionnaireCard({ questionnaire, onEdit }: { questionnaire: Questionnaire; onEdit: () => void }) {
  const movements = useApi<Movements>(`/v1/questionnaires/${encodeURIComponent(questionnaire.questionnaireId)}/movements`);
  const name = (key: string) =>
    key === "neutral" ? "Neutral (no clear fit)" : key === "unanswered" ? "Not answered" : (questionnaire.key.segments.find((s) => s.key === key)?.name ?? key);
  return (
    <Section
      title={questionnaire.name}
      description={questionnaire.description || `${questionnaire.questions.length} questions`}
      actions={
        <Button size="xs" variant="default" onClick={onEdit} aria-label={`Edit questionnaire ${questionnaire.name}`} data-edit-questionnaire={questionnaire.questionnaireId}>
          Edit
        </Button>
      }
    >
      <Loaded state={movements}>
        {(m) => {
          const sizes = Object.entries(m.sizes).map(([key, profiles]) => ({ segment: name(key), profiles }));
          const total = sizes.reduce((a, s) => a + s.profiles, 0);
          return (
            <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
              <Stack gap="xs">
                <Title order={3} size="h5">
                  Profiles per segment
                </Title>
                {total === 0 ? (
                  <Text size="sm" c="dimmed">
                    Nobody has answered yet. Answers arrive as the “{questionnaire.event ?? "Questionnaire Answered"}” event from your site; complete answers sort
                    the person into one of: {questionnaire.key.segments.map((s) => s.name).join(", ")}.
                  </Text>
                ) : null}
                <BarChart h={Math.max(160, sizes.length * 32)} data={sizes} dataKey="segment" orientation="vertical" yAxisProps={{ width: 150 }} series={[{ name: "profiles", label: "Profiles", color: "grape.7" }]} gridAxis="none" />
              </Stack>
              <Stack gap="xs">
                <Title order={3} size="h5">
                  Movements {m.from} to {m.to}
                </Title>
                {m.movements.length === 0 ? (
                  <Text size="sm" c="dimmed">
                    Nobody moved between segments in this period.
                  </Text>
                ) : (
                  <Scroll minWidth={300} label="Movements">
                    <Table verticalSpacing={6}>
                      <Table.Thead>
                        <Table.Tr>
                          <Table.Th scope="col">From</Table.Th>
                          <Table.Th scope="col">To</Table.Th>
                          <Table.Th scope="col" style={{ textAlign: "right" }}>
                            Profiles
                          </Table.Th>
                        </Table.Tr>
                      </Table.Thead>
                      <Table.Tbody>
                        {m.movements.map((mv) => (
                          <Table.Tr key={`${mv.from}-${mv.to}`}>
                            <Table.Td>{name(mv.from)}</Table.Td>
                            <Table.Td>{name(mv.to)}</Table.Td>
                            <Table.Td style={{ textAlign: "right" }}>{formatNumber(mv.profiles)}</Table.Td>
                          </Table.Tr>
                        ))}
                      </Table.Tbody>
                    </Table>
                  </Scroll>
                )}
              </Stack>
            </SimpleGrid>
          );
        }}
      </Loaded>
    </Section>
  );
}

