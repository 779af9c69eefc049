import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function ImportsPage(_props: PageProps) {
  return <PageHeader title="Imports" description="Not built yet." />;
}

