// Profiles: find a person (by email, user id, anonymous id or a trait's value) and see everything about them —
// identities, traits, consent, activity, segments and scores, journeys, merges — export it or erase it.
import { Alert, Badge, Button, Card, Grid, Group, Modal, SegmentedControl, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useState, type FormEvent, type ReactNode } from "react";

import { Problem, api, query } from "../api";
import { ErrorAlert, Link, Loaded, PageHeader, formatNumber, formatTime } from "../components/common";
import { KeyValues, Merges, Timeline, show, type Merge } from "../components/profiles/parts";
import { useAction, useApi } from "../hooks";
import { currentQuery, navigate } from "../router";
import type { PageProps } from "./registry";
import { Scroll } from "../components/tables";

interface Identities {
  anonymousIds?: string[];
  userIds?: string[];
  emails?: string[];
  deviceIds?: string[];
}

interface Profile {
  profileId: string;
  createdAt: string;
  identities: Identities;
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
  consent: Record<string, unknown>;
  mergedFrom: string[];
}

type Kind = "email" | "userId" | "anonymousId" | "trait";

const KINDS: { value: Kind; label: string; placeholder: string }[] = [
  { value: "email", label: "Email", placeholder: "ada@example.com" },
  { value: "userId", label: "User id", placeholder: "user-123" },
  { value: "anonymousId", label: "Anonymous id", placeholder: "the cookie id of a visitor" },
  { value: "trait", label: "Trait", placeholder: "" },
];

interface Found {
  profileId: string;
  traits: Record<string, unknown>;
}

export function displayName(traits: Record<string, unknown>, fallback = "Anonymous visitor"): string {
  const name = [traits.firstName, traits.lastName].filter((v) => typeof v === "string" && v).join(" ");
  if (name) return name;
  if (typeof traits.name === "string" && traits.name) return traits.name;
  if (typeof traits.email === "string" && traits.email) return traits.email;
  return fallback;
}

export function ProfilesPage(_props: PageProps) {
  const initial = currentQuery();
  const [kind, setKind] = useState<Kind>("email");
  const [value, setValue] = useState(initial.get("email") ?? "");
  const [trait, setTrait] = useState("");
  const [results, setResults] = useState<Found[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [notFound, setNotFound] = useState<string | null>(null);
  const search = useAction(async (cursor: string | null) => {
    setNotFound(null);
    if (kind === "trait") {
      const page = await api.get<{ profiles: Found[]; next: string | null }>(`/v1/profiles/search${query({ trait: trait.trim(), value: value.trim(), limit: 25, cursor })}`);
      setResults((before) => (cursor && before ? [...before, ...page.profiles] : page.profiles));
      setNext(page.next);
      return;
    }
    try {
      const profile = await api.get<Profile>(`/v1/profiles${query({ [kind]: value.trim() })}`);
      setResults([{ profileId: profile.profileId, traits: profile.traits }]);
    } catch (failed) {
      if (failed instanceof Problem && failed.status === 404) {
        setResults([]);
        setNotFound(value.trim());
        return;
      }
      throw failed;
    }
    setNext(null);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void search.run(null);
  };
  const chosen = KINDS.find((k) => k.value === kind)!;
  return (
    <>
      <PageHeader title="Profiles" description="Find a person by their email, user id or the anonymous id of their browser, or list profiles by a trait." />
      <Card withBorder radius="md" padding="lg" mb="md">
        <form onSubmit={submit} aria-label="Find a profile">
          <Stack gap="sm">
            <div>
              <Text size="sm" fw={500} mb={4} id="find-by">
                Find by
              </Text>
              <SegmentedControl
                aria-labelledby="find-by"
                value={kind}
                onChange={(v) => {
                  setKind(v as Kind);
                  setResults(null);
                }}
                data={KINDS.map((k) => ({ value: k.value, label: k.label }))}
              />
            </div>
            <Group align="flex-end" wrap="wrap" gap="sm">
              {kind === "trait" ? (
                <TextInput label="Trait name" placeholder="country" value={trait} onChange={(e) => setTrait(e.currentTarget.value)} required w={200} />
              ) : null}
              <TextInput
                label={kind === "trait" ? "Value" : chosen.label}
                name="lookup"
                placeholder={kind === "trait" ? "NL" : chosen.placeholder}
                value={value}
                onChange={(e) => setValue(e.currentTarget.value)}
                required
                style={{ flex: "1 1 240px" }}
                type={kind === "email" ? "email" : "text"}
              />
              <Button type="submit" loading={search.running}>
                Search
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
      <ErrorAlert error={search.error} />
      {notFound ? (
        <Alert color="gray" title="No profile found" mb="md">
          Nobody is known by “{notFound}”. Check the spelling, or try another kind of identifier.
        </Alert>
      ) : null}
      {results && results.length === 0 && !notFound ? (
        <Alert color="gray" title="No profiles" mb="md">
          No profile has this trait value.
        </Alert>
      ) : null}
      {results && results.length > 0 ? (
        <Card withBorder radius="md" padding="lg">
          <Title order={2} size="h4" mb="sm">
            {results.length === 1 ? "1 profile" : `${results.length} profiles`}
          </Title>
          <Scroll minWidth={420} label="Profiles found">
            <Table verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Name</Table.Th>
                  <Table.Th scope="col">Email</Table.Th>
                  <Table.Th scope="col">Profile id</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {results.map((found) => (
                  <Table.Tr key={found.profileId}>
                    <Table.Td>
                      <Link to={`/profiles/${encodeURIComponent(found.profileId)}`}>{displayName(found.traits)}</Link>
                    </Table.Td>
                    <Table.Td>{show(found.traits.email)}</Table.Td>
                    <Table.Td>
                      <Text size="xs" ff="monospace">
                        {found.profileId}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Scroll>
          {next ? (
            <Button variant="default" mt="sm" onClick={() => void search.run(next)} loading={search.running}>
              Show more
            </Button>
          ) : null}
        </Card>
      ) : null}
      {results === null ? (
        <Text size="sm" c="dimmed">
          Profiles are created as visitors use your site and as you import contacts. Search to open one.
        </Text>
      ) : null}
    </>
  );
}

function Panel({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-label={title} h="100%">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4">
          {title}
        </Title>
        {actions}
      </Group>
      {children}
    </Card>
  );
}

function IdentityList({ label, values }: { label: string; values: string[] | undefined }) {
  return (
    <div>
      <Text size="sm" fw={500}>
        {label}
      </Text>
      {values && values.length ? (
        <Group gap={6} mt={2}>
          {values.map((v) => (
            <Badge key={v} variant="outline" color="dark" tt="none" style={{ maxWidth: "100%" }}>
              {v}
            </Badge>
          ))}
        </Group>
      ) : (
        <Text size="sm" c="dimmed">
          none
        </Text>
      )}
    </div>
  );
}

function download(name: string, value: unknown) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function ProfilePage({ params }: PageProps) {
  const id = params.id;
  const path = `/v1/profiles/${encodeURIComponent(id)}`;
  const profile = useApi<Profile>(path);
  const [erasing, setErasing] = useState(false);
  const exportAction = useAction(async () => {
    const document = await api.post(`/v1/privacy/export`, { profileId: id });
    download(`profile-${id}.json`, document);
  });
  const erase = useAction(async () => {
    await api.delete(path);
    setErasing(false);
    navigate("/profiles");
  });
  return (
    <Loaded state={profile}>
      {(p) => (
        <>
          <PageHeader
            title={displayName(p.traits)}
            description={
              <>
                Profile <code>{p.profileId}</code>, first seen {formatTime(p.createdAt)}
              </>
            }
            actions={
              <>
                <Button variant="default" onClick={() => void exportAction.run()} loading={exportAction.running}>
                  Export as JSON
                </Button>
                <Button color="red.8" variant="outline" onClick={() => setErasing(true)}>
                  Erase…
                </Button>
              </>
            }
          />
          <ErrorAlert error={exportAction.error} title="The export failed" />
          <Modal opened={erasing} onClose={() => setErasing(false)} title="Erase this person?" centered>
            <Stack>
              <Text size="sm">
                Everything held about <strong>{displayName(p.traits, p.profileId)}</strong> is deleted from every service: identities, traits, activity,
                segments, scores and journeys. This cannot be undone.
              </Text>
              <ErrorAlert error={erase.error} />
              <Group justify="flex-end">
                <Button variant="default" onClick={() => setErasing(false)}>
                  Cancel
                </Button>
                <Button color="red.8" onClick={() => void erase.run()} loading={erase.running}>
                  Erase permanently
                </Button>
              </Group>
            </Stack>
          </Modal>
          <Grid gap="md">
            <Grid.Col span={{ base: 12, md: 4 }}>
              <Panel title="Identities">
                <Stack gap="xs">
                  <IdentityList label="Emails" values={p.identities.emails} />
                  <IdentityList label="User ids" values={p.identities.userIds} />
                  <IdentityList label="Anonymous ids" values={p.identities.anonymousIds} />
                  {p.identities.deviceIds && p.identities.deviceIds.length ? <IdentityList label="Devices" values={p.identities.deviceIds} /> : null}
                </Stack>
              </Panel>
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 4 }}>
              <Panel title="Traits">
                <KeyValues values={p.traits} empty="No traits yet: they come from identify calls, forms and imports." />
              </Panel>
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 4 }}>
              <Panel title="Consent">
                <KeyValues values={p.consent} empty="No consent decision recorded." />
              </Panel>
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Panel title="Computed traits">
                <KeyValues
                  values={Object.fromEntries(Object.entries(p.computed).filter(([, v]) => v !== null && !(typeof v === "object" && Object.keys(v as object).length === 0)))}
                  empty="Nothing computed yet."
                />
              </Panel>
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Panel title="Segments and scores">
                <Memberships profileId={p.profileId} />
              </Panel>
            </Grid.Col>
            <Grid.Col span={12}>
              <Panel title="Activity">
                <Timeline profileId={p.profileId} />
              </Panel>
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Panel title="Journeys">
                <Runs profileId={p.profileId} />
              </Panel>
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 6 }}>
              <Panel title="Merges">
                <MergeLog profileId={p.profileId} onChanged={profile.reload} />
              </Panel>
            </Grid.Col>
          </Grid>
        </>
      )}
    </Loaded>
  );
}

interface MembershipAnswer {
  segments: { segmentId: string; since: string }[];
  scores: Record<string, { score: number; tier: string | null }>;
  questionnaires: Record<string, { segment: string | null; confidence: number | null; complete: boolean }>;
}

function Memberships({ profileId }: { profileId: string }) {
  const memberships = useApi<MembershipAnswer>(`/v1/segments/memberships/${encodeURIComponent(profileId)}`);
  const segments = useApi<{ segments: { segmentId: string; name: string }[] }>("/v1/segments");
  const plans = useApi<{ plans: { planId: string; name: string }[] }>("/v1/scoring/plans");
  const questionnaires = useApi<{ questionnaires: { questionnaireId: string; name: string; key: { segments: { key: string; name: string }[] } }[] }>("/v1/questionnaires");
  const segmentName = (sid: string) => segments.data?.segments.find((s) => s.segmentId === sid)?.name ?? sid;
  const planName = (pid: string) => plans.data?.plans.find((s) => s.planId === pid)?.name ?? pid;
  return (
    <Loaded state={memberships}>
      {(m) => (
        <Stack gap="sm">
          <div>
            <Text size="sm" fw={500}>
              Segments
            </Text>
            {m.segments.length ? (
              <Stack gap={2} mt={2}>
                {m.segments.map((s) => (
                  <Text size="sm" key={s.segmentId}>
                    <Link to={`/segments/${encodeURIComponent(s.segmentId)}`}>{segmentName(s.segmentId)}</Link> since {formatTime(s.since)}
                  </Text>
                ))}
              </Stack>
            ) : (
              <Text size="sm" c="dimmed">
                In no segment.
              </Text>
            )}
          </div>
          <div>
            <Text size="sm" fw={500}>
              Scores
            </Text>
            {Object.keys(m.scores).length ? (
              <SimpleGrid cols={2} spacing="xs" mt={2}>
                {Object.entries(m.scores).map(([pid, s]) => (
                  <Text size="sm" key={pid}>
                    {planName(pid)}: <strong>{formatNumber(s.score)}</strong>
                    {s.tier ? ` (${s.tier})` : ""}
                  </Text>
                ))}
              </SimpleGrid>
            ) : (
              <Text size="sm" c="dimmed">
                No score in any plan.
              </Text>
            )}
          </div>
          {Object.keys(m.questionnaires).length ? (
            <div>
              <Text size="sm" fw={500}>
                Questionnaires
              </Text>
              {Object.entries(m.questionnaires).map(([qid, q]) => {
                const found = questionnaires.data?.questionnaires.find((x) => x.questionnaireId === qid);
                const segment = q.segment ? (found?.key.segments.find((s) => s.key === q.segment)?.name ?? q.segment) : q.complete ? "neutral" : "not finished";
                return (
                  <Text size="sm" key={qid}>
                    {found?.name ?? qid}: <strong>{segment}</strong>
                    {q.confidence !== null && q.confidence !== undefined ? ` (confidence ${Math.round(q.confidence * 100)}%)` : ""}
                  </Text>
                );
              })}
            </div>
          ) : null}
        </Stack>
      )}
    </Loaded>
  );
}

interface Run {
  runId: string;
  journeyId: string;
  version: number;
  enteredAt: string;
  state: string;
  messages: unknown[];
}

function Runs({ profileId }: { profileId: string }) {
  const runs = useApi<{ runs: Run[] }>(`/v1/journeys/runs/${encodeURIComponent(profileId)}`);
  const journeys = useApi<{ journeys: { journeyId: string; name: string }[] }>("/v1/journeys");
  return (
    <Loaded state={runs}>
      {({ runs: list }) =>
        list.length === 0 ? (
          <Text size="sm" c="dimmed">
            Not in any journey.
          </Text>
        ) : (
          <Scroll minWidth={360} label="Journey runs">
            <Table verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Journey</Table.Th>
                  <Table.Th scope="col">Entered</Table.Th>
                  <Table.Th scope="col">State</Table.Th>
                  <Table.Th scope="col">Messages</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((run) => (
                  <Table.Tr key={run.runId}>
                    <Table.Td>
                      <Link to={`/journeys/${encodeURIComponent(run.journeyId)}`}>{journeys.data?.journeys.find((j) => j.journeyId === run.journeyId)?.name ?? run.journeyId}</Link>
                    </Table.Td>
                    <Table.Td>{formatTime(run.enteredAt)}</Table.Td>
                    <Table.Td>{run.state}</Table.Td>
                    <Table.Td>{formatNumber(run.messages?.length ?? 0)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Scroll>
        )
      }
    </Loaded>
  );
}

function MergeLog({ profileId, onChanged }: { profileId: string; onChanged: () => void }) {
  const merges = useApi<{ merges: Merge[] }>(`/v1/profiles/${encodeURIComponent(profileId)}/merges`);
  const [undoing, setUndoing] = useState<string | null>(null);
  const undo = useAction(async (merge: Merge) => {
    setUndoing(merge.mergeId);
    try {
      await api.post(`/v1/profiles/${encodeURIComponent(profileId)}/merges/${encodeURIComponent(merge.mergeId)}/undo`);
      merges.reload();
      onChanged();
    } finally {
      setUndoing(null);
    }
  });
  return (
    <>
      <ErrorAlert error={undo.error} title="The merge could not be undone" />
      <Loaded state={merges}>{({ merges: list }) => <Merges merges={list} undoing={undoing} onUndo={(m) => void undo.run(m)} />}</Loaded>
    </>
  );
}
