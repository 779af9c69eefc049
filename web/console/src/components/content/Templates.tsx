// Email templates: pick one (or start a new one), edit its Liquid (subject, preheader, HTML, text), see the draft
// rendered for a chosen profile in a sandboxed frame before anything is saved (POST /v1/content/templates/preview),
// save it as a new version (what journeys send from then on), send a test of the saved version, or delete it after a
// confirmation. A refusal shows at the part it names, with line and column.
import { Alert, Anchor, Badge, Button, Card, Code, Grid, Group, NativeSelect, Stack, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";

import { api, Problem, query } from "../../api";
import { config } from "../../config";
import { useAction, useApi } from "../../hooks";
import { href } from "../../router";
import { ErrorAlert, formatTime, Loaded } from "../common";
import { Notice } from "../journeys/Notice";
import { ConfirmDelete, Refusal } from "./parts";
import { ID_HINT, TEMPLATE_FIELDS, byField, slug, templateBody, templateChanged, templateDraft, type FieldError, type Template, type TemplateDraft } from "./model";

interface Rendered {
  subject: string;
  html: string;
  text: string;
}

/** What the preview shows: the form as it was when Preview was pressed, and whether that was the saved version. */
interface Preview extends Rendered {
  version: number | null;
}

const PARTS = ["subject", "preheader", "html", "text"];

interface ProfileView {
  profileId: string;
  traits?: Record<string, unknown>;
}

export function Templates() {
  const templates = useApi<{ templates: Template[] }>("/v1/content/templates");
  const [chosen, setChosen] = useState<string>();
  const [creating, setCreating] = useState(false);
  const [saved, setSaved] = useState<Record<string, Template>>({});
  const [deleted, setDeleted] = useState<string[]>([]);
  const [done, setDone] = useState<string>();
  const { reload } = templates;
  // what was just saved or deleted shows at once, before the list is read again
  const list = useMemo(() => {
    const loaded = (templates.data?.templates ?? []).filter((t) => !deleted.includes(t.id));
    const merged = loaded.map((t) => (saved[t.id] && (saved[t.id].version ?? 0) > (t.version ?? 0) ? saved[t.id] : t));
    return [...merged, ...Object.values(saved).filter((s) => !loaded.some((t) => t.id === s.id) && !deleted.includes(s.id))];
  }, [templates.data, saved, deleted]);
  const current = list.find((t) => t.id === chosen) ?? list[0];
  const onSaved = useCallback(
    (template: Template) => {
      setSaved((all) => ({ ...all, [template.id]: template }));
      setDeleted((ids) => ids.filter((id) => id !== template.id));
      setChosen(template.id);
      setCreating(false);
      setDone(undefined);
      reload();
    },
    [reload],
  );
  const onDeleted = useCallback(
    (template: Template) => {
      setDeleted((ids) => [...ids, template.id]);
      setSaved(({ [template.id]: _gone, ...rest }) => rest);
      setChosen(undefined);
      setDone(`The template ${template.name || template.id} was deleted.`);
      reload();
    },
    [reload],
  );
  return (
    <Loaded state={templates}>
      {() => (
        <Stack>
          {done ? (
            <Notice aria-live="polite" withCloseButton onClose={() => setDone(undefined)} closeButtonLabel="Dismiss" data-done>
              {done}
            </Notice>
          ) : null}
          <Group align="flex-end" wrap="wrap">
            {list.length > 1 && !creating ? <NativeSelect id="template-choice" label="Template" value={current.id} data={list.map((t) => ({ value: t.id, label: t.name || t.id }))} onChange={(e) => setChosen(e.currentTarget.value)} w={320} /> : null}
            {!creating ? (
              <Button id="template-new" variant="default" onClick={() => setCreating(true)}>
                New template
              </Button>
            ) : null}
          </Group>
          {creating ? (
            <TemplateWorkbench key="new" template={null} taken={list.map((t) => t.id)} onSaved={onSaved} onCancel={() => setCreating(false)} />
          ) : current ? (
            <TemplateWorkbench key={current.id} template={current} taken={[]} onSaved={onSaved} onDeleted={onDeleted} />
          ) : (
            <Alert title="No email templates yet">Templates are Liquid: one serves newsletters and journey emails. Start one with New template (docs/content.md says what a template can use).</Alert>
          )}
        </Stack>
      )}
    </Loaded>
  );
}

function TemplateWorkbench({ template, taken, onSaved, onDeleted, onCancel }: { template: Template | null; taken: string[]; onSaved: (template: Template) => void; onDeleted?: (template: Template) => void; onCancel?: () => void }) {
  const [draft, setDraft] = useState<TemplateDraft>(() => templateDraft(template));
  const [idTouched, setIdTouched] = useState(Boolean(template));
  const [refused, setRefused] = useState<Error | null>(null);
  const [errors, setErrors] = useState<{ fields: Record<string, string>; general: string[] }>({ fields: {}, general: [] });
  const [saving, setSaving] = useState(false);
  const [profile, setProfile] = useState<ProfileView | null>(null);
  const [preview, setPreview] = useState<Preview>();
  const [deleting, setDeleting] = useState(false);
  const top = useRef<HTMLDivElement>(null);
  const templateId = template?.id;
  const dirty = templateChanged(draft, template);
  const set = (patch: Partial<TemplateDraft>) => setDraft({ ...draft, ...patch });

  // The form as typed, rendered without saving it; with nothing changed (a version), the saved template, as a send
  // renders it (with a running experiment's variant). A Liquid error is shown at the part it names, as a save's is.
  const render = useAction(
    useCallback(
      async (reader: ProfileView | null, shown: TemplateDraft, version: number | null) => {
        const { body } = templateBody(shown);
        const who = reader ? { profileId: reader.profileId } : {};
        try {
          const answer = version !== null ? await api.post<Rendered>(`/v1/content/templates/${encodeURIComponent(shown.id)}/preview`, who) : await api.post<Rendered>("/v1/content/templates/preview", { ...body, ...who });
          setProfile(reader);
          setPreview({ subject: answer.subject, html: answer.html, text: answer.text, version });
          setErrors((known) => ({ ...known, fields: Object.fromEntries(Object.entries(known.fields).filter(([field]) => !PARTS.includes(field))) }));
          return answer;
        } catch (failed) {
          if (failed instanceof Problem && failed.status === 400) setErrors(byField(failed.errors, TEMPLATE_FIELDS));
          throw failed;
        }
      },
      [],
    ),
  );
  useEffect(() => {
    if (template) void render.run(null, templateDraft(template), template.version ?? null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [templateId]);
  const renderDraft = (reader: ProfileView | null) => render.run(reader, draft, template && !dirty ? (template.version ?? null) : null);

  const [email, setEmail] = useState("");
  const lookup = useAction(
    useCallback(async (forEmail: string) => {
      const found = forEmail ? await api.get<ProfileView>(`/v1/profiles${query({ email: forEmail })}`) : null;
      return found;
    }, []),
  );
  const previewFor = async (event: FormEvent) => {
    event.preventDefault();
    const found = await lookup.run(email.trim());
    if (found !== undefined) void renderDraft(found);
  };

  const refuse = (error: Error, faults: FieldError[]) => {
    setRefused(error);
    setErrors(byField(faults, TEMPLATE_FIELDS));
    top.current?.scrollIntoView({ block: "start" });
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const id = draft.id.trim();
    const { body, faults } = templateBody(draft);
    if (!template && id && taken.includes(id)) faults.unshift({ field: "templateId", message: "A template has this id already: choose it in the list, or choose another id" });
    if (faults.length) return refuse(new Problem(400, "Not saved", "Fix the fields marked in red.", faults), faults);
    setSaving(true);
    try {
      const answer = await api.put<Template>(`/v1/content/templates/${encodeURIComponent(id)}`, body);
      setRefused(null);
      setErrors({ fields: {}, general: [] });
      onSaved(answer);
      if (template) void render.run(profile, draft, answer.version ?? null);
    } catch (failed) {
      refuse(failed as Error, failed instanceof Problem ? failed.errors : []);
    } finally {
      setSaving(false);
    }
  };

  const [to, setTo] = useState("");
  const [sent, setSent] = useState<string>();
  const send = useAction(
    useCallback(async () => {
      if (!templateId) return undefined;
      const answer = await api.post<{ messageId: string; sent: boolean; subject: string }>(`/v1/content/templates/${encodeURIComponent(templateId)}/test-send`, { to, ...(profile ? { profileId: profile.profileId } : {}) });
      setSent(`“${answer.subject}” ${answer.sent ? "was sent" : "was not sent"} to ${to}.`);
      return answer;
    }, [templateId, to, profile]),
  );
  const who = profile ? String(profile.traits?.firstName ?? profile.traits?.email ?? profile.profileId) : "a neutral reader (no profile)";
  const e = errors.fields;
  const mono = { input: { fontFamily: "monospace", fontSize: 12 } };
  return (
    <Grid gap="lg">
      <Grid.Col span={{ base: 12, lg: 6 }}>
        <Card withBorder component="form" onSubmit={(ev: FormEvent) => void save(ev)} noValidate aria-label={template ? `Edit the template ${template.name || template.id}` : "New template"}>
          <Stack gap="sm">
            <div ref={top} style={{ scrollMarginTop: 80 }} />
            <Group justify="space-between" align="flex-start" gap="xs">
              <div>
                <Title order={2} size="h4">
                  {template ? template.name || template.id : "New template"}
                </Title>
                {template ? (
                  <Text size="xs" c="dimmed">
                    {template.id} · version {template.version ?? "–"} · saved {formatTime(template.updatedAt)}
                  </Text>
                ) : null}
              </div>
              {template && dirty ? (
                <Badge color="red.9" variant="outline" id="template-dirty">
                  unsaved changes
                </Badge>
              ) : null}
            </Group>
            <Refusal error={refused} general={errors.general} title="The template was not saved" />
            <Group grow align="flex-start" wrap="wrap">
              <TextInput
                id="template-name"
                label="Name"
                value={draft.name}
                onChange={(ev) => {
                  const name = ev.currentTarget.value;
                  set({ name, id: idTouched ? draft.id : slug(name) });
                }}
                error={e.name}
                miw={200}
              />
              {!template ? (
                <TextInput
                  id="template-id"
                  label="Template id"
                  description={ID_HINT}
                  value={draft.id}
                  onChange={(ev) => {
                    setIdTouched(true);
                    set({ id: ev.currentTarget.value });
                  }}
                  error={e.templateId}
                  required
                  miw={200}
                />
              ) : null}
            </Group>
            <TextInput id="template-subject" label="Subject" description='Liquid: {{ profile.firstName | default: "there" }}' value={draft.subject} onChange={(ev) => set({ subject: ev.currentTarget.value })} error={e.subject} required styles={mono} />
            <TextInput id="template-preheader" label="Preheader (optional)" description="The inbox's preview line, hidden in the email" value={draft.preheader} onChange={(ev) => set({ preheader: ev.currentTarget.value })} error={e.preheader} />
            <Textarea id="template-html" label="HTML body" description="Liquid: profile, reader (segments, questionnaires, scores, tiers), catalogue | newest" autosize minRows={8} maxRows={24} value={draft.html} onChange={(ev) => set({ html: ev.currentTarget.value })} error={e.html} required styles={mono} />
            <Textarea id="template-text" label="Plain-text body (optional)" description="Empty: made from the HTML" autosize minRows={2} maxRows={12} value={draft.text} onChange={(ev) => set({ text: ev.currentTarget.value })} error={e.text} styles={mono} />
            <Text size="xs" c="dimmed">
              Each save is a new version: journeys and newsletters that send this template use it from their next send.
            </Text>
            <Group gap="xs">
              <Button type="submit" id="template-save" loading={saving}>
                {template ? "Save as a new version" : "Save template"}
              </Button>
              {template && dirty ? (
                <Button
                  variant="default"
                  onClick={() => {
                    setDraft(templateDraft(template));
                    setRefused(null);
                    setErrors({ fields: {}, general: [] });
                  }}
                >
                  Discard changes
                </Button>
              ) : null}
              {onCancel ? (
                <Button variant="default" onClick={onCancel}>
                  Cancel
                </Button>
              ) : null}
              {template && onDeleted ? (
                <Button variant="default" color="red.9" id="template-delete" onClick={() => setDeleting(true)} ml="auto">
                  Delete…
                </Button>
              ) : null}
            </Group>
          </Stack>
        </Card>
        {template && onDeleted && deleting ? (
          <ConfirmDelete what="template" name={template.name || template.id} path={`/v1/content/templates/${encodeURIComponent(template.id)}`} onClose={() => setDeleting(false)} onDeleted={() => onDeleted(template)}>
            The template is deleted at once, with its saved version; this cannot be undone. A journey whose email step still names it fails those messages (each one with its reason) until the step names another template. While an experiment runs on it, it cannot be deleted.
          </ConfirmDelete>
        ) : null}
      </Grid.Col>
      <Grid.Col span={{ base: 12, lg: 6 }}>
        <Stack>
          <Card withBorder component="form" onSubmit={(ev: FormEvent) => void previewFor(ev)}>
            <Text fw={600} mb={4}>
              Preview for a person
            </Text>
            <Text size="xs" c="dimmed" mb="xs">
              The form as it is now, saved or not, filled with their traits, segments and questionnaire answers. Leave empty for a neutral reader. Nothing is saved.
            </Text>
            <TextInput id="preview-email" label="Profile's email address" placeholder="someone@example.com" value={email} onChange={(ev) => setEmail(ev.currentTarget.value)} />
            <Button type="submit" mt="sm" id="template-preview-draft" loading={render.running || lookup.running}>
              Preview
            </Button>
          </Card>
          <ErrorAlert error={lookup.error} title="No such profile" />
          <ErrorAlert error={render.error} title="The preview failed" />
          {preview ? (
            <Card withBorder id="template-preview">
              <Text size="xs" c="dimmed" id="preview-what">
                For {who} · {preview.version !== null ? `version ${preview.version}` : "your draft, not saved"}
                {dirty && preview.version !== null ? " (press Preview to see your changes)" : ""}
              </Text>
              <Title order={2} size="h4" mb="sm" id="preview-subject">
                {preview.subject}
              </Title>
              <iframe title={`Preview of ${template ? template.name || template.id : "the new template"}`} sandbox="" srcDoc={preview.html} style={{ width: "100%", height: 520, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4, background: "white" }} />
            </Card>
          ) : null}
          {template ? (
            <Card withBorder component="form" onSubmit={(ev: FormEvent) => (ev.preventDefault(), void send.run())}>
              <Text fw={600} mb={4}>
                Send a test
              </Text>
              <Text size="xs" c="dimmed" mb="xs">
                Version {template.version ?? "–"}, rendered for {who}, sent to the address below{dirty ? " (the saved version: save to send your changes)" : ""}.
              </Text>
              <TextInput id="test-send-to" label="Send to" type="email" placeholder="me@example.com" value={to} onChange={(ev) => setTo(ev.currentTarget.value)} required />
              <Button type="submit" mt="sm" variant="default" loading={send.running}>
                Send test email
              </Button>
              <ErrorAlert error={send.error} title="The test was not sent" />
              {sent ? (
                <Text size="sm" mt="xs" aria-live="polite">
                  ✓ {sent} {config().local ? <Anchor href={href("/mailbox")} underline="always">Open the mailbox</Anchor> : null}
                </Text>
              ) : null}
            </Card>
          ) : (
            <Card withBorder>
              <Text size="sm">
                Save the template to send a test. A template sees <Code>profile</Code> (the reader&apos;s traits), <Code>reader</Code> (their segments, questionnaire answers, scores and tiers), <Code>catalogue</Code> (with the <Code>newest</Code> filter)
                and <Code>now</Code>.
              </Text>
            </Card>
          )}
        </Stack>
      </Grid.Col>
    </Grid>
  );
}
