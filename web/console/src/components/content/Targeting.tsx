// Who sees a variant: conditions on segments, questionnaire answers, scores, tiers, the visit and traits, combined
// with all or any (or a condition as JSON when it uses more than these forms offer). The API's errors show on the
// condition and the field they name.
import { Badge, Button, Card, Checkbox, Group, NativeSelect, NumberInput, Stack, Text, TextInput, Textarea } from "@mantine/core";

import { SCORE_OPS, TRAIT_OPS, VISIT_FIELDS, newRule, ruleCondition, type Choices, type RuleKind, type TargetRule, type Targeting } from "./model";

const KINDS: { kind: RuleKind; label: string; add: string }[] = [
  { kind: "segment", label: "Segment", add: "Segment" },
  { kind: "questionnaire", label: "Questionnaire", add: "Questionnaire answer" },
  { kind: "score", label: "Score", add: "Score" },
  { kind: "tier", label: "Tier", add: "Tier" },
  { kind: "visit", label: "Visit", add: "Visit" },
  { kind: "trait", label: "Trait", add: "Trait" },
];

/** A choice list that keeps a saved value the lists no longer hold (a deleted segment shows as its id). */
function withCurrent(data: { value: string; label: string }[], value: string, placeholder: string) {
  const known = data.some((d) => d.value === value);
  return [...(value && !known ? [{ value, label: `${value} (not found)` }] : value ? [] : [{ value: "", label: placeholder }]), ...data];
}

function RuleFields({ rule, id, choices, errors, onChange }: { rule: TargetRule; id: string; choices: Choices; errors: Record<string, string>; onChange: (rule: TargetRule) => void }) {
  switch (rule.kind) {
    case "segment":
      return (
        <NativeSelect id={`${id}-segment`} label="Is in the segment" value={rule.segment} data={withCurrent(choices.segments, rule.segment, "Choose a segment")} onChange={(e) => onChange({ ...rule, segment: e.currentTarget.value })} error={errors.inSegment} />
      );
    case "questionnaire": {
      const questionnaire = choices.questionnaires.find((q) => q.id === rule.questionnaire);
      const data = withCurrent(
        choices.questionnaires.map((q) => ({ value: q.id, label: q.name })),
        rule.questionnaire,
        "Choose a questionnaire",
      );
      return (
        <Stack gap="xs">
          <Group gap="sm" align="flex-start" wrap="wrap">
            <NativeSelect id={`${id}-questionnaire`} label="Questionnaire" value={rule.questionnaire} data={data} onChange={(e) => onChange({ ...rule, questionnaire: e.currentTarget.value, keys: [] })} error={errors.questionnaire} style={{ flex: "1 1 180px" }} />
            <NativeSelect
              id={`${id}-op`}
              label="Their answers"
              value={rule.op}
              data={[
                { value: "in", label: "placed them in" },
                { value: "neutral", label: "placed them in no segment (neutral)" },
                { value: "answered", label: "were given (any result)" },
              ]}
              onChange={(e) => onChange({ ...rule, op: e.currentTarget.value as typeof rule.op })}
              error={errors.op}
              style={{ flex: "1 1 220px" }}
            />
          </Group>
          {rule.op === "in" ? (
            <Checkbox.Group id={`${id}-keys`} label="One of these segments" value={rule.keys} onChange={(keys) => onChange({ ...rule, keys })} error={errors.value}>
              <Group gap="sm" mt={4}>
                {(questionnaire?.keys ?? rule.keys.map((k) => ({ value: k, label: k }))).map((k) => (
                  <Checkbox key={k.value} value={k.value} label={k.label} id={`${id}-key-${k.value}`} />
                ))}
              </Group>
            </Checkbox.Group>
          ) : null}
        </Stack>
      );
    }
    case "score":
      return (
        <Group gap="sm" align="flex-start" wrap="wrap">
          <NativeSelect id={`${id}-plan`} label="Score of the plan" value={rule.plan} data={withCurrent(choices.plans.map((p) => ({ value: p.id, label: p.name })), rule.plan, "Choose a plan")} onChange={(e) => onChange({ ...rule, plan: e.currentTarget.value })} error={errors.score} style={{ flex: "1 1 180px" }} />
          <NativeSelect id={`${id}-op`} label="Compare" value={rule.op} data={SCORE_OPS} onChange={(e) => onChange({ ...rule, op: e.currentTarget.value })} error={errors.op} w={150} />
          <NumberInput id={`${id}-value`} label={rule.op === "between" ? "From" : "Points"} value={rule.value} onChange={(v) => onChange({ ...rule, value: String(v) })} error={errors.value} w={120} />
          {rule.op === "between" ? <NumberInput id={`${id}-high`} label="To" value={rule.high} onChange={(v) => onChange({ ...rule, high: String(v) })} w={120} /> : null}
        </Group>
      );
    case "tier": {
      const plans = choices.plans.filter((p) => p.tiers.length);
      const tiers = choices.plans.find((p) => p.id === rule.plan)?.tiers ?? rule.tiers;
      return (
        <Stack gap="xs">
          <Group gap="sm" align="flex-start" wrap="wrap">
            <NativeSelect id={`${id}-plan`} label="Tier of the plan" value={rule.plan} data={withCurrent(plans.map((p) => ({ value: p.id, label: p.name })), rule.plan, "Choose a plan")} onChange={(e) => onChange({ ...rule, plan: e.currentTarget.value, tiers: [] })} error={errors.tier} style={{ flex: "1 1 180px" }} />
            <NativeSelect
              id={`${id}-op`}
              label="Compare"
              value={rule.op}
              data={[
                { value: "atLeast", label: "is at least" },
                { value: "in", label: "is one of" },
              ]}
              onChange={(e) => onChange({ ...rule, op: e.currentTarget.value as typeof rule.op, tiers: rule.tiers.slice(0, 1) })}
              error={errors.op}
              w={150}
            />
            {rule.op === "atLeast" ? (
              <NativeSelect id={`${id}-value`} label="Tier" value={rule.tiers[0] ?? ""} data={withCurrent(tiers.map((t) => ({ value: t, label: t })), rule.tiers[0] ?? "", "Choose a tier")} onChange={(e) => onChange({ ...rule, tiers: [e.currentTarget.value] })} error={errors.value} w={150} />
            ) : null}
          </Group>
          {rule.op === "in" ? (
            <Checkbox.Group id={`${id}-tiers`} label="Tiers" value={rule.tiers} onChange={(values) => onChange({ ...rule, tiers: values })} error={errors.value}>
              <Group gap="sm" mt={4}>
                {tiers.map((t) => (
                  <Checkbox key={t} value={t} label={t} id={`${id}-tier-${t}`} />
                ))}
              </Group>
            </Checkbox.Group>
          ) : null}
        </Stack>
      );
    }
    case "visit": {
      const field = VISIT_FIELDS[rule.field];
      return (
        <Stack gap="xs">
          <NativeSelect
            id={`${id}-field`}
            label="This visit's"
            value={rule.field}
            data={Object.entries(VISIT_FIELDS).map(([value, f]) => ({ value, label: f.label }))}
            onChange={(e) => onChange({ ...rule, field: e.currentTarget.value, values: [], text: "" })}
            error={errors.environment}
          />
          {field?.options ? (
            <Checkbox.Group id={`${id}-values`} label="Is one of" value={rule.values} onChange={(values) => onChange({ ...rule, values })} error={errors.value ?? errors.op}>
              <Group gap="sm" mt={4}>
                {field.options.map((o) => (
                  <Checkbox key={o.value} value={o.value} label={o.label} id={`${id}-value-${o.value}`} />
                ))}
              </Group>
            </Checkbox.Group>
          ) : (
            <TextInput id={`${id}-text`} label="Is one of" description="Comma-separated" value={rule.text} onChange={(e) => onChange({ ...rule, text: e.currentTarget.value })} error={errors.value ?? errors.op} />
          )}
        </Stack>
      );
    }
    case "trait": {
      const needs = TRAIT_OPS.find((o) => o.value === rule.op)?.needs;
      return (
        <Group gap="sm" align="flex-start" wrap="wrap">
          <TextInput id={`${id}-trait`} label="Trait" placeholder="country" value={rule.trait} onChange={(e) => onChange({ ...rule, trait: e.currentTarget.value })} error={errors.trait} w={160} />
          <NativeSelect id={`${id}-op`} label="Compare" value={rule.op} data={TRAIT_OPS.map(({ value, label }) => ({ value, label }))} onChange={(e) => onChange({ ...rule, op: e.currentTarget.value })} error={errors.op} w={200} />
          {needs !== "none" ? (
            <TextInput id={`${id}-value`} label="Value" description={needs === "list" ? "Comma-separated" : needs === "range" ? "Low, high" : undefined} value={rule.value} onChange={(e) => onChange({ ...rule, value: e.currentTarget.value })} error={errors.value} style={{ flex: "1 1 140px" }} />
          ) : null}
        </Group>
      );
    }
  }
}

const SHOWN: Record<TargetRule["kind"], string[]> = {
  segment: ["inSegment"],
  questionnaire: ["questionnaire", "op", "value"],
  score: ["score", "op", "value"],
  tier: ["tier", "op", "value"],
  visit: ["environment", "op", "value"],
  trait: ["trait", "op", "value"],
};

export function TargetingFields({
  id,
  label,
  targeting,
  choices,
  errors,
  ruleErrors,
  onChange,
  empty = "No condition yet: add who sees this variant.",
  jsonLabel = "Who sees this variant",
}: {
  id: string;
  label: string;
  targeting: Targeting;
  choices: Choices;
  errors: string[];
  ruleErrors: Record<number, Record<string, string>>;
  onChange: (targeting: Targeting) => void;
  /** What the form says while it has no condition, and what its JSON is. */
  empty?: string;
  jsonLabel?: string;
}) {
  const setRule = (index: number, rule: TargetRule) => onChange({ ...targeting, rules: targeting.rules.map((r, i) => (i === index ? rule : r)) });
  if (targeting.json !== null)
    return (
      <Stack gap="xs">
        <Textarea
          id={`${id}-json`}
          label={`${jsonLabel} (a condition as JSON)`}
          description="It uses more than the forms offer (nesting or not); see docs/content.md"
          value={targeting.json}
          autosize
          minRows={3}
          styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
          onChange={(e) => onChange({ ...targeting, json: e.currentTarget.value })}
          error={errors.length ? errors.join("; ") : undefined}
        />
        <Group>
          <Button size="xs" variant="default" onClick={() => onChange({ match: "all", rules: [], json: null })}>
            Start over with the forms
          </Button>
        </Group>
      </Stack>
    );
  return (
    <Stack gap="xs" role="group" aria-label={label}>
      {targeting.rules.length > 1 ? (
        <NativeSelect
          id={`${id}-match`}
          label="The visitor matches"
          value={targeting.match}
          data={[
            { value: "all", label: "all of these conditions" },
            { value: "any", label: "any of these conditions" },
          ]}
          onChange={(e) => onChange({ ...targeting, match: e.currentTarget.value as Targeting["match"] })}
          w={260}
        />
      ) : null}
      {targeting.rules.length === 0 ? (
        <Text size="sm" c="dimmed">
          {empty}
        </Text>
      ) : null}
      {targeting.rules.map((rule, k) => {
        const mine = ruleErrors[rule.id] ?? {};
        const other = Object.entries(mine).filter(([field]) => !SHOWN[rule.kind].includes(field));
        const kind = KINDS.find((x) => x.kind === rule.kind)!;
        return (
          <Card key={rule.id} withBorder padding="xs" radius="sm" bg="gray.0" role="group" aria-label={`${label}: condition ${k + 1}`} data-rule={`${id}-rule-${k}`}>
            <Group justify="space-between" mb={6} wrap="nowrap">
              <Group gap="xs">
                <Badge variant="filled" color="indigo.8">{kind.label}</Badge>
                <Text size="sm" fw={600}>
                  Condition {k + 1}
                </Text>
              </Group>
              <Button size="compact-xs" variant="default" id={`${id}-rule-${k}-remove`} aria-label={`Remove condition ${k + 1} (${label})`} onClick={() => onChange({ ...targeting, rules: targeting.rules.filter((_, i) => i !== k) })}>
                Remove
              </Button>
            </Group>
            <RuleFields rule={rule} id={`${id}-rule-${k}`} choices={choices} errors={mine} onChange={(r) => setRule(k, r)} />
            {other.map(([field, message]) => (
              <Text key={field} size="sm" c="red.9" mt={4}>
                {field}: {message}
              </Text>
            ))}
          </Card>
        );
      })}
      {errors.map((m, i) => (
        <Text key={i} size="sm" c="red.9" role="alert">
          {m}
        </Text>
      ))}
      <Text size="xs" c="dimmed">
        Add a condition. A visit is this request&apos;s device, place, referrer or campaign, time of day, new or returning visitor, known or anonymous.
      </Text>
      <Group gap={6}>
        {KINDS.map(({ kind, add }) => (
          <Button key={kind} size="compact-sm" variant="default" id={`${id}-add-${kind}`} onClick={() => onChange({ ...targeting, rules: [...targeting.rules, newRule(kind, choices)] })}>
            + {add}
          </Button>
        ))}
        <Button size="compact-sm" variant="default" id={`${id}-as-json`} onClick={() => onChange({ ...targeting, json: JSON.stringify(targeting.rules.length === 1 ? ruleCondition(targeting.rules[0]) : targeting.rules.length ? { [targeting.match]: targeting.rules.map(ruleCondition) } : {}, null, 2) })}>
          Write JSON
        </Button>
      </Group>
    </Stack>
  );
}
