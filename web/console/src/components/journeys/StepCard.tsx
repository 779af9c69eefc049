// The frame every step of the journey editor shares: what kind of step it is and its id, whether it is the first
// step, buttons that move it up or down the list and remove it, its name for people, then its own fields, and last
// every refusal of the API that names it (each is shown on its field too, where the form has one).
import { ActionIcon, Alert, Badge, Button, Card, Group, Stack, Text, TextInput } from "@mantine/core";
import type { ReactNode } from "react";

import { describeNode, NODE_TYPES, type JourneyNode } from "./model";

export function StepCard({
  node,
  index,
  count,
  isStart,
  errors,
  onName,
  onMove,
  onRemove,
  children,
}: {
  node: JourneyNode;
  index: number;
  count: number; // how many steps there are (the last cannot move down)
  isStart: boolean;
  errors?: string[];
  onName: (name: string) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
  children: ReactNode;
}) {
  const label = node.name || node.id;
  return (
    <Card withBorder padding="sm" radius="md" style={errors?.length ? { borderColor: "var(--mantine-color-red-6)" } : undefined} data-node-card={node.id} component="section" aria-label={`Step ${label}`}>
      <Stack gap="xs">
        <Group justify="space-between" gap="xs">
          <Group gap="xs">
            <Badge variant="light">{NODE_TYPES[node.type] ?? node.type}</Badge>
            <Text size="sm" c="dimmed">
              {node.id}
            </Text>
            {isStart ? (
              <Badge color="green" variant="dot">
                first step
              </Badge>
            ) : null}
          </Group>
          <Group gap={4}>
            <ActionIcon variant="subtle" color="gray.8" id={`node-${index}-up`} aria-label={`Move step ${node.id} up`} disabled={index === 0} onClick={() => onMove(-1)}>
              ↑
            </ActionIcon>
            <ActionIcon variant="subtle" color="gray.8" id={`node-${index}-down`} aria-label={`Move step ${node.id} down`} disabled={index === count - 1} onClick={() => onMove(1)}>
              ↓
            </ActionIcon>
            <Button size="compact-xs" variant="subtle" color="red" onClick={onRemove} aria-label={`Remove step ${node.id}`}>
              Remove
            </Button>
          </Group>
        </Group>
        <TextInput id={`node-${index}-name`} label="Step name (for people)" placeholder={describeNode(node) || node.id} value={String(node.name ?? "")} onChange={(e) => onName(e.currentTarget.value)} />
        {children}
        <ErrorSummary title="Fix this step" errors={errors} />
      </Stack>
    </Card>
  );
}

/** Every refusal of the API for a part of the journey (a step, the entry), one a line. */
export function ErrorSummary({ title, errors }: { title: string; errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <Alert color="red" p="xs" role="alert" title={title}>
      {errors.map((m, i) => (
        <Text key={i} size="sm">
          {m}
        </Text>
      ))}
    </Alert>
  );
}
