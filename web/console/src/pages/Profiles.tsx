import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function ProfilesPage(_props: PageProps) {
  return <PageHeader title="Profiles" description="Not built yet." />;
}

export function ProfilePage(_props: PageProps) {
  return <PageHeader title="Profile" description="Not built yet." />;
}

