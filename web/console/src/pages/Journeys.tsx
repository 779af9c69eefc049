import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function JourneysPage(_props: PageProps) {
  return <PageHeader title="Journeys" description="Not built yet." />;
}

export function JourneyPage(_props: PageProps) {
  return <PageHeader title="Journey" description="Not built yet." />;
}

export function JourneyEditorPage(_props: PageProps) {
  return <PageHeader title="JourneyEditor" description="Not built yet." />;
}

