import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function OverviewPage(_props: PageProps) {
  return <PageHeader title="Overview" description="Not built yet." />;
}

