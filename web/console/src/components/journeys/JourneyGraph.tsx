// A journey drawn as a graph (@xyflow/react): the entry on top, then each node in layers by its distance from the
// start (a breadth-first walk; no layout library), edges labelled with their branch, counts on nodes and edges.
import { Badge, Group, Paper, Stack, Text } from "@mantine/core";
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, type Edge as FlowEdge, type Node as FlowNode, type NodeProps } from "@xyflow/react";
import { useMemo } from "react";

import { formatNumber } from "../common";
import { describeNode, describeTrigger, edgesOf, NODE_TYPES, percent, type Definition, type FieldErrors, type JourneyNode, type NodeCounts, type VersionAnalytics } from "./model";

const WIDTH = 240;
const GAP_X = 40;
const GAP_Y = 175;
const COLOURS: Record<string, string> = {
  entry: "indigo",
  wait: "gray",
  waitForEvent: "gray",
  condition: "orange",
  split: "grape",
  holdout: "grape",
  email: "blue",
  sms: "cyan",
  webhook: "teal",
  exit: "red",
};

type StepData = {
  node?: JourneyNode;
  title: string;
  kind: string;
  summary: string;
  counts?: NodeCounts;
  entered?: number;
  errors?: string[];
};

function Step({ data }: NodeProps<FlowNode<StepData>>) {
  const counts = data.counts;
  const colour = COLOURS[data.node?.type ?? "entry"] ?? "gray";
  const sends = ["email", "sms", "webhook"].includes(data.node?.type ?? "");
  const email = data.node?.type === "email";
  const figures: [string, number | undefined][] = counts
    ? [
        ["entered", counts.entered],
        ["waiting", counts.waitingNow],
        ["sent", sends ? (counts.sent ?? 0) : undefined],
        ["skipped", sends && counts.skipped ? counts.skipped : undefined],
        ["opened", email ? (counts.opened ?? 0) : undefined],
        ["clicked", email ? (counts.clicked ?? 0) : undefined],
        ["failed", (counts.failed ?? 0) + (counts.sendFailed ?? 0) || undefined],
      ]
    : data.entered !== undefined
      ? [["entered", data.entered]]
      : [];
  return (
    <Paper
      withBorder
      shadow="xs"
      p="xs"
      radius="md"
      w={WIDTH}
      style={{ borderColor: data.errors?.length ? "var(--mantine-color-red-6)" : `var(--mantine-color-${colour}-4)`, borderWidth: data.errors?.length ? 2 : 1 }}
      data-node={data.node?.id ?? "entry"}
    >
      {data.node ? <Handle type="target" position={Position.Top} isConnectable={false} /> : null}
      <Stack gap={2}>
        <Badge size="xs" color={colour} variant="dot">
          {data.kind}
        </Badge>
        <Text fw={600} size="sm" lineClamp={2}>
          {data.title}
        </Text>
        {data.summary ? (
          <Text size="xs" c="dimmed" lineClamp={2}>
            {data.summary}
          </Text>
        ) : null}
        {figures.some(([, v]) => v !== undefined) ? (
          <Group gap={8} mt={2}>
            {figures
              .filter(([, v]) => v !== undefined)
              .map(([label, value]) => (
                <Text key={label} size="xs">
                  <b>{formatNumber(value)}</b> {label}
                </Text>
              ))}
          </Group>
        ) : null}
        {data.errors?.map((message, i) => (
          <Text key={i} size="xs" c="red.8">
            {message}
          </Text>
        ))}
      </Stack>
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </Paper>
  );
}

const nodeTypes = { step: Step };

/** Layers by the longest path from the start over the graph without its back edges (a loop back up does not push
 * its target down); nodes the start does not reach go below the rest. */
export function layers(definition: Definition): string[][] {
  const byId = new Map(definition.nodes.map((n) => [n.id, n]));
  const forward = new Map<string, string[]>();
  const state = new Map<string, "open" | "done">();
  const order: string[] = []; // reverse post-order: a topological order of the forward edges
  const visit = (id: string) => {
    state.set(id, "open");
    const targets: string[] = [];
    for (const edge of edgesOf(byId.get(id)!)) {
      if (!byId.has(edge.target) || state.get(edge.target) === "open") continue; // missing, or a back edge
      targets.push(edge.target);
      if (!state.has(edge.target)) visit(edge.target);
    }
    forward.set(id, targets);
    state.set(id, "done");
    order.unshift(id);
  };
  if (byId.has(definition.start)) visit(definition.start);
  const depth = new Map<string, number>();
  for (const id of order) {
    const here = depth.get(id) ?? 0;
    depth.set(id, here);
    for (const target of forward.get(id) ?? []) depth.set(target, Math.max(depth.get(target) ?? 0, here + 1));
  }
  let deepest = Math.max(-1, ...depth.values());
  for (const node of definition.nodes) if (!depth.has(node.id)) depth.set(node.id, ++deepest);
  const out: string[][] = [];
  for (const node of definition.nodes) (out[depth.get(node.id)!] ??= []).push(node.id);
  return out.filter(Boolean);
}

export function JourneyGraph({
  definition,
  analytics,
  errors,
  height = 560,
}: {
  definition: Definition;
  analytics?: VersionAnalytics;
  errors?: FieldErrors;
  height?: number;
}) {
  const { nodes, edges } = useMemo(() => {
    const nodes: FlowNode<StepData>[] = [];
    const edges: FlowEdge[] = [];
    const placed = layers(definition);
    const widest = Math.max(1, ...placed.map((l) => l.length));
    const centre = (widest * (WIDTH + GAP_X)) / 2;
    nodes.push({
      id: "__entry",
      type: "step",
      position: { x: centre - WIDTH / 2, y: 0 },
      data: {
        title: "Entry",
        kind: "trigger",
        summary: describeTrigger(definition.entry?.trigger),
        entered: analytics?.journey.entered,
        errors: errors?.entry,
      },
      draggable: false,
    });
    const known = new Set(definition.nodes.map((n) => n.id));
    if (known.has(definition.start)) edges.push({ id: "__entry->start", source: "__entry", target: definition.start, markerEnd: { type: MarkerType.ArrowClosed } });
    const byId = new Map(definition.nodes.map((n) => [n.id, n]));
    placed.forEach((layer, depth) => {
      const rowWidth = layer.length * (WIDTH + GAP_X) - GAP_X;
      layer.forEach((id, i) => {
        const node = byId.get(id)!;
        nodes.push({
          id,
          type: "step",
          position: { x: centre - rowWidth / 2 + i * (WIDTH + GAP_X), y: (depth + 1) * GAP_Y },
          data: {
            node,
            title: node.name || node.id,
            kind: NODE_TYPES[node.type] ?? node.type,
            summary: describeNode(node),
            counts: analytics?.nodes[id],
            errors: errors?.[id],
          },
          draggable: false,
        });
      });
    });
    for (const node of definition.nodes) {
      const counts = analytics?.nodes[node.id]?.branches;
      edgesOf(node).forEach((edge, i) => {
        if (!known.has(edge.target)) return;
        const branch = counts?.[edge.branch];
        const figures = branch && branch.taken !== undefined ? `${formatNumber(branch.taken)} · ${percent(branch.conversionRate)} conv.` : "";
        const label = [edge.label, figures].filter(Boolean).join(" — ");
        edges.push({
          id: `${node.id}-${i}-${edge.target}`,
          source: node.id,
          target: edge.target,
          label: label || undefined,
          labelStyle: { fontSize: 11 },
          labelBgPadding: [4, 2],
          markerEnd: { type: MarkerType.ArrowClosed },
          style: edge.branch === "failed" ? { strokeDasharray: "4 3" } : undefined,
        });
      });
    }
    return { nodes, edges };
  }, [definition, analytics, errors]);
  return (
    <div style={{ height, width: "100%", border: "1px solid var(--mantine-color-gray-3)", borderRadius: 8 }} role="figure" aria-label={`Graph of the journey ${definition.name}`}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        minZoom={0.2}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
