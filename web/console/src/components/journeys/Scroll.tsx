// A wide table's horizontal scroller that a keyboard can reach (axe: scrollable-region-focusable): Mantine's
// Table.ScrollContainer scrolls a viewport that cannot take focus. Used by the journeys, content, experiments,
// settings and mailbox pages.
import type { ReactNode } from "react";

export function Scroll({ minWidth, label = "Table (scrolls sideways on a small screen)", children }: { minWidth: number; label?: string; children: ReactNode }) {
  return (
    <div role="region" aria-label={label} tabIndex={0} style={{ overflowX: "auto" }}>
      <div style={{ minWidth }}>{children}</div>
    </div>
  );
}
