import { PageHeader } from "../components/common";
import type { PageProps } from "./registry";

export function MailboxPage(_props: PageProps) {
  return <PageHeader title="Mailbox" description="Not built yet." />;
}

