// A success or information notice whose title and text keep the body colour: Mantine's light green title on its
// light green background is 3.8:1, below WCAG AA (axe: color-contrast). Used by journeys, clock, content, experiments.
import { Alert, type AlertProps } from "@mantine/core";
import type { ReactNode } from "react";

export function Notice({ children, ...props }: AlertProps & { children?: ReactNode; onClose?: () => void }) {
  return (
    <Alert color="green" mb="md" {...props} styles={{ title: { color: "var(--mantine-color-text)" }, message: { color: "var(--mantine-color-text)" } }}>
      {children}
    </Alert>
  );
}
