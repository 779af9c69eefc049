// Imports and privacy: upload a CSV of contacts (in parts when it is big), follow the job to its result (counts,
// rejected rows with their reasons); look up an address on the suppression list and take it off.
import { Alert, Badge, Button, Card, FileInput, Group, Progress, SimpleGrid, Stack, Table, Text, TextInput, Title, VisuallyHidden } from "@mantine/core";
import { useEffect, useState, type FormEvent } from "react";

import { api, query, request } from "../api";
import { ErrorAlert, PageHeader, formatNumber, formatTime } from "../components/common";
import { Figure, Section } from "../components/insights/cards";
import { useAction } from "../hooks";
import type { PageProps } from "./registry";
import { Scroll } from "../components/tables";

interface ImportJob {
  importId: string;
  status: string;
  name: string;
  createdAt: string | null;
  rows: number;
  processed: number;
  chunks: number;
  chunksDone: number;
  created?: number;
  updated?: number;
  unchanged?: number;
  rejected?: number;
  rejectedRows: { row: number; reasons: string[]; values: Record<string, string> }[];
  nextRejectedAfter: number | null;
}

const SINGLE_UPLOAD = 4 * 1024 * 1024; // the API takes a body up to 4 MB at once
const PART = 1024 * 1024;
const FINISHED = ["done", "completed", "failed"];

/** A big CSV in parts of about 1 MB, each with the header, cut at line ends; with each part's first row number. */
function parts(text: string): { body: string; firstRow: number }[] {
  const newline = text.indexOf("\n");
  const header = text.slice(0, newline + 1);
  const out: { body: string; firstRow: number }[] = [];
  let at = newline + 1;
  let row = 1;
  while (at < text.length) {
    let end = Math.min(text.length, at + PART);
    if (end < text.length) end = text.indexOf("\n", end) + 1 || text.length;
    const chunk = text.slice(at, end);
    out.push({ body: header + chunk, firstRow: row });
    row += chunk.split("\n").filter((l) => l.trim()).length;
    at = end;
  }
  return out;
}

export function ImportsPage(_props: PageProps) {
  return (
    <>
      <PageHeader title="Imports & privacy" description="Bring contacts in from a CSV file, and manage the addresses that must never be mailed." />
      <Stack gap="md">
        <ImportSection />
        <SuppressionSection />
      </Stack>
    </>
  );
}

function ImportSection() {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [uploaded, setUploaded] = useState<{ done: number; total: number } | null>(null);
  const [job, setJob] = useState<ImportJob | null>(null);
  const upload = useAction(async () => {
    if (!file) return;
    setJob(null);
    const label = name.trim() || file.name.replace(/\.[^.]+$/, "");
    const format = /\.(jsonl|ndjson)$/i.test(file.name) ? "jsonl" : "csv";
    const type = format === "csv" ? "text/csv" : "application/x-ndjson";
    const text = await file.text();
    if (file.size <= SINGLE_UPLOAD || format !== "csv") {
      setUploaded({ done: 0, total: 1 });
      const started = await request<ImportJob>("POST", `/v1/imports${query({ name: label, format })}`, text, { contentType: type });
      setUploaded({ done: 1, total: 1 });
      setJob(started);
      return;
    }
    const pieces = parts(text);
    setUploaded({ done: 0, total: pieces.length });
    const created = await api.post<ImportJob>(`/v1/imports${query({ name: label })}`, { format: "csv" });
    for (const [index, piece] of pieces.entries()) {
      await request("PUT", `/v1/imports/${encodeURIComponent(created.importId)}/parts/${index + 1}${query({ firstRow: piece.firstRow })}`, piece.body, { contentType: type });
      setUploaded({ done: index + 1, total: pieces.length });
    }
    setJob(await api.post<ImportJob>(`/v1/imports/${encodeURIComponent(created.importId)}/start`));
  });
  const running = job !== null && !FINISHED.includes(job.status);
  useEffect(() => {
    if (!job || !running) return;
    const timer = setTimeout(() => {
      api
        .get<ImportJob>(`/v1/imports/${encodeURIComponent(job.importId)}${query({ limit: 100 })}`)
        .then(setJob)
        .catch(() => setJob({ ...job })); // try again at the next tick
    }, 1000);
    return () => clearTimeout(timer);
  }, [job, running]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void upload.run();
  };
  return (
    <Section
      title="Import contacts"
      description={
        <>
          A CSV file with a header row. <code>email</code> is required (importing the same file again changes nothing); <code>userId</code>, <code>consent.&lt;purpose&gt;</code>{" "}
          (yes/no) and any other column become the contact's traits.
        </>
      }
    >
      <form onSubmit={submit} aria-label="Import contacts">
        <Group align="flex-end" gap="sm" wrap="wrap">
          <FileInput
            label="CSV file"
            accept=".csv,text/csv,.jsonl,application/x-ndjson"
            value={file}
            onChange={setFile}
            style={{ flex: "1 1 260px" }}
            name="file"
          />
          <TextInput label="Import name" description="Optional, to recognise it later" placeholder="crm-export" value={name} onChange={(e) => setName(e.currentTarget.value)} w={220} />
          <Button type="submit" disabled={!file} loading={upload.running}>
            Import
          </Button>
        </Group>
      </form>
      <ErrorAlert error={upload.error} title="The file was not imported" />
      {uploaded && (upload.running || uploaded.total > 1) ? (
        <Stack gap={4} mt="md">
          <Text size="sm">
            Uploading: {uploaded.done} of {uploaded.total} part{uploaded.total === 1 ? "" : "s"}
          </Text>
          <Progress value={(100 * uploaded.done) / uploaded.total} aria-label="Upload progress" />
        </Stack>
      ) : null}
      {job ? <ImportResult job={job} /> : null}
    </Section>
  );
}

function ImportResult({ job }: { job: ImportJob }) {
  const finished = FINISHED.includes(job.status);
  const percent = job.rows ? Math.round((100 * job.processed) / job.rows) : finished ? 100 : 0;
  return (
    <Card withBorder radius="md" padding="md" mt="md" data-import-status={job.status} aria-label="Import result" component="section">
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          {job.name}
        </Title>
        <Badge color={job.status === "failed" ? "red.9" : finished ? "teal.9" : "blue.9"} variant="light" autoContrast>
          {finished ? (job.status === "failed" ? "Failed" : "Finished") : "Importing…"}
        </Badge>
      </Group>
      <Text size="sm" mb="xs">
        {formatNumber(job.processed)} of {formatNumber(job.rows)} rows processed{job.createdAt ? `, started ${formatTime(job.createdAt)}` : ""}.
      </Text>
      <Progress value={percent} aria-label="Import progress" mb="md" color={finished ? "teal" : "blue"} />
      <SimpleGrid cols={{ base: 2, sm: 4 }}>
        <Figure label="New contacts" value={job.created ?? 0} />
        <Figure label="Updated" value={job.updated ?? 0} />
        <Figure label="Unchanged" value={job.unchanged ?? 0} />
        <Figure label="Rejected" value={job.rejected ?? job.rejectedRows.length} />
      </SimpleGrid>
      {job.rejectedRows.length > 0 ? (
        <Stack gap="xs" mt="md">
          <Title order={4} size="h6">
            Rejected rows
          </Title>
          <Scroll minWidth={480} label="Rejected rows">
            <Table verticalSpacing={6} data-testid="rejected">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Row</Table.Th>
                  <Table.Th scope="col">Email</Table.Th>
                  <Table.Th scope="col">Why</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {job.rejectedRows.map((r) => (
                  <Table.Tr key={r.row}>
                    <Table.Td>{r.row}</Table.Td>
                    <Table.Td>{r.values.email ?? "–"}</Table.Td>
                    <Table.Td>{r.reasons.join("; ")}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Scroll>
          {job.nextRejectedAfter ? (
            <Text size="xs" c="dimmed">
              Only the first {job.rejectedRows.length} rejected rows are shown.
            </Text>
          ) : null}
        </Stack>
      ) : finished ? (
        <Text size="sm" mt="md">
          Every row was accepted.
        </Text>
      ) : null}
    </Card>
  );
}

interface SuppressionEntry {
  email: string;
  reason: string;
  at: string;
}

/** The suppression list itself, newest first, a page at a time; each address can be taken off. */
function SuppressionList({ changed, onRemoved }: { changed: number; onRemoved: (email: string) => void }) {
  const [entries, setEntries] = useState<SuppressionEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const load = useAction(async (cursor: string | null) => {
    const page = await api.get<{ suppressions: SuppressionEntry[]; next: string | null }>(`/v1/privacy/suppressions${query({ limit: 25, cursor: cursor ?? undefined })}`);
    setEntries((before) => (cursor ? [...before, ...page.suppressions] : page.suppressions));
    setNext(page.next);
    setLoaded(true);
  });
  const remove = useAction(async (address: string) => {
    await api.delete(`/v1/privacy/suppressions/${encodeURIComponent(address)}`);
    setEntries((before) => before.filter((e) => e.email !== address));
    onRemoved(address);
  });
  useEffect(() => {
    void load.run(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [changed]);
  if (!loaded) return <ErrorAlert error={load.error} />;
  return (
    <Stack gap="xs" mt="md">
      <ErrorAlert error={load.error ?? remove.error} />
      {entries.length === 0 ? (
        <Text size="sm" c="dimmed" data-testid="suppressions-empty">
          No address is on the suppression list.
        </Text>
      ) : (
        <Scroll minWidth={520} label="Suppressed addresses">
          <Table striped aria-label="Suppressed addresses" data-testid="suppressions">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Address</Table.Th>
                <Table.Th>Why</Table.Th>
                <Table.Th>Since</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {entries.map((entry) => (
                <Table.Tr key={entry.email} data-email={entry.email}>
                  <Table.Td>{entry.email}</Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={entry.reason === "complaint" ? "red.9" : "orange.9"}>
                      {entry.reason}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{formatTime(entry.at)}</Table.Td>
                  <Table.Td>
                    <Button size="compact-xs" variant="default" data-remove={entry.email} onClick={() => void remove.run(entry.email)}>
                      Take off<VisuallyHidden> {entry.email}</VisuallyHidden>
                    </Button>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Scroll>
      )}
      {next ? (
        <Group>
          <Button variant="default" size="xs" loading={load.running} onClick={() => void load.run(next)}>
            Show more
          </Button>
        </Group>
      ) : null}
    </Stack>
  );
}

function SuppressionSection() {
  const [changed, setChanged] = useState(0);
  const [email, setEmail] = useState("");
  const [answer, setAnswer] = useState<{ email: string; suppressed: boolean; removed?: boolean } | null>(null);
  const lookUp = useAction(async () => {
    setAnswer(await api.get<{ email: string; suppressed: boolean }>(`/v1/privacy/suppressions/${encodeURIComponent(email.trim())}`));
  });
  const remove = useAction(async () => {
    if (!answer) return;
    const after = await api.delete<{ email: string; suppressed: boolean }>(`/v1/privacy/suppressions/${encodeURIComponent(answer.email)}`);
    setAnswer({ ...after, removed: true });
    setChanged((n) => n + 1);
  });
  return (
    <Section title="Suppression list" description="Addresses that bounced for good or marked an email as spam are never mailed again (an unsubscribe is a consent, on the person's profile). Look one up, and take it off the list if the person asked to receive mail again.">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void lookUp.run();
        }}
        aria-label="Look up an address"
      >
        <Group align="flex-end" gap="sm" wrap="wrap">
          <TextInput label="Email address" type="email" name="suppression-email" placeholder="someone@example.com" value={email} onChange={(e) => setEmail(e.currentTarget.value)} required style={{ flex: "1 1 260px" }} />
          <Button type="submit" variant="default" loading={lookUp.running}>
            Look up
          </Button>
        </Group>
      </form>
      <ErrorAlert error={lookUp.error ?? remove.error} />
      {answer ? (
        <Alert mt="md" color="gray" title={answer.suppressed ? "Suppressed" : answer.removed ? "Taken off the list" : "Not suppressed"} data-suppressed={String(answer.suppressed)}>
          <Stack gap="xs">
            <Text size="sm">
              {answer.suppressed
                ? `${answer.email} is on the suppression list: no email goes to it.`
                : answer.removed
                  ? `${answer.email} may be mailed again.`
                  : `${answer.email} is not on the suppression list.`}
            </Text>
            {answer.suppressed ? (
              <Group>
                <Button color="orange.9" size="xs" onClick={() => void remove.run()} loading={remove.running}>
                  Take off the list
                </Button>
              </Group>
            ) : null}
          </Stack>
        </Alert>
      ) : null}
      <SuppressionList changed={changed} onRemoved={(address) => setAnswer((before) => (before && before.email === address ? { ...before, suppressed: false, removed: true } : before))} />
    </Section>
  );
}
