// Pieces the content forms share: the side panel a form opens in, the alert for a refusal (what names no field of
// the form; the rest shows at its field), and a confirmation before a delete.
import { Alert, Button, Drawer, Group, Modal, Stack, Text } from "@mantine/core";
import { useMediaQuery } from "@mantine/hooks";
import { useEffect, useRef, useState, type ReactNode } from "react";

import { api, Problem } from "../../api";
import { ErrorAlert } from "../common";

/** A form in a side panel (the whole screen on a phone). Closing it (its close button, Escape, or the form's own
 * Cancel: `children` gets that close) with changes not saved asks first. */
export function FormDrawer({ title, dirty, onClose, children }: { title: string; dirty: boolean; onClose: () => void; children: (close: () => void) => ReactNode }) {
  const phone = useMediaQuery("(max-width: 48em)");
  const [asking, setAsking] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) keep.current?.focus();
  }, [asking]);
  const close = () => (dirty ? setAsking(true) : onClose());
  return (
    <Drawer opened onClose={close} title={title} position="right" size={phone ? "100%" : 860} closeButtonProps={{ "aria-label": "Close" }} closeOnClickOutside={false} styles={{ title: { fontWeight: 700, fontSize: "1.25rem" } }}>
      {asking ? (
        <Alert color="orange" title="Discard your changes?" mb="md" role="alertdialog" aria-label="Discard your changes?" styles={{ title: { color: "var(--mantine-color-text)" }, message: { color: "var(--mantine-color-text)" } }}>
          <Text size="sm">What you changed in this form is not saved.</Text>
          <Group gap="xs" mt="sm">
            <Button size="xs" variant="default" onClick={() => setAsking(false)} ref={keep} id="keep-editing">
              Keep editing
            </Button>
            <Button size="xs" color="red.9" onClick={onClose} id="discard-changes">
              Discard
            </Button>
          </Group>
        </Alert>
      ) : null}
      {children(close)}
    </Drawer>
  );
}

/** Why a save was refused: the messages that name no field of the form (each other one is shown at its field). */
export function Refusal({ error, general, title }: { error: Error | null; general: string[]; title: string }) {
  if (!error) return null;
  const problem = error instanceof Problem ? error : null;
  const placed = problem ? problem.errors.length - general.length : 0;
  return (
    <Alert color="red" title={title} role="alert" mb="md" data-refusal>
      <Text size="sm">{problem ? (placed > 0 ? "Fix the fields marked in red." : problem.detail || problem.title) : error.message}</Text>
      {general.length ? (
        <ul style={{ margin: "0.5rem 0 0", paddingLeft: "1.2rem" }}>
          {general.map((m, i) => (
            <li key={i}>
              <Text size="sm">{m}</Text>
            </li>
          ))}
        </ul>
      ) : null}
    </Alert>
  );
}

/** A delete, once confirmed: `DELETE path`, then `onDeleted`. */
export function ConfirmDelete({ what, name, path, onClose, onDeleted, children }: { what: string; name: string; path: string; onClose: () => void; onDeleted: () => void; children?: ReactNode }) {
  const [error, setError] = useState<Error>();
  const [running, setRunning] = useState(false);
  const remove = async () => {
    setRunning(true);
    setError(undefined);
    try {
      await api.delete(path);
      onDeleted();
    } catch (failed) {
      setError(failed as Error);
    } finally {
      setRunning(false);
    }
  };
  return (
    <Modal opened onClose={onClose} title={`Delete the ${what} “${name}”?`} centered closeButtonProps={{ "aria-label": "Close" }}>
      <Stack>
        <Text size="sm">{children ?? `The ${what} is deleted at once. This cannot be undone.`}</Text>
        <ErrorAlert error={error} title={`The ${what} was not deleted`} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} data-autofocus>
            Cancel
          </Button>
          <Button color="red.8" onClick={() => void remove()} loading={running} id="confirm-delete">
            Delete
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
