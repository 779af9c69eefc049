// Settings: the API keys (write: a public page; server: a site's back-end; admin: everything) — list, create (the
// key shown once, with a copy button), revoke — the sources' settings, and the webhooks journeys call with the
// secret each signs with (a webhook node's `secret`, X-CxM-Signature; docs/journeys.md, "Webhooks").
import { ActionIcon, Alert, Badge, Button, Card, Code, CopyButton, Group, Modal, NativeSelect, Stack, Table, Text, TextInput, Title, Tooltip } from "@mantine/core";
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api } from "../api";
import { ErrorAlert, formatTime, Link, Loaded, PageHeader } from "../components/common";
import type { JourneyDetail, JourneySummary } from "../components/journeys/model";
import { Scroll } from "../components/journeys/Scroll";
import { useAction, useApi } from "../hooks";
import type { PageProps } from "./registry";

interface ApiKey {
  keyId: string;
  role: string;
  sourceId: string;
  name: string;
  createdAt: string;
  revokedAt?: string | null;
}

interface Source {
  sourceId: string;
  mailClaimedAddresses: boolean;
  doubleOptIn: boolean;
  identitySecret: boolean;
  activeKeys: number;
}

const ROLES = [
  { value: "write", label: "Write: a public web page or app sends events (what it says about people is a claim)" },
  { value: "server", label: "Server: your site's back-end (verified identity, may confirm addresses)" },
  { value: "admin", label: "Admin: everything, this console included" },
];

export function SettingsPage(_props: PageProps) {
  return (
    <>
      <PageHeader title="Settings" description="API keys for your sites and back-ends, and the webhooks your journeys call." />
      <Stack gap="xl">
        <Keys />
        <Webhooks />
      </Stack>
    </>
  );
}

function Copy({ value, label }: { value: string; label: string }) {
  return (
    <CopyButton value={value}>
      {({ copied, copy }) => (
        <Button size="xs" variant="default" onClick={copy} aria-label={label}>
          {copied ? "Copied ✓" : "Copy"}
        </Button>
      )}
    </CopyButton>
  );
}

function Keys() {
  const keys = useApi<{ keys: ApiKey[] }>("/v1/keys");
  const sources = useApi<{ sources: Source[] }>("/v1/keys/sources");
  const [role, setRole] = useState("write");
  const [sourceId, setSourceId] = useState("");
  const [name, setName] = useState("");
  const [created, setCreated] = useState<ApiKey & { key: string }>();
  const [showRevoked, setShowRevoked] = useState(false);
  useEffect(() => {
    if (!sourceId && sources.data?.sources[0]) setSourceId(sources.data.sources[0].sourceId);
  }, [sources.data, sourceId]);
  const create = useAction(
    useCallback(async () => {
      const answer = await api.post<ApiKey & { key: string }>("/v1/keys", { role, sourceId: sourceId.trim(), name: name.trim() });
      setCreated(answer);
      setName("");
      keys.reload();
      sources.reload();
      return answer;
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [role, sourceId, name]),
  );
  const revoke = useAction(
    useCallback(async (key: ApiKey) => {
      const answer = await api.delete<ApiKey>(`/v1/keys/${key.keyId}`);
      keys.reload();
      sources.reload();
      return answer;
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, []),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run();
  };
  return (
    <section aria-labelledby="keys-title">
      <Title order={2} size="h3" id="keys-title" mb="xs">
        API keys
      </Title>
      <Loaded state={keys}>
        {(data) => {
          const shown = data.keys.filter((k) => showRevoked || !k.revokedAt);
          const revoked = data.keys.length - data.keys.filter((k) => !k.revokedAt).length;
          return (
            <Card withBorder p={0} mb="md">
              <Group p="sm" justify="space-between">
                <Text size="sm" c="dimmed">
                  {data.keys.length - revoked} active{revoked ? `, ${revoked} revoked` : ""}
                </Text>
                {revoked ? (
                  <Button size="xs" variant="subtle" onClick={() => setShowRevoked(!showRevoked)}>
                    {showRevoked ? "Hide revoked keys" : "Show revoked keys"}
                  </Button>
                ) : null}
              </Group>
              <ErrorAlert error={revoke.error} title="The key was not revoked" />
              <Scroll minWidth={720}>
                <Table striped id="keys-table">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Name</Table.Th>
                      <Table.Th>Role</Table.Th>
                      <Table.Th>Source</Table.Th>
                      <Table.Th>Key id</Table.Th>
                      <Table.Th>Created</Table.Th>
                      <Table.Th>State</Table.Th>
                      <Table.Th />
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {shown.map((k) => (
                      <Table.Tr key={k.keyId}>
                        <Table.Td>{k.name}</Table.Td>
                        <Table.Td>
                          <Badge variant="dot" color={k.role === "admin" ? "red" : k.role === "server" ? "orange" : "blue"}>
                            {k.role}
                          </Badge>
                        </Table.Td>
                        <Table.Td>{k.sourceId}</Table.Td>
                        <Table.Td>
                          <Code>{k.keyId}</Code>
                        </Table.Td>
                        <Table.Td>{formatTime(k.createdAt)}</Table.Td>
                        <Table.Td>{k.revokedAt ? `revoked ${formatTime(k.revokedAt)}` : "active"}</Table.Td>
                        <Table.Td>
                          {k.revokedAt ? null : (
                            <Button
                              size="xs"
                              color="red"
                              variant="subtle"
                              aria-label={`Revoke the key ${k.name} (${k.keyId})`}
                              loading={revoke.running}
                              onClick={() => {
                                if (window.confirm(`Revoke “${k.name}”? Everything using it is refused within a minute.`)) void revoke.run(k);
                              }}
                            >
                              Revoke
                            </Button>
                          )}
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Scroll>
            </Card>
          );
        }}
      </Loaded>
      <Card withBorder component="form" onSubmit={submit} maw={760}>
        <Text fw={600} mb="xs">
          Create a key
        </Text>
        <ErrorAlert error={create.error} title="The key was not created" />
        <Stack gap="xs">
          <NativeSelect id="key-role" label="Role" value={role} data={ROLES} onChange={(e) => setRole(e.currentTarget.value)} />
          <Group grow align="flex-start">
            <TextInput id="key-source" label="Source (the site or app)" description="e.g. web-shop; a new name makes a new source" value={sourceId} onChange={(e) => setSourceId(e.currentTarget.value)} required />
            <TextInput id="key-name" label="Name" description="What it is for, e.g. “shop front-end”" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          </Group>
          <Group>
            <Button type="submit" loading={create.running}>
              Create key
            </Button>
          </Group>
        </Stack>
      </Card>
      <Loaded state={sources}>
        {(data) =>
          data.sources.length ? (
            <Card withBorder p={0} mt="md">
              <Text fw={600} p="sm" pb={0}>
                Sources
              </Text>
              <Scroll minWidth={640}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Source</Table.Th>
                      <Table.Th>Active keys</Table.Th>
                      <Table.Th>Identity secret</Table.Th>
                      <Table.Th>Mails claimed addresses</Table.Th>
                      <Table.Th>Double opt-in</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {data.sources.map((s) => (
                      <Table.Tr key={s.sourceId}>
                        <Table.Td>{s.sourceId}</Table.Td>
                        <Table.Td>{s.activeKeys}</Table.Td>
                        <Table.Td>{s.identitySecret ? "yes" : "no"}</Table.Td>
                        <Table.Td>{s.mailClaimedAddresses ? "yes" : "no"}</Table.Td>
                        <Table.Td>{s.doubleOptIn ? "yes" : "no"}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Scroll>
            </Card>
          ) : null
        }
      </Loaded>
      <Modal opened={Boolean(created)} onClose={() => setCreated(undefined)} title="Your new key" size="lg" closeButtonProps={{ "aria-label": "Close" }}>
        {created ? (
          <Stack>
            <Alert color="yellow" title="Copy it now">
              This is the only time the key is shown: only a hash of it is kept.
            </Alert>
            <Group wrap="nowrap">
              <Code block style={{ flex: 1, wordBreak: "break-all", whiteSpace: "pre-wrap" }} id="created-key">
                {created.key}
              </Code>
              <Copy value={created.key} label="Copy the new key" />
            </Group>
            <Text size="sm">
              {created.role} key “{created.name}” for {created.sourceId} (key id <Code>{created.keyId}</Code>).
            </Text>
            <Group justify="flex-end">
              <Button onClick={() => setCreated(undefined)}>I have copied it</Button>
            </Group>
          </Stack>
        ) : null}
      </Modal>
    </section>
  );
}

interface Hook {
  journeyId: string;
  journey: string;
  status: string;
  node: string;
  name: string;
  url: string;
  secret: string;
}

function Secret({ value, label }: { value: string; label: string }) {
  const [shown, setShown] = useState(false);
  return (
    <Group gap={4} wrap="nowrap">
      <Code>{shown ? value : `${value.slice(0, 6)}${"•".repeat(10)}`}</Code>
      <Tooltip label={shown ? "Hide" : "Show"}>
        <ActionIcon variant="subtle" size="sm" aria-label={`${shown ? "Hide" : "Show"} ${label}`} onClick={() => setShown(!shown)}>
          {shown ? "◉" : "○"}
        </ActionIcon>
      </Tooltip>
      <Copy value={value} label={`Copy ${label}`} />
    </Group>
  );
}

function Webhooks() {
  const [hooks, setHooks] = useState<Hook[]>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    let live = true;
    (async () => {
      const list = await api.get<{ journeys: JourneySummary[] }>("/v1/journeys");
      const details = await Promise.all(list.journeys.map((j) => api.get<JourneyDetail>(`/v1/journeys/${j.journeyId}`)));
      const found: Hook[] = [];
      for (const j of details) {
        for (const definition of [j.definition, j.draft]) {
          for (const node of definition?.nodes ?? []) {
            if (node.type !== "webhook" || found.some((h) => h.journeyId === j.journeyId && h.node === node.id)) continue;
            found.push({ journeyId: j.journeyId, journey: j.name, status: j.status, node: node.id, name: node.name || node.id, url: String(node.url ?? ""), secret: String(node.secret ?? "") });
          }
        }
      }
      if (live) setHooks(found);
    })().catch((failed: Error) => live && setError(failed));
    return () => {
      live = false;
    };
  }, []);
  return (
    <section aria-labelledby="webhooks-title">
      <Title order={2} size="h3" id="webhooks-title" mb={4}>
        Webhooks
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        Journeys' webhook steps POST signed JSON to these URLs. A receiver checks <Code>X-CxM-Signature</Code> (HMAC-SHA256 of the timestamp and body) with the step's secret; see docs/journeys.md, “Webhooks”.
      </Text>
      <Loaded state={{ data: hooks, error, loading: hooks === undefined }}>
        {(list) =>
          list.length === 0 ? (
            <Text c="dimmed">No journey calls a webhook. Add a webhook step to a journey to hand people over to a CRM or another system.</Text>
          ) : (
            <Scroll minWidth={760}>
              <Table striped id="webhooks-table">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Journey</Table.Th>
                    <Table.Th>Step</Table.Th>
                    <Table.Th>URL</Table.Th>
                    <Table.Th>Signing secret</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.map((h) => (
                    <Table.Tr key={`${h.journeyId}-${h.node}`}>
                      <Table.Td>
                        <Link to={`/journeys/${h.journeyId}`}>{h.journey}</Link>{" "}
                        <Text span size="xs" c="dimmed">
                          ({h.status})
                        </Text>
                      </Table.Td>
                      <Table.Td>{h.name}</Table.Td>
                      <Table.Td style={{ wordBreak: "break-all" }}>{h.url}</Table.Td>
                      <Table.Td>{h.secret ? <Secret value={h.secret} label={`the secret of ${h.journey}: ${h.name}`} /> : <Text size="sm" c="dimmed">generated at publish</Text>}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Scroll>
          )
        }
      </Loaded>
    </section>
  );
}
