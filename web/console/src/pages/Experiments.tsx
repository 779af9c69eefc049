import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function ExperimentsPage(_props: PageProps) {
  return <PageHeader title="Experiments" description="Not built yet." />;
}

export function ExperimentPage(_props: PageProps) {
  return <PageHeader title="Experiment" description="Not built yet." />;
}

