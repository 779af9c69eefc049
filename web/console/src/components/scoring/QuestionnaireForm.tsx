// Create a questionnaire (POST /v1/questionnaires) or change one (PUT /v1/questionnaires/{id}, a new version): its
// questions on a scale, its segments and how answers map to them (each segment's typical answers, the nearest wins;
// or weights per answer, the highest score wins), and the neutral pool (too unsure a fit, or a question unanswered).
import { Alert, Button, Card, Group, NativeSelect, NumberInput, SimpleGrid, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useState } from "react";

import { api } from "../../api";
import { errorAt, fieldErrors, FormDrawer, useSubmit } from "../forms";
import { checkQuestionnaire, DEFAULT_EVENT, emptyQuestionnaire, fromQuestionnaire, middle, nextQuestionId, questionnaireBody, ruleNameFrom, type Questionnaire, type QuestionnaireDraft, type SegmentDraft } from "./model";

const MAX_QUESTIONS = 50;
const MAX_SEGMENTS = 50;

export function QuestionnaireForm({ questionnaire, onClose, onSaved }: { questionnaire?: Questionnaire; onClose: () => void; onSaved: (saved: Questionnaire) => void }) {
  const [draft, setDraft] = useState<QuestionnaireDraft>(() => (questionnaire ? fromQuestionnaire(questionnaire) : emptyQuestionnaire()));
  const { saving, error, submit } = useSubmit(
    () =>
      questionnaire
        ? api.put<Questionnaire>(`/v1/questionnaires/${encodeURIComponent(questionnaire.questionnaireId)}`, { ...questionnaireBody(draft), expectedVersion: questionnaire.version })
        : api.post<Questionnaire>("/v1/questionnaires", questionnaireBody(draft)),
    onSaved,
  );
  const errors = fieldErrors(error);
  const at = (field: string, scope: "exact" | "under" = "exact") => errorAt(errors, field, scope);
  const set = (patch: Partial<QuestionnaireDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setSegment = (i: number, patch: Partial<SegmentDraft>) => setDraft((d) => ({ ...d, segments: d.segments.map((s, j) => (j === i ? { ...s, ...patch } : s)) }));
  const centroids = draft.method === "centroids";
  const field = centroids ? "centroid" : "weights";
  const addQuestion = () =>
    setDraft((d) => ({
      ...d,
      questions: [...d.questions, { id: nextQuestionId(d.questions), text: "" }],
      segments: d.segments.map((s) => ({ ...s, vector: [...s.vector, middle(d)] })),
    }));
  const removeQuestion = (i: number) =>
    setDraft((d) => ({
      ...d,
      questions: d.questions.filter((_, j) => j !== i),
      segments: d.segments.map((s) => ({ ...s, vector: s.vector.filter((_, j) => j !== i) })),
    }));
  return (
    <FormDrawer
      opened
      title={questionnaire ? `Edit “${questionnaire.name}”` : "New questionnaire"}
      label="Questionnaire"
      onClose={onClose}
      onSubmit={() => void submit(checkQuestionnaire(draft))}
      saving={saving}
      error={error}
      errorTitle="The questionnaire was not saved"
      submitLabel={questionnaire ? "Save a new version" : "Create the questionnaire"}
    >
      {questionnaire ? (
        <Text size="sm" c="dimmed">
          Saving makes version {questionnaire.version + 1}; answers that arrive from then on are sorted with it. A segment key that a segment or a slot names cannot be removed.
        </Text>
      ) : null}
      <Stack gap="xs">
        <TextInput id="questionnaire-name" data-autofocus label="Name" placeholder="taste" required value={draft.name} error={at("name")} onChange={(e) => set({ name: e.currentTarget.value })} />
        <Textarea id="questionnaire-description" label="Description (optional)" autosize minRows={1} value={draft.description} error={at("description")} onChange={(e) => set({ description: e.currentTarget.value })} />
        <TextInput
          id="questionnaire-event"
          label="Event carrying the answers"
          description={`Your site sends it with properties.answers = {"q1": 5, …} (or one property per question).`}
          placeholder={DEFAULT_EVENT}
          value={draft.event}
          error={at("event")}
          onChange={(e) => set({ event: e.currentTarget.value })}
        />
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="questionnaire-questions-title">
        <Title order={3} size="h5" id="questionnaire-questions-title">
          Questions
        </Title>
        <Group gap="xs" align="flex-start" grow>
          <NumberInput id="questionnaire-low" label="Answers from" allowDecimal={false} min={-100} max={100} value={draft.low} error={at("scale.min") ?? at("scale")} onChange={(v) => set({ low: v })} />
          <NumberInput id="questionnaire-high" label="to" allowDecimal={false} min={-100} max={100} value={draft.high} error={at("scale.max")} onChange={(v) => set({ high: v })} />
        </Group>
        {at("questions") ? (
          <Text size="sm" c="var(--mantine-color-error)">
            {at("questions")}
          </Text>
        ) : null}
        {draft.questions.map((q, i) => (
          <Group key={i} gap="xs" align="flex-start" wrap="nowrap" role="group" aria-label={`Question ${i + 1}`}>
            <TextInput id={`questionnaire-q${i}-id`} label="Id" w={90} value={q.id} error={at(`questions[${i}].id`) ?? at(`questions[${i}]`)} onChange={(e) => set({ questions: draft.questions.map((x, j) => (j === i ? { ...x, id: e.currentTarget.value } : x)) })} />
            <TextInput
              id={`questionnaire-q${i}-text`}
              label={`Question ${i + 1}`}
              placeholder="I like to try dishes from other countries"
              value={q.text}
              error={at(`questions[${i}].text`)}
              onChange={(e) => set({ questions: draft.questions.map((x, j) => (j === i ? { ...x, text: e.currentTarget.value } : x)) })}
              style={{ flex: 1 }}
            />
            {draft.questions.length > 2 ? (
              <Button size="compact-xs" variant="subtle" color="red" mt={30} onClick={() => removeQuestion(i)} aria-label={`Remove question ${q.id || i + 1}`}>
                ×
              </Button>
            ) : null}
          </Group>
        ))}
        {draft.questions.length < MAX_QUESTIONS ? (
          <div>
            <Button id="questionnaire-add-question" size="xs" variant="default" onClick={addQuestion}>
              Add a question
            </Button>
          </div>
        ) : null}
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="questionnaire-key-title">
        <Title order={3} size="h5" id="questionnaire-key-title">
          Segments and how answers map to them
        </Title>
        <NativeSelect
          id="questionnaire-method"
          label="A person goes to"
          value={draft.method}
          data={[
            { value: "centroids", label: "The segment whose typical answers are nearest to theirs" },
            { value: "weights", label: "The segment with the highest score (bias + Σ weight × answer)" },
          ]}
          error={at("key.method") ?? at("key")}
          onChange={(e) => set({ method: e.currentTarget.value as QuestionnaireDraft["method"] })}
        />
        {at("key.segments") ? (
          <Alert color="red" p="xs" title="Fix the segments">
            <Text size="sm">{at("key.segments")}</Text>
          </Alert>
        ) : null}
        {draft.segments.map((s, i) => {
          const p = `key.segments[${i}]`;
          const label = s.name || s.key || `segment ${i + 1}`;
          return (
            <Card key={i} withBorder padding="sm" component="section" aria-label={`Segment ${label}`} data-segment={i} style={at(p, "under") ? { borderColor: "var(--mantine-color-red-6)" } : undefined}>
              <Stack gap="xs">
                <Group justify="space-between" gap="xs">
                  <Text size="sm" fw={600}>
                    Segment {i + 1}
                  </Text>
                  {draft.segments.length > 2 ? (
                    <Button size="compact-xs" variant="subtle" color="red" onClick={() => set({ segments: draft.segments.filter((_, j) => j !== i) })} aria-label={`Remove segment ${label}`}>
                      Remove
                    </Button>
                  ) : null}
                </Group>
                {at(p) ? (
                  <Text size="sm" c="var(--mantine-color-error)">
                    {at(p)}
                  </Text>
                ) : null}
                <SimpleGrid cols={{ base: 1, sm: centroids ? 2 : 3 }} spacing="xs">
                  <TextInput
                    id={`questionnaire-s${i}-name`}
                    label="Name"
                    placeholder="Explorer"
                    value={s.name}
                    error={at(`${p}.name`)}
                    onChange={(e) => setSegment(i, { name: e.currentTarget.value, ...(s.keyEdited ? {} : { key: ruleNameFrom(e.currentTarget.value) }) })}
                  />
                  <TextInput id={`questionnaire-s${i}-key`} label="Key" description="Lowercase, digits, - and _: what conditions name" value={s.key} error={at(`${p}.key`)} onChange={(e) => setSegment(i, { key: e.currentTarget.value, keyEdited: true })} />
                  {!centroids ? <NumberInput id={`questionnaire-s${i}-bias`} label="Bias" min={-1000} max={1000} decimalScale={3} value={s.bias} error={at(`${p}.bias`)} onChange={(v) => setSegment(i, { bias: v })} /> : null}
                </SimpleGrid>
                <Text size="sm" fw={500}>
                  {centroids ? `Typical answers (${String(draft.low)} to ${String(draft.high)})` : "Weight of each answer"}
                </Text>
                {at(`${p}.${field}`) ? (
                  <Text size="sm" c="var(--mantine-color-error)">
                    {at(`${p}.${field}`)}
                  </Text>
                ) : null}
                <SimpleGrid cols={{ base: 3, xs: 4, sm: 6 }} spacing="xs">
                  {draft.questions.map((q, j) => (
                    <NumberInput
                      key={j}
                      id={`questionnaire-s${i}-v${j}`}
                      label={q.id || `#${j + 1}`}
                      aria-label={`${label}: ${centroids ? "typical answer to" : "weight of"} ${q.id || `question ${j + 1}`}${q.text ? ` (${q.text})` : ""}`}
                      min={centroids ? Number(draft.low) : -1000}
                      max={centroids ? Number(draft.high) : 1000}
                      decimalScale={3}
                      value={s.vector[j] ?? ""}
                      error={at(`${p}.${field}[${j}]`)}
                      onChange={(v) => setSegment(i, { vector: draft.questions.map((_, k) => (k === j ? v : (s.vector[k] ?? middle(draft)))) })}
                    />
                  ))}
                </SimpleGrid>
              </Stack>
            </Card>
          );
        })}
        {draft.segments.length < MAX_SEGMENTS ? (
          <div>
            <Button
              id="questionnaire-add-segment"
              size="xs"
              variant="default"
              onClick={() => set({ segments: [...draft.segments, { key: "", keyEdited: false, name: "", vector: draft.questions.map(() => middle(draft)), bias: 0 }] })}
            >
              Add a segment
            </Button>
          </div>
        ) : null}
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="questionnaire-neutral-title">
        <Title order={3} size="h5" id="questionnaire-neutral-title">
          The neutral pool
        </Title>
        <NumberInput
          id="questionnaire-confidence"
          label="Minimum confidence (%)"
          description={
            centroids
              ? "Below it a person stays in the neutral pool: 100 % is right on a segment's typical answers, 0 % half-way between two segments. Anyone with a question unanswered stays there too."
              : "Below it a person stays in the neutral pool (the confidence is the best segment's share of the softmax). Anyone with a question unanswered stays there too."
          }
          min={0}
          max={100}
          decimalScale={2}
          suffix=" %"
          value={draft.minConfidence}
          error={at("minConfidence")}
          onChange={(v) => set({ minConfidence: v })}
          w={{ base: "100%", sm: 320 }}
        />
      </Stack>
    </FormDrawer>
  );
}
