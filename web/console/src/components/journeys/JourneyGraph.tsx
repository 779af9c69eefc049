// A journey drawn as a graph (@xyflow/react): the entry on top, then each node in layers by its distance from the
// start (a breadth-first walk; no layout library), edges labelled with their branch, counts on nodes and edges.
import { Badge, Group, Paper, Stack, Text } from "@mantine/core";
import { Background, BaseEdge, Controls, EdgeLabelRenderer, Handle, MarkerType, Position, ReactFlow, type Edge as FlowEdge, type EdgeProps, type Node as FlowNode, type NodeProps } from "@xyflow/react";
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

const NODE_H = 110; // the band a layer's nodes take (they are 60–120 px tall)
const END_W = 90;
const WAY_W = 24;

type Point = { x: number; y: number };
type RoutedData = { points: Point[]; text?: string; back?: boolean };

/** An edge through its waypoints (long edges pass beside the layers they cross), its label near its source. */
function Routed({ id, sourceX, sourceY, targetX, targetY, data, markerEnd, style }: EdgeProps<FlowEdge<RoutedData>>) {
  const points = [{ x: sourceX, y: sourceY }, ...(data?.points ?? []), { x: targetX, y: targetY }];
  let path = `M ${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const mid = (a.y + b.y) / 2;
    path += Math.abs(a.x - b.x) < 1 || data?.back ? ` L ${b.x},${b.y}` : ` C ${a.x},${mid} ${b.x},${mid} ${b.x},${b.y}`;
  }
  const first = points[1];
  const labelX = data?.back ? first.x : (points[0].x + first.x) / 2;
  const labelY = data?.back ? first.y : (points[0].y + first.y) / 2;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} />
      {data?.text ? (
        <EdgeLabelRenderer>
          <div
            className="nodrag nopan"
            style={{
              position: "absolute",
              transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)`,
              background: "white",
              border: "1px solid var(--mantine-color-gray-3)",
              borderRadius: 4,
              padding: "1px 5px",
              fontSize: 11,
              maxWidth: 200,
              textAlign: "center",
              pointerEvents: "none",
            }}
          >
            {data.text}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

function End({ data }: NodeProps<FlowNode<{ label: string }>>) {
  return (
    <div style={{ width: END_W, textAlign: "center" }}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <Badge variant="outline" color="gray.7" size="sm">
        {data.label}
      </Badge>
    </div>
  );
}

const allNodeTypes = { ...nodeTypes, end: End };
const edgeTypes = { routed: Routed };

interface Slot {
  id: string;
  kind: "step" | "end" | "way";
  width: number;
  preds: string[];
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
    const byId = new Map(definition.nodes.map((n) => [n.id, n]));
    const depth = new Map<string, number>();
    layers(definition).forEach((layer, i) => layer.forEach((id) => depth.set(id, i + 1)));
    depth.set("__entry", 0);
    const rows: Slot[][] = [];
    const place = (slot: Slot, d: number) => (rows[d] ??= []).push(slot);
    place({ id: "__entry", kind: "step", width: WIDTH, preds: [] }, 0);
    for (const node of definition.nodes) place({ id: node.id, kind: "step", width: WIDTH, preds: [] }, depth.get(node.id)!);
    type Link = { id: string; source: string; target: string; text: string; points: string[]; back: boolean; dashed: boolean };
    const links: Link[] = [];
    const counts = (node: JourneyNode, branch: string) => {
      const b = analytics?.nodes[node.id]?.branches?.[branch];
      return b && b.taken !== undefined ? `${formatNumber(b.taken)} · ${percent(b.conversionRate)} conv.` : "";
    };
    const connect = (source: string, target: string, text: string, dashed = false) => {
      const from = depth.get(source)!;
      const to = depth.get(target)!;
      const link: Link = { id: `${source}->${target}#${links.length}`, source, target, text, points: [], back: to <= from, dashed };
      for (let d = from + 1; d < to; d++) {
        const way = `__way:${links.length}:${d}`;
        place({ id: way, kind: "way", width: WAY_W, preds: [link.points[link.points.length - 1] ?? source] }, d);
        link.points.push(way);
      }
      const targetSlot = rows[to]?.find((s) => s.id === target);
      if (targetSlot && !link.back) targetSlot.preds.push(link.points[link.points.length - 1] ?? source);
      links.push(link);
    };
    if (byId.has(definition.start)) connect("__entry", definition.start, "");
    for (const node of definition.nodes) {
      for (const [i, edge] of edgesOf(node, true).entries()) {
        const text = [edge.label, counts(node, edge.branch)].filter(Boolean).join(" — ");
        if (edge.target === "") {
          const end = `__end:${node.id}:${i}`;
          depth.set(end, depth.get(node.id)! + 1);
          place({ id: end, kind: "end", width: END_W, preds: [node.id] }, depth.get(end)!);
          connect(node.id, end, text);
        } else if (byId.has(edge.target)) connect(node.id, edge.target, text, edge.branch === "failed");
      }
    }
    // order each row by where its predecessors are (one barycentre pass, top-down), then centre the rows
    const x = new Map<string, number>();
    const widest = Math.max(...rows.filter(Boolean).map((r) => r.reduce((w, s) => w + s.width + GAP_X, -GAP_X)));
    rows.forEach((row, d) => {
      if (!row) return;
      if (d > 0) {
        const key = (s: Slot) => (s.preds.length ? s.preds.reduce((sum, p) => sum + (x.get(p) ?? 0), 0) / s.preds.length : Number.MAX_SAFE_INTEGER);
        row.sort((a, b) => key(a) - key(b));
      }
      const total = row.reduce((w, s) => w + s.width + GAP_X, -GAP_X);
      let left = (widest - total) / 2;
      for (const slot of row) {
        x.set(slot.id, left + slot.width / 2);
        left += slot.width + GAP_X;
      }
    });
    const nodes: FlowNode[] = [];
    rows.forEach((row, d) =>
      row?.forEach((slot) => {
        const position = { x: x.get(slot.id)! - slot.width / 2, y: d * GAP_Y };
        if (slot.kind === "way") return; // only room beside the row for a long edge
        if (slot.kind === "end") nodes.push({ id: slot.id, type: "end", position, data: { label: "End" }, draggable: false, focusable: false });
        else if (slot.id === "__entry")
          nodes.push({
            id: slot.id,
            type: "step",
            position,
            data: { title: "Entry", kind: "trigger", summary: describeTrigger(definition.entry?.trigger), entered: analytics?.journey.entered, errors: errors?.entry } satisfies StepData,
            draggable: false,
          });
        else {
          const node = byId.get(slot.id)!;
          nodes.push({
            id: slot.id,
            type: "step",
            position,
            data: { node, title: node.name || node.id, kind: NODE_TYPES[node.type] ?? node.type, summary: describeNode(node), counts: analytics?.nodes[node.id], errors: errors?.[node.id] } satisfies StepData,
            draggable: false,
          });
        }
      }),
    );
    const edges: FlowEdge[] = links.map((link) => {
      const from = depth.get(link.source)!;
      const points: Point[] = link.back
        ? [
            { x: x.get(link.source)! + WIDTH / 2 + 24, y: from * GAP_Y + NODE_H / 2 },
            { x: x.get(link.target)! + WIDTH / 2 + 24, y: depth.get(link.target)! * GAP_Y + NODE_H / 2 - 30 },
          ]
        : link.points.flatMap((way, i) => [
            { x: x.get(way)!, y: (from + 1 + i) * GAP_Y - 10 },
            { x: x.get(way)!, y: (from + 1 + i) * GAP_Y + NODE_H },
          ]);
      return {
        id: link.id,
        source: link.source,
        target: link.target,
        type: "routed",
        data: { points, text: link.text || undefined, back: link.back },
        markerEnd: { type: MarkerType.ArrowClosed },
        style: link.dashed ? { strokeDasharray: "4 3" } : undefined,
        focusable: false,
      };
    });
    return { nodes, edges };
  }, [definition, analytics, errors]);
  return (
    <div style={{ height, width: "100%", border: "1px solid var(--mantine-color-gray-3)", borderRadius: 8 }} role="figure" aria-label={`Graph of the journey ${definition.name}`}>
      <ReactFlow
        key={definition.nodes.map((n) => n.id).join(" ")} // fitView fits once: a step added or removed fits the graph again
        nodes={nodes}
        edges={edges}
        nodeTypes={allNodeTypes}
        edgeTypes={edgeTypes}
        fitView
        fitViewOptions={{ padding: 0.12, maxZoom: 1 }}
        minZoom={0.2}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        proOptions={{ hideAttribution: true }}
        zoomOnScroll={false}
        preventScrolling={false}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
