// Create a scoring plan (POST /v1/scoring/plans) or change one (PUT /v1/scoring/plans/{id}, a new version): its rules
// (points each time an event or a page view matches, with caps; or once for a trait), its decay, and its tiers (the
// engagement pyramid, lowest first; the top tier's threshold is the hot-lead threshold a journey can start on).
import { Alert, Badge, Button, Card, Group, NativeSelect, NumberInput, SimpleGrid, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { useState } from "react";

import { api } from "../../api";
import { errorAt, fieldErrors, FormDrawer, useSubmit, type FieldErrors } from "../forms";
import { TRAIT_OPS } from "../segments/model";
import { checkPlan, emptyPlan, fromPlan, newRule, planBody, ruleBody, ruleNameFrom, tierRange, TRAIT_CHOICES, WHERE_OPS, type Plan, type PlanDraft, type RuleDraft, type TierDraft } from "./model";

const MAX_RULES = 100;
const MAX_TIERS = 10;

export function PlanForm({ plan, onClose, onSaved }: { plan?: Plan; onClose: () => void; onSaved: (saved: Plan) => void }) {
  const [draft, setDraft] = useState<PlanDraft>(() => (plan ? fromPlan(plan) : emptyPlan()));
  const { saving, error, submit } = useSubmit(
    () =>
      plan
        ? api.put<Plan>(`/v1/scoring/plans/${encodeURIComponent(plan.planId)}`, { ...planBody(draft), expectedVersion: plan.version })
        : api.post<Plan>("/v1/scoring/plans", planBody(draft)),
    onSaved,
  );
  const errors = fieldErrors(error);
  const at = (field: string, scope: "exact" | "under" = "exact") => errorAt(errors, field, scope);
  const set = (patch: Partial<PlanDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setRule = (i: number, rule: RuleDraft) => setDraft((d) => ({ ...d, rules: d.rules.map((r, j) => (j === i ? rule : r)) }));
  const setTier = (i: number, tier: TierDraft) => setDraft((d) => ({ ...d, tiers: d.tiers.map((t, j) => (j === i ? tier : t)) }));
  const top = draft.tiers.length - 1;
  return (
    <FormDrawer
      opened
      title={plan ? `Edit “${plan.name}”` : "New scoring plan"}
      label="Scoring plan"
      onClose={onClose}
      onSubmit={() => void submit(checkPlan(draft))}
      saving={saving}
      error={error}
      errorTitle="The plan was not saved"
      submitLabel={plan ? "Save a new version" : "Create the plan"}
    >
      {plan ? (
        <Text size="sm" c="dimmed">
          Saving makes version {plan.version + 1}. Scores already earned stay; the new rules apply to what happens from now on, and tiers are recomputed with the new thresholds. A segment that names a tier keeps the plan from losing it.
        </Text>
      ) : null}
      <Stack gap="xs">
        <TextInput id="plan-name" data-autofocus label="Name" placeholder="Engagement" required value={draft.name} error={at("name")} onChange={(e) => set({ name: e.currentTarget.value })} />
        <Textarea id="plan-description" label="Description (optional)" autosize minRows={1} value={draft.description} error={at("description")} onChange={(e) => set({ description: e.currentTarget.value })} />
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="plan-rules-title">
        <Title order={3} size="h5" id="plan-rules-title">
          Rules
        </Title>
        <Text size="sm" c="dimmed">
          Points for what people do (each time, within the caps you set) or for who they are (once). Negative points take some away.
        </Text>
        {at("rules") ? (
          <Text size="sm" c="var(--mantine-color-error)">
            {at("rules")}
          </Text>
        ) : null}
        {draft.rules.map((rule, i) => (
          <RuleCard key={i} index={i} rule={rule} errors={errors} removable={draft.rules.length > 1} onChange={(r) => setRule(i, r)} onRemove={() => set({ rules: draft.rules.filter((_, j) => j !== i) })} />
        ))}
        {draft.rules.length < MAX_RULES ? (
          <Group gap="xs">
            <Button id="plan-add-event-rule" size="xs" variant="default" onClick={() => set({ rules: [...draft.rules, newRule("event")] })}>
              Add an event rule
            </Button>
            <Button id="plan-add-page-rule" size="xs" variant="default" onClick={() => set({ rules: [...draft.rules, newRule("page")] })}>
              Add a page-view rule
            </Button>
            <Button id="plan-add-trait-rule" size="xs" variant="default" onClick={() => set({ rules: [...draft.rules, newRule("trait")] })}>
              Add a trait rule
            </Button>
          </Group>
        ) : null}
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="plan-decay-title">
        <Title order={3} size="h5" id="plan-decay-title">
          Decay
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
          <NativeSelect
            id="plan-decay"
            label="Over time"
            value={draft.decay}
            data={[
              { value: "none", label: "Points never expire" },
              { value: "expire", label: "Points expire after some days" },
              { value: "percent", label: "Scores lose a share each week" },
            ]}
            error={at("decay")}
            onChange={(e) => set({ decay: e.currentTarget.value as PlanDraft["decay"] })}
          />
          {draft.decay === "expire" ? (
            <NumberInput id="plan-decay-days" label="Days points count" min={1} max={3650} allowDecimal={false} value={draft.expireAfterDays} error={at("decay.expireAfterDays")} onChange={(v) => set({ expireAfterDays: v })} />
          ) : null}
          {draft.decay === "percent" ? (
            <NumberInput id="plan-decay-percent" label="Lost each week (%)" min={0.1} max={99.9} decimalScale={1} value={draft.percentPerWeek} error={at("decay.percentPerWeek")} onChange={(v) => set({ percentPerWeek: v })} />
          ) : null}
        </SimpleGrid>
      </Stack>

      <Stack gap="xs" component="section" aria-labelledby="plan-tiers-title">
        <Title order={3} size="h5" id="plan-tiers-title">
          Tiers (the engagement pyramid)
        </Title>
        <Text size="sm" c="dimmed">
          Lowest first: the first tier is the floor, each next one starts at a higher score. The top tier's threshold is your hot-lead threshold: a journey can start when someone crosses into a tier (trigger “a score threshold is crossed”), and segments can name a tier.
        </Text>
        {at("tiers") ? (
          <Alert color="red" p="xs" title="Fix the tiers">
            <Text size="sm">{at("tiers")}</Text>
          </Alert>
        ) : null}
        {draft.tiers.map((tier, i) => (
          <Group key={i} gap="xs" align="flex-start" wrap="wrap" data-tier={i} role="group" aria-label={`Tier ${i + 1}${tier.name ? ` ${tier.name}` : ""}`}>
            <TextInput id={`plan-t${i}-name`} label={`Tier ${i + 1} name`} value={tier.name} error={at(`tiers[${i}].name`)} onChange={(e) => setTier(i, { ...tier, name: e.currentTarget.value })} style={{ flex: "1 1 140px" }} />
            {i === 0 ? (
              <Text size="sm" c="dimmed" pt={30} style={{ flex: "1 1 160px" }}>
                The floor: {tierRange(draft.tiers, i)}
              </Text>
            ) : (
              <NumberInput
                id={`plan-t${i}-min`}
                label={i === top ? "From score (hot leads)" : "From score"}
                description={tierRange(draft.tiers, i) || " "}
                value={tier.min}
                error={at(`tiers[${i}].min`)}
                onChange={(v) => setTier(i, { ...tier, min: v })}
                style={{ flex: "1 1 160px" }}
              />
            )}
            {draft.tiers.length > 1 && i > 0 ? (
              <Button size="compact-xs" variant="subtle" color="red" mt={30} onClick={() => set({ tiers: draft.tiers.filter((_, j) => j !== i) })} aria-label={`Remove tier ${tier.name || i + 1}`}>
                Remove
              </Button>
            ) : null}
          </Group>
        ))}
        <Group gap="xs">
          {draft.tiers.length < MAX_TIERS ? (
            <Button
              id="plan-add-tier"
              size="xs"
              variant="default"
              onClick={() => {
                const last = draft.tiers[draft.tiers.length - 1];
                const min = draft.tiers.length > 1 && typeof last.min === "number" ? last.min * 2 || 10 : 10;
                set({ tiers: [...draft.tiers, { name: "", min }] });
              }}
            >
              Add a tier above
            </Button>
          ) : null}
          {draft.tiers.length === 0 ? (
            <Text size="sm" c="dimmed">
              No tiers: profiles get a score only.
            </Text>
          ) : null}
        </Group>
      </Stack>
    </FormDrawer>
  );
}

const SOURCES = [
  { value: "event", label: "Each time they do an event" },
  { value: "page", label: "Each page view" },
  { value: "trait", label: "Once, for a trait they have" },
];

function RuleCard({ index, rule, errors, removable, onChange, onRemove }: { index: number; rule: RuleDraft; errors: FieldErrors; removable: boolean; onChange: (rule: RuleDraft) => void; onRemove: () => void }) {
  const p = `rules[${index}]`;
  const id = `plan-r${index}`;
  const at = (field: string, scope: "exact" | "under" = "exact") => errorAt(errors, field, scope);
  const set = (patch: Partial<RuleDraft>) => onChange({ ...rule, ...patch });
  const label = rule.name || `rule ${index + 1}`;
  const trait = rule.source === "trait";
  const needs = TRAIT_OPS.find((o) => o.value === rule.op)?.needs;
  const part = trait ? `${p}.traits` : `${p}.activity`;
  const toJson = () => {
    try {
      set({ json: JSON.stringify(ruleBody({ ...rule, json: null })[trait ? "traits" : "activity"], null, 2) });
    } catch {
      set({ json: "{}" });
    }
  };
  return (
    <Card withBorder padding="sm" component="section" aria-label={`Rule ${label}`} data-rule={index} style={at(p, "under") ? { borderColor: "var(--mantine-color-red-6)" } : undefined}>
      <Stack gap="xs">
        <Group justify="space-between" gap="xs">
          <Text size="sm" fw={600}>
            Rule {index + 1}
          </Text>
          {removable ? (
            <Button size="compact-xs" variant="subtle" color="red" onClick={onRemove} aria-label={`Remove rule ${label}`}>
              Remove
            </Button>
          ) : null}
        </Group>
        {at(p) ? (
          <Alert color="red" p="xs" title={`Fix rule ${label}`}>
            <Text size="sm">{at(p)}</Text>
          </Alert>
        ) : null}
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
          <NativeSelect
            id={`${id}-source`}
            label="Pays"
            value={rule.source}
            data={SOURCES}
            onChange={(e) => {
              const source = e.currentTarget.value as RuleDraft["source"];
              const fresh = newRule(source);
              onChange({ ...fresh, name: rule.name, nameEdited: rule.nameEdited, points: rule.points, maxPerDay: rule.maxPerDay, maxLifetime: rule.maxLifetime, event: rule.event });
            }}
          />
          <NumberInput id={`${id}-points`} label="Points" min={-100000} max={100000} decimalScale={2} value={rule.points} error={at(`${p}.points`)} onChange={(v) => set({ points: v })} />
        </SimpleGrid>
        {rule.json !== null ? (
          <>
            <Textarea
              id={`${id}-json`}
              label={trait ? "Trait condition (JSON: trait leaves with all / any / not)" : "Activity filter (JSON: type, event, where)"}
              autosize
              minRows={3}
              styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
              value={rule.json}
              error={at(part, "under")}
              onChange={(e) => set({ json: e.currentTarget.value })}
            />
          </>
        ) : trait ? (
          <>
            <Group gap="xs" align="flex-start" wrap="wrap">
              <TextInput id={`${id}-trait`} label="Trait" placeholder="email" value={rule.trait} error={at(`${part}.trait`)} onChange={(e) => set({ trait: e.currentTarget.value, ...(rule.nameEdited ? {} : { name: ruleNameFrom(`has-${e.currentTarget.value}`) }) })} style={{ flex: "1 1 140px" }} />
              <NativeSelect id={`${id}-op`} label="Compare" value={rule.op} data={TRAIT_CHOICES} error={at(`${part}.op`)} onChange={(e) => set({ op: e.currentTarget.value })} style={{ flex: "1 1 160px" }} />
              {needs !== "none" ? <TextInput id={`${id}-value`} label="Value" value={rule.value} error={at(`${part}.value`, "under")} onChange={(e) => set({ value: e.currentTarget.value })} style={{ flex: "1 1 140px" }} /> : null}
            </Group>
            {at(part) ? (
              <Text size="sm" c="var(--mantine-color-error)">
                {at(part)}
              </Text>
            ) : null}
          </>
        ) : (
          <>
            {rule.source === "event" ? (
              <TextInput
                id={`${id}-event`}
                label="Event name"
                placeholder="Demo Requested"
                value={rule.event}
                error={at(`${part}.event`) ?? at(part)}
                onChange={(e) => set({ event: e.currentTarget.value, ...(rule.nameEdited ? {} : { name: ruleNameFrom(e.currentTarget.value) }) })}
              />
            ) : at(part) ? (
              <Text size="sm" c="var(--mantine-color-error)">
                {at(part)}
              </Text>
            ) : null}
            {rule.where.map((w, j) => {
              const wp = `${part}.where[${j}]`;
              const setWhere = (patch: Partial<typeof w>) => set({ where: rule.where.map((x, k) => (k === j ? { ...x, ...patch } : x)) });
              return (
                <Group key={j} gap="xs" align="flex-start" wrap="wrap" role="group" aria-label={`Condition ${j + 1} of rule ${label}`}>
                  <TextInput id={`${id}-w${j}-property`} label={j === 0 ? "Only where property" : "and property"} placeholder={rule.source === "page" ? "path" : "plan"} value={w.property} error={at(`${wp}.property`) ?? at(wp)} onChange={(e) => setWhere({ property: e.currentTarget.value })} style={{ flex: "1 1 130px" }} />
                  <NativeSelect id={`${id}-w${j}-op`} label="Compare" value={w.op} data={WHERE_OPS} error={at(`${wp}.op`)} onChange={(e) => setWhere({ op: e.currentTarget.value })} style={{ flex: "1 1 150px" }} />
                  {w.op !== "exists" ? <TextInput id={`${id}-w${j}-value`} label="Value" placeholder={rule.source === "page" ? "/pricing" : ""} value={w.value} error={at(`${wp}.value`, "under")} onChange={(e) => setWhere({ value: e.currentTarget.value })} style={{ flex: "1 1 130px" }} /> : null}
                  <Button size="compact-xs" variant="subtle" color="red" mt={30} onClick={() => set({ where: rule.where.filter((_, k) => k !== j) })} aria-label={`Remove condition ${j + 1} of rule ${label}`}>
                    ×
                  </Button>
                </Group>
              );
            })}
            <div>
              <Button size="compact-xs" variant="default" onClick={() => set({ where: [...rule.where, { property: "", op: "equals", value: "" }] })}>
                Add a property condition
              </Button>
            </div>
          </>
        )}
        {!trait ? (
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
            <NumberInput id={`${id}-max-day`} label="At most, points a day (optional)" min={1} value={rule.maxPerDay} error={at(`${p}.maxPerDay`)} onChange={(v) => set({ maxPerDay: v })} />
            <NumberInput id={`${id}-max-lifetime`} label="At most, points in all (optional)" min={1} value={rule.maxLifetime} error={at(`${p}.maxLifetime`)} onChange={(v) => set({ maxLifetime: v })} />
          </SimpleGrid>
        ) : null}
        <Group justify="space-between" gap="xs" align="flex-start">
          <TextInput
            id={`${id}-name`}
            label="Rule name"
            description="Lowercase letters, digits, - and _; the profile's score history names it."
            value={rule.name}
            error={at(`${p}.name`)}
            onChange={(e) => set({ name: e.currentTarget.value, nameEdited: true })}
            style={{ flex: "1 1 220px" }}
          />
          <Button size="compact-xs" variant="subtle" mt={4} onClick={rule.json === null ? toJson : () => set({ json: null })}>
            {rule.json === null ? "Edit as JSON" : "Back to the fields (drops the JSON)"}
          </Button>
        </Group>
        {trait ? (
          <Badge variant="light" color="gray" tt="none" w="fit-content">
            paid once per person
          </Badge>
        ) : null}
      </Stack>
    </Card>
  );
}
