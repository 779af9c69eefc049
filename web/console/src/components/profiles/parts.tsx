// Pieces of the profile page: key/value tables, the paged timeline, the merge log with undo.
import { Badge, Button, Group, Select, Stack, Table, Text, VisuallyHidden } from "@mantine/core";
import { useCallback, useEffect, useState } from "react";

import { api, query } from "../../api";
import { ErrorAlert, Loading, formatTime } from "../common";
import { Scroll } from "../tables";

/** A value as a marketer reads it: text as is, lists joined, objects as compact JSON. */
export function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.length ? value.map(show).join(", ") : "–";
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length ? entries.map(([k, v]) => `${k}: ${show(v)}`).join(", ") : "–";
  }
  return String(value);
}

export function KeyValues({ values, empty }: { values: Record<string, unknown>; empty: string }) {
  const entries = Object.entries(values);
  if (entries.length === 0)
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  return (
    <Scroll minWidth={280} label="Values">
      <Table striped withRowBorders={false} verticalSpacing={4}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Name</Table.Th>
            <Table.Th scope="col">Value</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {entries.map(([name, value]) => (
            <Table.Tr key={name}>
              <Table.Td>
                <Text size="sm" fw={500}>
                  {name}
                </Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm" style={{ wordBreak: "break-word" }}>
                  {show(value)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Scroll>
  );
}

export interface Activity {
  messageId: string;
  type: string;
  timestamp: string;
  name?: string;
  event?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

const TYPES = [
  { value: "", label: "All activity" },
  { value: "page", label: "Page views" },
  { value: "track", label: "Events" },
  { value: "identify", label: "Identifies" },
  { value: "screen", label: "Screens" },
];

const COLORS: Record<string, string> = { page: "blue", track: "grape", identify: "teal", screen: "cyan", alias: "orange", group: "yellow" };

function headline(item: Activity): string {
  if (item.type === "track") return item.event ?? "Event";
  if (item.type === "page" || item.type === "screen") return String(item.properties?.path ?? item.name ?? item.properties?.url ?? "Page");
  if (item.type === "identify") return `Identified${item.traits && Object.keys(item.traits).length ? ": " + Object.keys(item.traits).join(", ") : ""}`;
  return item.type;
}

function details(item: Activity): string {
  const props = { ...(item.properties ?? {}) };
  if (item.type === "page") delete props.path;
  const text = show(props);
  return text === "–" ? "" : text;
}

/** The profile's activity, newest first, a page at a time ("Show more" follows the cursor). */
export function Timeline({ profileId }: { profileId: string }) {
  const [type, setType] = useState("");
  const [items, setItems] = useState<Activity[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error>();
  const load = useCallback(
    (cursor: string | null, kind: string) => {
      setLoading(true);
      return api
        .get<{ items: Activity[]; next: string | null }>(`/v1/profiles/${encodeURIComponent(profileId)}/timeline${query({ limit: 20, cursor, type: kind })}`)
        .then((page) => {
          setItems((before) => (cursor ? [...before, ...page.items] : page.items));
          setNext(page.next);
          setError(undefined);
        })
        .catch((failed: Error) => setError(failed))
        .finally(() => setLoading(false));
    },
    [profileId],
  );
  useEffect(() => {
    void load(null, type);
  }, [load, type]);
  return (
    <Stack gap="sm">
      <Select label="Show" data={TYPES} value={type} onChange={(v) => setType(v ?? "")} allowDeselect={false} w={220} />
      <ErrorAlert error={error} />
      {items.length === 0 && !loading ? (
        <Text size="sm" c="dimmed">
          No activity of this kind recorded.
        </Text>
      ) : null}
      {items.length > 0 ? (
        <Scroll minWidth={520} label="Activity">
          <Table verticalSpacing="xs" data-testid="timeline">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">When</Table.Th>
                <Table.Th scope="col">Kind</Table.Th>
                <Table.Th scope="col">What</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((item, index) => (
                <Table.Tr key={`${item.messageId}-${index}`}>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>
                    <Text size="sm">{formatTime(item.timestamp)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="outline" color={`${COLORS[item.type] ?? "gray"}.9`}>
                      {item.type}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {headline(item)}
                    </Text>
                    {details(item) ? (
                      <Text size="xs" c="dimmed" style={{ wordBreak: "break-word" }}>
                        {details(item)}
                      </Text>
                    ) : null}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Scroll>
      ) : null}
      {loading ? <Loading label="Loading activity…" /> : null}
      {next && !loading ? (
        <Group>
          <Button variant="default" onClick={() => void load(next, type)}>
            Show older activity
          </Button>
        </Group>
      ) : null}
    </Stack>
  );
}

export interface Merge {
  mergeId: string;
  mergedProfileId: string;
  reason?: string;
  at: string;
  status: string;
  undoneAt: string | null;
  changed?: unknown;
}

export function Merges({ merges, onUndo, undoing }: { merges: Merge[]; onUndo: (merge: Merge) => void; undoing: string | null }) {
  if (merges.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No other profile was merged into this one.
      </Text>
    );
  return (
    <Scroll minWidth={480} label="Merges">
      <Table verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">When</Table.Th>
            <Table.Th scope="col">Merged profile</Table.Th>
            <Table.Th scope="col">Why</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {merges.map((merge) => (
            <Table.Tr key={merge.mergeId}>
              <Table.Td>{formatTime(merge.at)}</Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {merge.mergedProfileId}
                </Text>
              </Table.Td>
              <Table.Td>{merge.reason ?? "–"}</Table.Td>
              <Table.Td>{merge.undoneAt ? `undone ${formatTime(merge.undoneAt)}` : merge.status}</Table.Td>
              <Table.Td>
                {merge.undoneAt ? null : (
                  <Button size="xs" variant="default" loading={undoing === merge.mergeId} onClick={() => onUndo(merge)}>
                    Undo merge
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Scroll>
  );
}
