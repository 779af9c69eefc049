// The inputs the journey editor's step forms are made of: where an edge leads, a duration, raw JSON for what no form
// expresses, and inputs that keep what is being typed while the definition holds its value (a number, a list, a map
// of names to values, an event's property filters).
import { ActionIcon, Button, Fieldset, Group, NativeSelect, NumberInput, SimpleGrid, Stack, Textarea, TextInput } from "@mantine/core";
import { useState, type ReactNode } from "react";

import { PairRows, scalar, type Pair } from "../forms";
import { NODE_TYPES, type Json, type JourneyNode } from "./model";

export type Obj = { [key: string]: Json };

export const OPS = [
  { value: "equals", label: "equals" },
  { value: "notEquals", label: "does not equal" },
  { value: "in", label: "is one of (comma-separated)" },
  { value: "contains", label: "contains" },
  { value: "startsWith", label: "starts with" },
  { value: "gt", label: "is greater than" },
  { value: "gte", label: "is at least" },
  { value: "lt", label: "is less than" },
  { value: "lte", label: "is at most" },
  { value: "exists", label: "is set" },
  { value: "notExists", label: "is not set" },
];

const UNITS: [number, string][] = [
  [604800, "weeks"],
  [86400, "days"],
  [3600, "hours"],
  [60, "minutes"],
];

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Where an edge goes: another step, or nowhere (the run ends there). */
export function TargetSelect({ id, label, value, self, nodes, onChange, endLabel = "End the journey here", error }: { id: string; label: string; value: Json | undefined; self: string; nodes: JourneyNode[]; onChange: (value: string | null) => void; endLabel?: string; error?: string }) {
  const data = [{ value: "", label: endLabel }, ...nodes.filter((n) => n.id !== self).map((n) => ({ value: n.id, label: `${n.name || n.id} (${NODE_TYPES[n.type] ?? n.type})` }))];
  return <NativeSelect id={id} label={label} value={typeof value === "string" ? value : ""} data={data} onChange={(e) => onChange(e.currentTarget.value || null)} error={error} />;
}

function secondsParts(seconds: number): { amount: number; unit: number } {
  for (const [size] of UNITS) if (seconds >= size && seconds % size === 0) return { amount: seconds / size, unit: size };
  return { amount: Math.max(1, Math.round(seconds / 60)), unit: 60 };
}

/** An amount of minutes, hours, days or weeks, as seconds. */
export function Duration({ id, label, seconds, onChange, error }: { id: string; label: string; seconds: number; onChange: (seconds: number) => void; error?: string }) {
  const { amount, unit } = secondsParts(seconds || 86400);
  return (
    <Group gap="xs" align="flex-end" wrap="nowrap">
      <NumberInput id={id} label={label} value={amount} min={1} allowDecimal={false} w={120} onChange={(v) => onChange((Number(v) || 0) * unit)} error={error} />
      <NativeSelect
        id={`${id}-unit`}
        aria-label={`${label}: unit`}
        value={String(unit)}
        data={UNITS.map(([size, name]) => ({ value: String(size), label: name })).reverse()}
        onChange={(e) => onChange(amount * Number(e.currentTarget.value))}
      />
    </Group>
  );
}

/** A value as JSON, for what the forms do not express; the last value that parsed is the one kept. */
export function JsonField({ id, label, value, onChange, minRows = 3, error }: { id: string; label: string; value: Json | undefined; onChange: (value: Json) => void; minRows?: number; error?: string }) {
  const [text, setText] = useState(() => JSON.stringify(value ?? {}, null, 2));
  const [invalid, setInvalid] = useState<string>();
  return (
    <Textarea
      id={id}
      label={label}
      value={text}
      autosize
      minRows={minRows}
      styles={{ input: { fontFamily: "monospace", fontSize: 12 } }}
      error={invalid ?? error}
      onChange={(e) => {
        setText(e.currentTarget.value);
        try {
          onChange(JSON.parse(e.currentTarget.value) as Json);
          setInvalid(undefined);
        } catch {
          setInvalid("Not valid JSON yet");
        }
      }}
    />
  );
}

function shown(value: Json | undefined): string {
  return value === undefined || value === null ? "" : Array.isArray(value) ? value.join(", ") : String(value);
}

/** Inputs that belong together (the rows of traits to set, the consents to record) under a legend. */
export function FieldGroup({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <Fieldset legend={legend} variant="unstyled" styles={{ legend: { fontWeight: 600, fontSize: "var(--mantine-font-size-sm)", marginBottom: 4 } }}>
      {children}
    </Fieldset>
  );
}

/** Text that becomes a number or a boolean when it reads as one (`42`, `true`), else stays text; what is typed stays
 * as typed ("1.0" is not turned into "1" under the cursor). */
export function ScalarInput({ id, label, value, onChange, error, description, ariaLabel }: { id: string; label?: string; value: Json | undefined; onChange: (value: string | number | boolean) => void; error?: string; description?: ReactNode; ariaLabel?: string }) {
  const [text, setText] = useState(() => shown(value));
  return (
    <TextInput
      id={id}
      label={label}
      aria-label={ariaLabel}
      description={description}
      value={same(scalar(text), value) ? text : shown(value)}
      error={error}
      onChange={(e) => {
        setText(e.currentTarget.value);
        onChange(scalar(e.currentTarget.value));
      }}
    />
  );
}

const parseList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** A list of names typed comma-separated (traits to clear, tags). */
export function ListInput({ id, label, value, onChange, error, description }: { id: string; label: string; value: Json | undefined; onChange: (value: string[]) => void; error?: string; description?: ReactNode }) {
  const list = Array.isArray(value) ? value.map(String) : [];
  const [text, setText] = useState(() => list.join(", "));
  return (
    <TextInput
      id={id}
      label={label}
      description={description}
      value={same(parseList(text), list) ? text : list.join(", ")}
      error={error}
      onChange={(e) => {
        setText(e.currentTarget.value);
        onChange(parseList(e.currentTarget.value));
      }}
    />
  );
}

const toPairs = (value: Json | undefined): Pair[] => Object.entries(value && typeof value === "object" && !Array.isArray(value) ? value : {}).map(([name, v]) => ({ name, value: shown(v) }));
const toMap = (pairs: Pair[]): Obj => Object.fromEntries(pairs.filter((p) => p.name.trim()).map((p) => [p.name.trim(), scalar(p.value)]));

/** Names with values (traits to set, an event's properties, a template's variables): a number or true/false typed as
 * a value is kept as one. The rows being typed stay (an empty name is not sent). */
export function ValuesField({ id, value, onChange, nameLabel, valueLabel, addLabel, namePlaceholder, error, valueError }: { id: string; value: Json | undefined; onChange: (value: Obj) => void; nameLabel: string; valueLabel: string; addLabel: string; namePlaceholder?: string; error?: string; valueError?: (name: string) => string | undefined }) {
  const [pairs, setPairs] = useState<Pair[]>(() => {
    const found = toPairs(value);
    return found.length ? found : [{ name: "", value: "" }];
  });
  const rows = same(toMap(pairs), value ?? {}) ? pairs : toPairs(value);
  return (
    <PairRows
      id={id}
      pairs={rows}
      onChange={(next) => {
        setPairs(next);
        onChange(toMap(next));
      }}
      nameLabel={nameLabel}
      valueLabel={valueLabel}
      addLabel={addLabel}
      namePlaceholder={namePlaceholder}
      error={error}
      valueError={valueError}
    />
  );
}

/** An event's property filters (`where`): each a property, a comparison and a value; all must hold. */
export function PropertyFilters({ id, value, onChange, error }: { id: string; value: Json | undefined; onChange: (filters: Obj[]) => void; error: (path: string) => string | undefined }) {
  const filters = (Array.isArray(value) ? value : []) as Obj[];
  const setFilter = (i: number, filter: Obj) => onChange(filters.map((f, j) => (j === i ? filter : f)));
  return (
    <Stack gap={6}>
      {filters.map((f, i) => {
        const noValue = f.op === "exists" || f.op === "notExists";
        const where = `${id}-w${i}`;
        return (
          <Group key={i} gap="xs" align="flex-start" wrap="nowrap">
            <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="xs" style={{ flex: 1 }}>
              <TextInput id={`${where}-property`} label={`Property ${i + 1}`} placeholder="plan, or product.price" value={String(f.property ?? "")} onChange={(e) => setFilter(i, { ...f, property: e.currentTarget.value })} error={error(`where[${i}].property`)} />
              <NativeSelect
                id={`${where}-op`}
                label="Comparison"
                value={String(f.op ?? "equals")}
                data={OPS}
                error={error(`where[${i}].op`)}
                onChange={(e) => {
                  const op = e.currentTarget.value;
                  const next: Obj = { property: f.property ?? "", op };
                  if (op !== "exists" && op !== "notExists") next.value = op === "in" ? (Array.isArray(f.value) ? f.value : parseList(shown(f.value))) : Array.isArray(f.value) ? f.value.join(", ") : (f.value ?? "");
                  onChange(filters.map((x, j) => (j === i ? next : x)));
                }}
              />
              {noValue ? null : f.op === "in" ? (
                <ListInput id={`${where}-value`} label="Values" value={f.value} onChange={(v) => setFilter(i, { ...f, value: v })} error={error(`where[${i}].value`)} />
              ) : (
                <ScalarInput id={`${where}-value`} label="Value" value={f.value} onChange={(v) => setFilter(i, { ...f, value: v })} error={error(`where[${i}].value`)} />
              )}
            </SimpleGrid>
            <ActionIcon variant="subtle" color="red" mt={28} aria-label={`Remove property filter ${i + 1}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>
              ×
            </ActionIcon>
          </Group>
        );
      })}
      {filters.length < 20 ? (
        <div>
          <Button id={`${id}-add-filter`} size="xs" variant="default" onClick={() => onChange([...filters, { property: "", op: "equals", value: "" }])}>
            {filters.length ? "Add another property filter" : "Only when a property matches…"}
          </Button>
        </div>
      ) : null}
    </Stack>
  );
}
