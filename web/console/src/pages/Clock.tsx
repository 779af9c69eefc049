// The local cloud's virtual clock: what time the platform thinks it is, and fast-forwards that make waits, windows
// and schedules come due (POST /_local/clock/advance, admin key; infra/local/cloud.py).
import { Button, Card, Group, Stack, Text, TextInput } from "@mantine/core";
import { useCallback, useState, type FormEvent } from "react";

import { api } from "../api";
import { CLOCK_MOVED } from "../clock";
import { ErrorAlert, formatTime, Loaded, PageHeader } from "../components/common";
import { Notice } from "../components/journeys/Notice";
import { useAction, useApi } from "../hooks";
import type { PageProps } from "./registry";

const STEPS: [string, string][] = [
  ["1h", "+1 hour"],
  ["1d", "+1 day"],
  ["2d", "+2 days"],
  ["1w", "+1 week"],
];

export function ClockPage(_props: PageProps) {
  const clock = useApi<{ now: string }>("/_local/clock");
  const [custom, setCustom] = useState("");
  const [moved, setMoved] = useState<{ from: string; to: string; by: string }>();
  const advance = useAction(useCallback((by: string) => api.post<{ now: string }>("/_local/clock/advance", { by }), []));
  const go = (by: string) => {
    const from = clock.data?.now ?? "";
    void advance.run(by).then((answer) => {
      if (!answer) return;
      setMoved({ from, to: answer.now, by });
      clock.reload();
      window.dispatchEvent(new Event(CLOCK_MOVED)); // the header's clock badge reads it again
    });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (custom.trim()) go(custom.trim());
  };
  return (
    <>
      <PageHeader title="Virtual clock" description="The local cloud's time. Fast-forward it to see waits end, emails go out and windows close, without waiting." />
      <Loaded state={clock}>
        {(data) => (
          <Stack maw={640}>
            <Card withBorder>
              <Text size="sm" c="dimmed">
                It is now
              </Text>
              <Text fw={700} size="xl" id="clock-now">
                {formatTime(data.now)}
              </Text>
              <Text size="xs" c="dimmed">
                {new Date(data.now).toUTCString()}
              </Text>
            </Card>
            <ErrorAlert error={advance.error} title="The clock did not move" />
            {moved ? (
              <Notice aria-live="polite" title={`Moved forward by ${moved.by}`} withCloseButton onClose={() => setMoved(undefined)} closeButtonLabel="Dismiss">
                From {formatTime(moved.from)} to {formatTime(moved.to)}. Runs that were waiting go on within a few seconds; reload a journey or the mailbox to see what happened.
              </Notice>
            ) : null}
            <Card withBorder>
              <Text fw={600} mb="xs">
                Fast-forward
              </Text>
              <Group gap="xs">
                {STEPS.map(([by, label]) => (
                  <Button key={by} id={`clock-advance-${by}`} variant="default" onClick={() => go(by)} loading={advance.running}>
                    {label}
                  </Button>
                ))}
              </Group>
              <form onSubmit={submit}>
                <Group align="flex-end" mt="md" gap="xs">
                  <TextInput id="clock-custom" label="Another amount" description="e.g. 90m, 36h, 3d, 2w" value={custom} onChange={(e) => setCustom(e.currentTarget.value)} w={220} />
                  <Button type="submit" variant="default" disabled={!custom.trim()} loading={advance.running}>
                    Fast-forward
                  </Button>
                </Group>
              </form>
            </Card>
          </Stack>
        )}
      </Loaded>
    </>
  );
}
