// Every page of the console: its route, its place in the navigation. App.tsx renders the first route that matches.
import type { ComponentType } from "react";

import { ClockPage } from "./Clock";
import { ContentPage } from "./Content";
import { ExperimentPage, ExperimentsPage } from "./Experiments";
import { ImportsPage } from "./Imports";
import { JourneyEditorPage, JourneyPage, JourneysPage } from "./Journeys";
import { MailboxPage } from "./Mailbox";
import { OverviewPage } from "./Overview";
import { ProfilePage, ProfilesPage } from "./Profiles";
import { ScoringPage } from "./Scoring";
import { SegmentBuilderPage, SegmentPage, SegmentsPage } from "./Segments";
import { SettingsPage } from "./Settings";

export type PageProps = { params: Record<string, string> };

export interface Route {
  pattern: string;
  page: ComponentType<PageProps>;
  nav?: string; // shown in the navigation under this label
  localOnly?: boolean; // only with the local cloud (virtual clock, mailbox)
}

export const routes: Route[] = [
  { pattern: "/", page: OverviewPage, nav: "Overview" },
  { pattern: "/profiles", page: ProfilesPage, nav: "Profiles" },
  { pattern: "/profiles/:id", page: ProfilePage },
  { pattern: "/segments", page: SegmentsPage, nav: "Segments" },
  { pattern: "/segments/new", page: SegmentBuilderPage },
  { pattern: "/segments/:id/edit", page: SegmentBuilderPage },
  { pattern: "/segments/:id", page: SegmentPage },
  { pattern: "/scoring", page: ScoringPage, nav: "Scoring & questionnaires" },
  { pattern: "/journeys", page: JourneysPage, nav: "Journeys" },
  { pattern: "/journeys/new", page: JourneyEditorPage },
  { pattern: "/journeys/:id/edit", page: JourneyEditorPage },
  { pattern: "/journeys/:id", page: JourneyPage },
  { pattern: "/content", page: ContentPage, nav: "Content" },
  { pattern: "/experiments", page: ExperimentsPage, nav: "Experiments" },
  { pattern: "/experiments/:id", page: ExperimentPage },
  { pattern: "/imports", page: ImportsPage, nav: "Imports & privacy" },
  { pattern: "/settings", page: SettingsPage, nav: "Settings" },
  { pattern: "/mailbox", page: MailboxPage, nav: "Mailbox", localOnly: true },
  { pattern: "/clock", page: ClockPage, nav: "Virtual clock", localOnly: true },
];
