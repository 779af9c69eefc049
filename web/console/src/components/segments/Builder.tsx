// The segment builder's rules (behaviour, trait, environment) and its live size preview.
import { ActionIcon, Anchor, Badge, Button, Card, Checkbox, Group, NativeSelect, NumberInput, Stack, Text, TextInput } from "@mantine/core";
import { useEffect, useRef, useState } from "react";

import { api } from "../../api";
import { ErrorAlert, Link, formatNumber } from "../common";
import {
  COUNT_OPS,
  ENVIRONMENT,
  PROPERTY_OPS,
  TRAIT_OPS,
  missing,
  type BehaviourRule,
  type Condition,
  type EnvironmentRule,
  type Rule,
  type TraitRule,
} from "./model";

const KIND_LABEL: Record<Rule["kind"], string> = { behaviour: "Behaviour", trait: "Trait", environment: "Environment" };
const KIND_COLOR: Record<Rule["kind"], string> = { behaviour: "indigo.7", trait: "teal.9", environment: "grape.8" };

export function RuleCard({ rule, index, onChange, onRemove }: { rule: Rule; index: number; onChange: (rule: Rule) => void; onRemove: () => void }) {
  const lack = missing(rule);
  return (
    <Card withBorder radius="md" padding="md" data-rule={index} role="group" aria-label={`Condition ${index + 1}`}>
      <Group justify="space-between" mb="xs" wrap="nowrap">
        <Group gap="xs">
          <Badge color={KIND_COLOR[rule.kind]} variant="filled">
            {KIND_LABEL[rule.kind]}
          </Badge>
          <Text size="sm" fw={600}>
            Condition {index + 1}
          </Text>
        </Group>
        <Button size="compact-sm" variant="default" onClick={onRemove} aria-label={`Remove condition ${index + 1}`}>
          Remove
        </Button>
      </Group>
      {rule.kind === "behaviour" ? <BehaviourFields rule={rule} index={index} onChange={onChange} /> : null}
      {rule.kind === "trait" ? <TraitFields rule={rule} index={index} onChange={onChange} /> : null}
      {rule.kind === "environment" ? <EnvironmentFields rule={rule} index={index} onChange={onChange} /> : null}
      {lack ? (
        <Text size="xs" c="orange.9" mt="xs">
          Still needed: {lack}.
        </Text>
      ) : null}
    </Card>
  );
}

function BehaviourFields({ rule, index, onChange }: { rule: BehaviourRule; index: number; onChange: (rule: Rule) => void }) {
  const set = (patch: Partial<BehaviourRule>) => onChange({ ...rule, ...patch });
  const n = `rule-${index}`;
  return (
    <Stack gap="xs">
      <Group gap="sm" align="flex-end" wrap="wrap">
        <NativeSelect
          label="Activity"
          name={`${n}-activity`}
          value={rule.activity}
          onChange={(e) => {
            const activity = e.currentTarget.value as BehaviourRule["activity"];
            set({ activity, where: activity === "page" ? [{ property: "path", op: "startsWith", value: "" }] : [] });
          }}
          data={[
            { value: "page", label: "Viewed a page" },
            { value: "track", label: "Did an event" },
          ]}
          w={170}
        />
        {rule.activity === "track" ? (
          <TextInput label="Event name" name={`${n}-event`} placeholder="Order Completed" value={rule.event} onChange={(e) => set({ event: e.currentTarget.value })} style={{ flex: "1 1 180px" }} />
        ) : null}
      </Group>
      {rule.where.map((filter, i) => (
        <Group key={i} gap="sm" align="flex-end" wrap="wrap">
          <TextInput
            label={i === 0 ? "Where property" : "and property"}
            name={`${n}-where-${i}-property`}
            placeholder={rule.activity === "page" ? "path" : "category"}
            value={filter.property}
            onChange={(e) => set({ where: rule.where.map((w, j) => (j === i ? { ...w, property: e.currentTarget.value } : w)) })}
            w={150}
          />
          <NativeSelect
            label="Compare"
            name={`${n}-where-${i}-op`}
            value={filter.op}
            data={PROPERTY_OPS}
            onChange={(e) => set({ where: rule.where.map((w, j) => (j === i ? { ...w, op: e.currentTarget.value } : w)) })}
            w={130}
          />
          <TextInput
            label="Value"
            name={`${n}-where-${i}-value`}
            placeholder={rule.activity === "page" && filter.property === "path" ? "/recipes" : ""}
            value={filter.value}
            onChange={(e) => set({ where: rule.where.map((w, j) => (j === i ? { ...w, value: e.currentTarget.value } : w)) })}
            style={{ flex: "1 1 140px" }}
          />
          <ActionIcon variant="subtle" color="gray" size="lg" aria-label={`Remove property filter ${i + 1}`} onClick={() => set({ where: rule.where.filter((_, j) => j !== i) })}>
            ×
          </ActionIcon>
        </Group>
      ))}
      <Group>
        <Anchor component="button" type="button" size="sm" onClick={() => set({ where: [...rule.where, { property: "", op: "equals", value: "" }] })}>
          + Add a property filter
        </Anchor>
      </Group>
      <Group gap="sm" align="flex-end" wrap="wrap">
        <NativeSelect label="How often" name={`${n}-count`} value={rule.count} data={COUNT_OPS} onChange={(e) => set({ count: e.currentTarget.value as BehaviourRule["count"] })} w={120} />
        {rule.count !== "never" ? (
          <NumberInput label="Times" name={`${n}-times`} value={rule.times} min={0} max={100} allowDecimal={false} onChange={(v) => set({ times: typeof v === "number" ? v : Number(v) || 0 })} w={90} />
        ) : null}
        <NumberInput
          label="In the last … days"
          description="Empty: ever"
          name={`${n}-days`}
          value={rule.withinDays ?? ""}
          min={1}
          max={365}
          allowDecimal={false}
          onChange={(v) => set({ withinDays: v === "" ? null : typeof v === "number" ? v : Number(v) })}
          w={150}
        />
      </Group>
    </Stack>
  );
}

function TraitFields({ rule, index, onChange }: { rule: TraitRule; index: number; onChange: (rule: Rule) => void }) {
  const set = (patch: Partial<TraitRule>) => onChange({ ...rule, ...patch });
  const needs = TRAIT_OPS.find((o) => o.value === rule.op)?.needs;
  const n = `rule-${index}`;
  const hint: Record<string, string> = {
    list: "Comma-separated: NL, BE",
    range: "Low, high: 18, 30",
    date: "A date: 2026-03-01",
    number: "A number",
    text: "Numbers are compared as numbers",
  };
  return (
    <Group gap="sm" align="flex-start" wrap="wrap">
      <TextInput label="Trait" name={`${n}-trait`} placeholder="country" value={rule.trait} onChange={(e) => set({ trait: e.currentTarget.value })} w={170} />
      <NativeSelect label="Compare" name={`${n}-op`} value={rule.op} data={TRAIT_OPS.map(({ value, label }) => ({ value, label }))} onChange={(e) => set({ op: e.currentTarget.value })} w={210} />
      {needs !== "none" ? (
        <TextInput
          label="Value"
          name={`${n}-value`}
          value={rule.value}
          description={needs ? hint[needs] : undefined}
          onChange={(e) => set({ value: e.currentTarget.value })}
          style={{ flex: "1 1 160px" }}
        />
      ) : null}
    </Group>
  );
}

function EnvironmentFields({ rule, index, onChange }: { rule: EnvironmentRule; index: number; onChange: (rule: Rule) => void }) {
  const set = (patch: Partial<EnvironmentRule>) => onChange({ ...rule, ...patch });
  const field = ENVIRONMENT[rule.field];
  const n = `rule-${index}`;
  return (
    <Stack gap="xs">
      <NativeSelect
        label="Where the visitor was last seen"
        name={`${n}-field`}
        value={rule.field}
        data={Object.entries(ENVIRONMENT).map(([value, f]) => ({ value, label: f.label }))}
        onChange={(e) => set({ field: e.currentTarget.value, values: [], text: "" })}
        w={260}
      />
      {field?.options ? (
        <Checkbox.Group label="Is one of" value={rule.values} onChange={(values) => set({ values })}>
          <Group gap="sm" mt={4}>
            {field.options.map((o) => (
              <Checkbox key={o.value} value={o.value} label={o.label} name={`${n}-value`} />
            ))}
          </Group>
        </Checkbox.Group>
      ) : (
        <TextInput label="Is one of" description="Comma-separated" name={`${n}-text`} value={rule.text} onChange={(e) => set({ text: e.currentTarget.value })} />
      )}
    </Stack>
  );
}

export interface PreviewAnswer {
  count: number;
  scanned: number;
  complete: boolean;
  sample: string[];
}

/** The live size: the condition is previewed half a second after the last change. */
export function Preview({ condition }: { condition: Condition | null }) {
  const key = condition ? JSON.stringify(condition) : "";
  const [answer, setAnswer] = useState<{ key: string; value: PreviewAnswer } | null>(null);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const ticket = useRef(0);
  useEffect(() => {
    if (!key) {
      setBusy(false);
      return;
    }
    const mine = ++ticket.current;
    setBusy(true);
    const timer = setTimeout(() => {
      api
        .post<PreviewAnswer>("/v1/segments/preview", { condition: JSON.parse(key), sampleSize: 5 })
        .then((value) => {
          if (mine !== ticket.current) return;
          setAnswer({ key, value });
          setError(undefined);
        })
        .catch((failed: Error) => mine === ticket.current && setError(failed))
        .finally(() => mine === ticket.current && setBusy(false));
    }, 500);
    return () => clearTimeout(timer);
  }, [key]);
  const current = answer && answer.key === key ? answer.value : null;
  return (
    <Card withBorder radius="md" padding="lg" aria-label="Size preview" component="section" data-preview-for={answer?.key ?? ""} data-preview-current={key} data-preview-busy={busy ? "yes" : "no"}>
      <Text size="sm" fw={600}>
        Estimated size
      </Text>
      {!key ? (
        <Text size="sm" c="dimmed" mt={4}>
          Add a condition and fill it in to see how many profiles match.
        </Text>
      ) : (
        <>
          <Group gap="xs" align="baseline" aria-live="polite">
            <Text fz={36} fw={700} data-preview-count={current ? current.count : ""} c={current ? undefined : "dimmed"}>
              {current ? formatNumber(current.count) : answer ? formatNumber(answer.value.count) : "…"}
            </Text>
            <Text size="sm" c="dimmed">
              {current ? `profiles of ${formatNumber(current.scanned)}${current.complete ? "" : " scanned so far"}` : "updating…"}
            </Text>
          </Group>
          <ErrorAlert error={error} title="This condition cannot be previewed" />
          {current && current.sample.length ? (
            <Stack gap={2} mt="xs">
              <Text size="xs" c="dimmed">
                For example:
              </Text>
              {current.sample.map((id) => (
                <Text size="xs" ff="monospace" key={id}>
                  <Link to={`/profiles/${encodeURIComponent(id)}`}>{id}</Link>
                </Text>
              ))}
            </Stack>
          ) : null}
        </>
      )}
    </Card>
  );
}
