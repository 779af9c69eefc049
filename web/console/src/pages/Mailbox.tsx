// The local cloud's mailbox: every email it "sent" (journeys, test sends, confirmations), and one message with its
// rendered HTML in a sandboxed frame (no scripts, no same-origin access), its headers and its tracked links.
import { Anchor, Badge, Button, Card, Code, Grid, Group, ScrollArea, Stack, Table, Tabs, Text, TextInput, Title, UnstyledButton } from "@mantine/core";
import { useState, type FormEvent } from "react";

import { query } from "../api";
import { formatTime, Loaded, PageHeader } from "../components/common";
import { Scroll } from "../components/journeys/Scroll";
import { useApi } from "../hooks";
import { currentQuery } from "../router";
import type { PageProps } from "./registry";

export interface MailMessage {
  id: string;
  sentAt?: string | null;
  timestamp?: string | null;
  from: string;
  to: string[] | string;
  subject: string;
  headers?: Record<string, string>;
  html?: string;
  text?: string;
  trackedLinks?: string[];
  links?: string[];
  template?: string;
}

const recipients = (m: MailMessage) => (Array.isArray(m.to) ? m.to.join(", ") : m.to);

export function MailboxPage(_props: PageProps) {
  const [to, setTo] = useState(() => currentQuery().get("to") ?? "");
  const [filter, setFilter] = useState(to);
  const mailbox = useApi<{ messages: MailMessage[] }>(`/_local/mailbox${query({ limit: 100, to: filter })}`);
  const [selected, setSelected] = useState<string | null>(() => currentQuery().get("id"));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFilter(to.trim());
  };
  return (
    <>
      <PageHeader
        title="Mailbox"
        description="Every email the local cloud sent: nothing leaves this machine."
        actions={
          <Button variant="default" onClick={mailbox.reload} loading={mailbox.loading}>
            Refresh
          </Button>
        }
      />
      <form onSubmit={submit}>
        <Group align="flex-end" mb="md" gap="xs">
          <TextInput id="mailbox-to" label="To" placeholder="someone@example.com" value={to} onChange={(e) => setTo(e.currentTarget.value)} w={280} />
          <Button type="submit" variant="default">
            Filter
          </Button>
          {filter ? (
            <Button variant="subtle" onClick={() => (setTo(""), setFilter(""))}>
              Show all
            </Button>
          ) : null}
        </Group>
      </form>
      <Loaded state={mailbox}>
        {(data) => {
          if (data.messages.length === 0)
            return <Text c="dimmed">{filter ? `Nothing sent to ${filter}.` : "Nothing sent yet. Emails from journeys and test sends appear here; fast-forward the virtual clock to make waiting journeys send."}</Text>;
          const current = data.messages.find((m) => m.id === selected);
          return (
            <Grid gap="md">
              <Grid.Col span={{ base: 12, md: 5 }}>
                <Card withBorder p={0}>
                  <ScrollArea.Autosize mah={720}>
                    <Stack gap={0} component="ul" style={{ listStyle: "none", margin: 0, padding: 0 }} aria-label="Messages">
                      {data.messages.map((m) => (
                        <li key={m.id}>
                          <UnstyledButton
                            onClick={() => setSelected(m.id)}
                            p="sm"
                            w="100%"
                            aria-current={m.id === selected ? "true" : undefined}
                            data-message={m.id}
                            style={{ borderBottom: "1px solid var(--mantine-color-gray-2)", background: m.id === selected ? "var(--mantine-color-indigo-0)" : undefined }}
                          >
                            <Group justify="space-between" wrap="nowrap" gap="xs">
                              <Text size="sm" fw={600} truncate>
                                {m.subject || "(no subject)"}
                              </Text>
                              <Text size="xs" c="dimmed" style={{ flexShrink: 0 }}>
                                {formatTime(m.sentAt ?? m.timestamp)}
                              </Text>
                            </Group>
                            <Text size="xs" c="dimmed" truncate>
                              to {recipients(m)}
                            </Text>
                          </UnstyledButton>
                        </li>
                      ))}
                    </Stack>
                  </ScrollArea.Autosize>
                </Card>
              </Grid.Col>
              <Grid.Col span={{ base: 12, md: 7 }}>{current ? <Message message={current} /> : <Text c="dimmed">Choose a message to read it.</Text>}</Grid.Col>
            </Grid>
          );
        }}
      </Loaded>
    </>
  );
}

export function Message({ message }: { message: MailMessage }) {
  const links = message.trackedLinks ?? message.links ?? [];
  const headers = Object.entries(message.headers ?? {});
  return (
    <Card withBorder id="mail-message">
      <Title order={2} size="h4" mb={4}>
        {message.subject || "(no subject)"}
      </Title>
      <Text size="sm">
        From {message.from} to {recipients(message)}
      </Text>
      <Group gap="xs" mb="sm">
        <Text size="xs" c="dimmed">
          {formatTime(message.sentAt ?? message.timestamp)}
        </Text>
        {message.template ? (
          <Badge size="xs" variant="light">
            template {message.template}
          </Badge>
        ) : null}
      </Group>
      <Tabs defaultValue={message.html ? "html" : "text"}>
        <Tabs.List>
          <Tabs.Tab value="html" disabled={!message.html}>
            Rendered
          </Tabs.Tab>
          <Tabs.Tab value="text">Text</Tabs.Tab>
          <Tabs.Tab value="headers">Headers ({headers.length})</Tabs.Tab>
          <Tabs.Tab value="links">Tracked links ({links.length})</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="html" pt="sm">
          <iframe title={`Email: ${message.subject}`} sandbox="" srcDoc={message.html ?? ""} style={{ width: "100%", height: 480, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4, background: "white" }} />
        </Tabs.Panel>
        <Tabs.Panel value="text" pt="sm">
          <Code block style={{ whiteSpace: "pre-wrap" }}>
            {message.text || "(no text part)"}
          </Code>
        </Tabs.Panel>
        <Tabs.Panel value="headers" pt="sm">
          <Scroll minWidth={400}>
            <Table>
              <Table.Tbody>
                {headers.map(([name, value]) => (
                  <Table.Tr key={name}>
                    <Table.Th style={{ whiteSpace: "nowrap", verticalAlign: "top" }}>{name}</Table.Th>
                    <Table.Td style={{ wordBreak: "break-all" }}>{value}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Scroll>
        </Tabs.Panel>
        <Tabs.Panel value="links" pt="sm">
          {links.length === 0 ? (
            <Text size="sm" c="dimmed">
              No tracked links in this email.
            </Text>
          ) : (
            <><Text size="xs" c="dimmed" mb={4}>Each link goes through the click tracker: opening one records a click for the recipient.</Text><Stack gap={4} component="ol" style={{ paddingLeft: "1.2rem", margin: 0 }}>
              {links.map((link) => (
                <li key={link}>
                  <Anchor href={link} target="_blank" rel="noreferrer" size="sm" style={{ wordBreak: "break-all" }}>
                    {link}
                  </Anchor>
                </li>
              ))}
            </Stack></>
          )}
        </Tabs.Panel>
      </Tabs>
    </Card>
  );
}
