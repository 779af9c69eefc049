import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function ContentPage(_props: PageProps) {
  return <PageHeader title="Content" description="Not built yet." />;
}

