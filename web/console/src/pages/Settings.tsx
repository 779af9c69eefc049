import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function SettingsPage(_props: PageProps) {
  return <PageHeader title="Settings" description="Not built yet." />;
}

