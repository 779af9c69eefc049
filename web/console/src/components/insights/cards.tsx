// Small pieces of the insight pages (overview, scoring, segments): a figure on a card, a card that explains an
// answer the API does not give (yet), and the engagement pyramid as a chart.
import { BarChart } from "@mantine/charts";
import { Card, Group, Stack, Text, Title } from "@mantine/core";
import { useEffect, useState, type ReactNode } from "react";

import { Problem, api } from "../../api";
import { useApi, type Loaded } from "../../hooks";
import { ErrorAlert, Loading, formatNumber } from "../common";

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

/** Loading, a friendly note when the API has no such figures (404), the error, or the content. */
export function Optional<T>({ state, what, children }: { state: { data: T | undefined; error: Error | undefined; loading: boolean }; what: string; children: (data: T) => ReactNode }) {
  if (state.error instanceof Problem && state.error.status === 404)
    return (
      <Text size="sm" c="dimmed">
        {what} are not available from this API yet.
      </Text>
    );
  if (state.error) return <ErrorAlert error={state.error} />;
  if (state.data === undefined) return state.loading ? <Loading /> : null;
  return <>{children(state.data)}</>;
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

let routes: Promise<Set<string>> | null = null;

/** The API's routes (GET /v1/openapi.json, once per visit): asking only for routes it has keeps 404s out. */
function knownRoutes(): Promise<Set<string>> {
  routes ??= api
    .get<{ paths: Record<string, unknown> }>("/v1/openapi.json")
    .then((doc) => new Set(Object.keys(doc.paths ?? {})))
    .catch(() => new Set<string>());
  return routes;
}

/** GET `path` when the API has `route` (an OpenAPI path); a 404 Problem otherwise, which `Optional` explains. */
export function useRoutedApi<T>(route: string, path: string): Loaded<T> {
  const [known, setKnown] = useState<boolean | null>(null);
  useEffect(() => {
    let live = true;
    void knownRoutes().then((found) => live && setKnown(found.has(route)));
    return () => {
      live = false;
    };
  }, [route]);
  const state = useApi<T>(known ? path : null);
  if (known === false) return { ...state, loading: false, error: new Problem(404, "Not Found", `${route} is not in this API`) };
  if (known === null) return { ...state, loading: true };
  return state;
}
