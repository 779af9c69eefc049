// Pieces the content forms share: the side panel a form opens in, the alert for a refusal (what names no field of
// the form; the rest shows at its field), and a confirmation before a delete.
import { Alert, Button, Drawer, Group, Modal, Stack, Text } from "@mantine/core";
import { useMediaQuery } from "@mantine/hooks";
import { useState, type ReactNode } from "react";

import { api, Problem } from "../../api";
import { ErrorAlert } from "../common";

export function FormDrawer({ opened, title, onClose, children }: { opened: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const phone = useMediaQuery("(max-width: 48em)");
  return (
    <Drawer opened={opened} onClose={onClose} title={title} position="right" size={phone ? "100%" : 860} closeButtonProps={{ "aria-label": "Close" }} closeOnClickOutside={false} styles={{ title: { fontWeight: 700, fontSize: "1.25rem" } }}>
      {children}
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
