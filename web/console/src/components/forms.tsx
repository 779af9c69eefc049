// What the create/edit forms of the experiments and scoring pages share: a drawer holding a form (its Save and
// Cancel always in view), the API's field errors by the path they name (shown on the input they belong to, as the
// journey editor does), and rows of name = value pairs (a slot variant's content, a goal's property filters).
import { ActionIcon, Button, Drawer, Group, Stack, Text, TextInput } from "@mantine/core";
import { useMediaQuery } from "@mantine/hooks";
import { useEffect, useRef, useState, type ReactNode } from "react";

import { Problem, type FieldError } from "../api";
import { ErrorAlert } from "./common";

export type FieldErrors = Record<string, string[]>;

/** A refusal's field errors by the path the API names (`variants[1].weight`); pydantic's "Value error, " dropped. */
export function fieldErrors(error: Error | undefined | null): FieldErrors {
  const out: FieldErrors = {};
  if (error instanceof Problem) for (const e of error.errors) (out[e.field] ??= []).push(e.message.replace(/^Value error, /, ""));
  return out;
}

/** The messages for one field, or (`under`) for it and every field below it, each then with its sub-path. */
export function errorAt(errors: FieldErrors, field: string, scope: "exact" | "under" = "exact"): string | undefined {
  const found: string[] = [];
  for (const [path, messages] of Object.entries(errors)) {
    if (path === field) found.push(...messages);
    else if (scope === "under" && (path.startsWith(`${field}.`) || path.startsWith(`${field}[`))) found.push(...messages.map((m) => `${path.slice(field.length).replace(/^\./, "")}: ${m}`));
  }
  return found.length ? found.join("; ") : undefined;
}

/** Saving a form: the faults the console found first (then nothing is sent, and they show as the API's would), or
 * the request; its refusal is kept until the next try, and the form keeps everything typed. */
export function useSubmit<T>(send: () => Promise<T>, onSaved: (saved: T) => void) {
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<Error>();
  const submit = async (faults: FieldError[]) => {
    if (faults.length) {
      setError(new Problem(400, "Not saved", "Some fields need a fix first.", faults));
      return;
    }
    setSaving(true);
    setError(undefined);
    try {
      const saved = await send();
      setSaving(false);
      onSaved(saved);
    } catch (failed) {
      setSaving(false);
      setError(failed as Error);
    }
  };
  return { saving, error, submit };
}

/** Text as the value a marketer meant: a plain number is a number, true and false are booleans, the rest is text. */
export function scalar(text: string): string | number | boolean {
  const trimmed = text.trim();
  if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  return trimmed !== "" && /^-?(0|[1-9]\d*)(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** A number field's value as the API should get it: a number, or what was typed when it is not one (so the API's
 * refusal names the field rather than the console guessing). */
export function numberOr(value: number | string): number | string {
  return typeof value === "number" ? value : value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : value;
}

/** A slug for an id from a name: "Hero headline" → "hero-headline". */
export function slug(name: string, max = 100): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, max);
}

/**
 * A form in a drawer from the right (the whole screen on a phone). Saving keeps the drawer open on a refusal, with
 * what was typed, the refusal at the top, each field error on its field, and the first such field focused.
 */
export function FormDrawer({
  opened,
  title,
  label,
  onClose,
  onSubmit,
  saving,
  error,
  errorTitle,
  submitLabel,
  children,
}: {
  opened: boolean;
  title: string;
  label: string; // the form's accessible name
  onClose: () => void;
  onSubmit: () => void;
  saving: boolean;
  error: Error | undefined;
  errorTitle: string;
  submitLabel: string;
  children: ReactNode;
}) {
  const phone = useMediaQuery("(max-width: 48em)");
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (!error || !form.current) return;
    const invalid = form.current.querySelector<HTMLElement>("[aria-invalid=true]");
    (invalid ?? form.current.querySelector<HTMLElement>("[data-form-refusal]"))?.focus();
  }, [error]);
  // The page closes the drawer by unmounting it, before Mantine can give the focus back: the button that opened it
  // gets it back here (when still on the page and nothing else took the focus).
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    return () => {
      window.setTimeout(() => {
        if (opener?.isConnected && (!document.activeElement || document.activeElement === document.body)) opener.focus();
      }, 0);
    };
  }, []);
  const problem = error instanceof Problem ? error : null;
  return (
    <Drawer opened={opened} onClose={onClose} title={title} position="right" size={phone ? "100%" : "xl"} closeOnClickOutside={false} closeButtonProps={{ "aria-label": "Close" }}>
      <form
        ref={form}
        aria-label={label}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        <Stack gap="md">
          <div tabIndex={-1} data-form-refusal style={{ outline: "none" }}>
            <ErrorAlert error={error} title={problem?.errors.length ? `${errorTitle}: see the fields marked in red` : errorTitle} />
          </div>
          {children}
        </Stack>
        <Group
          justify="flex-end"
          gap="xs"
          py="sm"
          mt="md"
          style={{ position: "sticky", bottom: 0, background: "var(--mantine-color-body)", borderTop: "1px solid var(--mantine-color-gray-3)", zIndex: 2 }}
        >
          {error ? (
            <Text size="sm" c="red.9" mr="auto">
              Not saved yet: nothing you typed is lost.
            </Text>
          ) : null}
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={saving}>
            {submitLabel}
          </Button>
        </Group>
      </form>
    </Drawer>
  );
}

export interface Pair {
  name: string;
  value: string;
}

/** Rows of name = value, each removable, with a button to add one. */
export function PairRows({
  id,
  pairs,
  onChange,
  nameLabel,
  valueLabel,
  addLabel,
  namePlaceholder,
  error,
  valueError,
}: {
  id: string;
  pairs: Pair[];
  onChange: (pairs: Pair[]) => void;
  nameLabel: string;
  valueLabel: string;
  addLabel: string;
  namePlaceholder?: string;
  error?: string;
  valueError?: (name: string) => string | undefined;
}) {
  const set = (i: number, pair: Pair) => onChange(pairs.map((p, j) => (j === i ? pair : p)));
  return (
    <Stack gap={6}>
      {pairs.map((pair, i) => (
        <Group key={i} gap="xs" align="flex-start" wrap="nowrap">
          {/* the labels show once, above the first row; every input is named (the next rows by aria-label) */}
          <TextInput
            id={`${id}-${i}-name`}
            label={i === 0 ? nameLabel : undefined}
            aria-label={i === 0 ? undefined : `${nameLabel} ${i + 1}`}
            placeholder={namePlaceholder}
            value={pair.name}
            onChange={(e) => set(i, { ...pair, name: e.currentTarget.value })}
            style={{ flex: "0 1 40%" }}
          />
          <TextInput
            id={`${id}-${i}-value`}
            label={i === 0 ? valueLabel : undefined}
            aria-label={i === 0 ? undefined : `${valueLabel} (${pair.name || `${nameLabel.toLowerCase()} ${i + 1}`})`}
            value={pair.value}
            onChange={(e) => set(i, { ...pair, value: e.currentTarget.value })}
            error={valueError?.(pair.name.trim())}
            style={{ flex: "1 1 60%" }}
          />
          <ActionIcon variant="subtle" color="red" mt={i === 0 ? 30 : 6} aria-label={`Remove ${nameLabel.toLowerCase()} ${pair.name || i + 1}`} onClick={() => onChange(pairs.filter((_, j) => j !== i))}>
            ×
          </ActionIcon>
        </Group>
      ))}
      {error ? (
        <Text size="sm" c="var(--mantine-color-error)">
          {error}
        </Text>
      ) : null}
      <div>
        <Button id={`${id}-add`} size="xs" variant="default" onClick={() => onChange([...pairs, { name: "", value: "" }])}>
          {addLabel}
        </Button>
      </div>
    </Stack>
  );
}
