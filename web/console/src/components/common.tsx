// Pieces every page uses: its title, a loading state, a refusal shown with the fields it names, raw JSON.
import { Alert, Anchor, Code, Group, Loader, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

import { Problem } from "../api";
import { href } from "../router";

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <Group justify="space-between" align="flex-start" mb="md" wrap="wrap">
      <Stack gap={4}>
        <Title order={1} size="h2">
          {title}
        </Title>
        {description ? <Text c="dimmed">{description}</Text> : null}
      </Stack>
      {actions ? <Group gap="xs">{actions}</Group> : null}
    </Group>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <Group gap="xs" role="status" aria-live="polite">
      <Loader size="sm" aria-hidden />
      <Text size="sm">{label}</Text>
    </Group>
  );
}

/** An API refusal (problem+json) or a failure, with the fields it names. */
export function ErrorAlert({ error, title }: { error: Error | undefined | null; title?: string }) {
  if (!error) return null;
  const problem = error instanceof Problem ? error : null;
  return (
    <Alert color="red" title={title ?? problem?.title ?? "Something went wrong"} role="alert" mb="md">
      <Text size="sm">{problem ? problem.detail || problem.title : error.message}</Text>
      {problem && problem.errors.length > 0 ? (
        <ul style={{ margin: "0.5rem 0 0", paddingLeft: "1.2rem" }}>
          {problem.errors.map((e, i) => (
            <li key={i}>
              <Text size="sm">
                <Code>{e.field}</Code> {e.message}
              </Text>
            </li>
          ))}
        </ul>
      ) : null}
    </Alert>
  );
}

export function Json({ value }: { value: unknown }) {
  return (
    <Code block style={{ maxHeight: 420, overflow: "auto" }}>
      {JSON.stringify(value, null, 2)}
    </Code>
  );
}

export function Link({ to, children }: { to: string; children: ReactNode }) {
  return <Anchor href={href(to)}>{children}</Anchor>;
}

/** Loading, or the error, or the content once the data is there. */
export function Loaded<T>({ state, children }: { state: { data: T | undefined; error: Error | undefined; loading: boolean }; children: (data: T) => ReactNode }) {
  if (state.error) return <ErrorAlert error={state.error} />;
  if (state.data === undefined) return state.loading ? <Loading /> : null;
  return <>{children(state.data)}</>;
}

export function formatNumber(value: number | undefined | null): string {
  return value === undefined || value === null ? "–" : new Intl.NumberFormat("en").format(value);
}

export function formatTime(value: string | undefined | null): string {
  if (!value) return "–";
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? value : at.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
