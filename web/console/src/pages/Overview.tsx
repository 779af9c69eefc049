// The overview: how much the site is used (events per day, known and anonymous profiles), the engagement pyramid
// of each scoring plan, and the journeys at work (active ones, what they sent this week).
import { AreaChart, BarChart } from "@mantine/charts";
import { Anchor, SimpleGrid, Stack, Text } from "@mantine/core";

import { Loaded, PageHeader, formatNumber } from "../components/common";
import { Figure, Pyramid, Section, type PyramidTier } from "../components/insights/cards";
import { useApi } from "../hooks";
import { href } from "../router";
import type { PageProps } from "./registry";

interface ProfileStats {
  profiles: { known: number; anonymous: number };
  eventsPerDay: { day: string; events: number }[];
}

interface JourneyStats {
  active: number;
  sendsPerDay: { day: string; sends?: number; [channel: string]: number | string | undefined }[];
  sendsByChannel: Record<string, number>;
}

interface Plan {
  planId: string;
  name: string;
  description?: string;
}

export function OverviewPage(_props: PageProps) {
  const profiles = useApi<ProfileStats>("/v1/profiles/stats?days=14");
  const journeys = useApi<JourneyStats>("/v1/journeys/stats?days=7");
  const plans = useApi<{ plans: Plan[] }>("/v1/scoring/plans");
  return (
    <>
      <PageHeader title="Overview" description="How your audience is growing and what your journeys are doing." />
      <Stack gap="md">
        <Section title="Profiles" description="People the platform knows by an email or user id, and visitors it only knows by a cookie.">
          <Loaded state={profiles}>
            {(stats) => {
              const total = stats.profiles.known + stats.profiles.anonymous;
              return (
                <SimpleGrid cols={{ base: 1, xs: 3 }}>
                  <Figure label="Known profiles" value={stats.profiles.known} hint={total ? `${Math.round((100 * stats.profiles.known) / total)}% of all profiles` : undefined} />
                  <Figure label="Anonymous profiles" value={stats.profiles.anonymous} hint="Not identified yet" />
                  <Figure label="All profiles" value={total} />
                </SimpleGrid>
              );
            }}
          </Loaded>
        </Section>
        <Section title="Events per day" description="Page views, events and identifies recorded over the last 14 days (UTC).">
          <Loaded state={profiles}>
            {(stats) =>
              stats.eventsPerDay.every((d) => d.events === 0) ? (
                <Text size="sm" c="dimmed">
                  No events in the last 14 days. Add the tracker to your site (Settings) to start collecting.
                </Text>
              ) : (
                <AreaChart
                  h={220}
                  data={stats.eventsPerDay.map((d) => ({ day: d.day.slice(5), events: d.events }))}
                  dataKey="day"
                  series={[{ name: "events", label: "Events", color: "indigo.6" }]}
                  curveType="linear"
                  valueFormatter={(v) => formatNumber(v)}
                />
              )
            }
          </Loaded>
        </Section>
        <Section title="Journeys" description="Journeys running now and the messages they sent in the last 7 days." actions={<Anchor href={href("/journeys")} size="sm">All journeys</Anchor>}>
          <Loaded state={journeys}>
            {(stats) => {
              const sends = Object.values(stats.sendsByChannel ?? {}).reduce((a, b) => a + b, 0);
              const perDay = (stats.sendsPerDay ?? []).map((d) => ({ day: String(d.day).slice(5), sends: typeof d.sends === "number" ? d.sends : sumChannels(d) }));
              return (
                <Stack>
                  <SimpleGrid cols={{ base: 1, xs: 2, md: 2 + Math.min(3, Object.keys(stats.sendsByChannel ?? {}).length) }}>
                    <Figure label="Active journeys" value={stats.active} />
                    <Figure label="Sends this week" value={sends} />
                    {Object.entries(stats.sendsByChannel ?? {}).slice(0, 3).map(([channel, count]) => (
                      <Figure key={channel} label={`Sent by ${channel}`} value={count} />
                    ))}
                  </SimpleGrid>
                  {perDay.length > 0 && perDay.some((d) => d.sends > 0) ? (
                    <BarChart h={180} data={perDay} dataKey="day" series={[{ name: "sends", label: "Sends", color: "teal.7" }]} />
                  ) : (
                    <Text size="sm" c="dimmed">
                      Nothing was sent this week.
                    </Text>
                  )}
                </Stack>
              );
            }}
          </Loaded>
        </Section>
        <Section title="Engagement pyramid" description="Profiles per tier of each scoring plan, top tier first." actions={<Anchor href={href("/scoring")} size="sm">Scoring plans</Anchor>}>
          <Loaded state={plans}>
            {({ plans: list }) =>
              list.length === 0 ? (
                <Text size="sm" c="dimmed">
                  No scoring plan yet. Define one to rank profiles by engagement (hot leads, champions…): see Scoring.
                </Text>
              ) : (
                <SimpleGrid cols={{ base: 1, md: list.length > 1 ? 2 : 1 }}>
                  {list.map((plan) => (
                    <PlanPyramid key={plan.planId} plan={plan} />
                  ))}
                </SimpleGrid>
              )
            }
          </Loaded>
        </Section>
      </Stack>
    </>
  );
}

function sumChannels(day: Record<string, unknown>): number {
  return Object.entries(day).reduce((sum, [name, value]) => (name !== "day" && typeof value === "number" ? sum + value : sum), 0);
}

function PlanPyramid({ plan }: { plan: Plan }) {
  const pyramid = useApi<{ tiers: PyramidTier[] }>(`/v1/scoring/plans/${encodeURIComponent(plan.planId)}/pyramid`);
  return (
    <Stack gap="xs">
      <Text fw={600}>{plan.name}</Text>
      <Loaded state={pyramid}>{(data) => <Pyramid tiers={data.tiers} />}</Loaded>
    </Stack>
  );
}
