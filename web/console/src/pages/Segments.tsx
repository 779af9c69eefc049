import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function SegmentsPage(_props: PageProps) {
  return <PageHeader title="Segments" description="Not built yet." />;
}

export function SegmentPage(_props: PageProps) {
  return <PageHeader title="Segment" description="Not built yet." />;
}

export function SegmentBuilderPage(_props: PageProps) {
  return <PageHeader title="SegmentBuilder" description="Not built yet." />;
}

