// Small pieces of the insight pages (overview, scoring, segments): a section, a figure on a card, and the
// engagement pyramid as a chart.
import { BarChart } from "@mantine/charts";
import { Card, Group, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

import { formatNumber } from "../common";

export function Section({ title, description, actions, children }: { title: string; description?: ReactNode; actions?: ReactNode; children: ReactNode }) {
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-label={title}>
      <Group justify="space-between" align="flex-start" mb="sm" wrap="wrap" gap="xs">
        <Stack gap={2}>
          <Title order={2} size="h4">
            {title}
          </Title>
          {description ? (
            <Text size="sm" c="dimmed">
              {description}
            </Text>
          ) : null}
        </Stack>
        {actions ? <Group gap="xs">{actions}</Group> : null}
      </Group>
      {children}
    </Card>
  );
}

export function Figure({ label, value, hint }: { label: string; value: number | string | undefined; hint?: ReactNode }) {
  return (
    <Card withBorder radius="md" padding="md">
      <Text size="sm" c="dimmed" fw={500}>
        {label}
      </Text>
      <Text fz={28} fw={700} lh={1.2} data-figure={label}>
        {typeof value === "number" ? formatNumber(value) : (value ?? "–")}
      </Text>
      {hint ? (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      ) : null}
    </Card>
  );
}

export interface PyramidTier {
  tier: string;
  min: number | null;
  profiles: number;
}

/** The tiers top first, as horizontal bars. */
export function Pyramid({ tiers }: { tiers: PyramidTier[] }) {
  const total = tiers.reduce((sum, t) => sum + t.profiles, 0);
  if (total === 0)
    return (
      <Text size="sm" c="dimmed">
        Nobody has a score in this plan yet: scores appear as profiles do what its rules pay for.
      </Text>
    );
  const mins = tiers.filter((t) => t.min !== null).map((t) => t.min as number);
  const floor = mins.length ? Math.min(...mins) : null;
  const data = tiers.map((t) => ({
    tier: t.min !== null ? `${t.tier} (${t.min}+)` : floor !== null ? `${t.tier} (< ${floor})` : t.tier,
    profiles: t.profiles,
  }));
  return (
    <Stack gap="xs">
      <BarChart
        h={Math.max(120, tiers.length * 44)}
        data={data}
        dataKey="tier"
        orientation="vertical"
        yAxisProps={{ width: 120 }}
        series={[{ name: "profiles", label: "Profiles", color: "indigo.6" }]}
        withBarValueLabel
        gridAxis="none"
      />
      <Text size="xs" c="dimmed">
        {tiers.map((t) => `${t.tier}: ${formatNumber(t.profiles)}`).join(" · ")} ({formatNumber(total)} scored)
      </Text>
    </Stack>
  );
}

