// A wide table on a narrow screen: it scrolls sideways inside a region a keyboard can focus (axe:
// scrollable-region-focusable), so the page itself never scrolls sideways.
import type { ReactNode } from "react";

export function Scroll({ minWidth, label, children }: { minWidth: number; label: string; children: ReactNode }) {
  return (
    <div role="region" aria-label={label} tabIndex={0} style={{ overflowX: "auto", maxWidth: "100%" }}>
      <div style={{ minWidth }}>{children}</div>
    </div>
  );
}
