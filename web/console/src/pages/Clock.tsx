import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function ClockPage(_props: PageProps) {
  return <PageHeader title="Clock" description="Not built yet." />;
}

