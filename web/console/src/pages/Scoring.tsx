import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function ScoringPage(_props: PageProps) {
  return <PageHeader title="Scoring" description="Not built yet." />;
}

