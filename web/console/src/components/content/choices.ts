// What targeting and audiences may name (segments, questionnaire segments, scoring plans and their tiers), with names
// for people: shared by the content page's forms and the experiment form's audience.
import { useMemo } from "react";

import { useApi } from "../../hooks";
import type { Choices } from "./model";

interface Questionnaire {
  questionnaireId: string;
  name: string;
  key?: { segments?: { key: string; name: string }[] };
}

/** Names for segment, questionnaire and plan ids (the audiences content speaks of), and what the forms may name. */
export function useAudiences(enabled = true) {
  const segments = useApi<{ segments: { segmentId: string; name: string }[] }>(enabled ? "/v1/segments" : null);
  const questionnaires = useApi<{ questionnaires: Questionnaire[] }>(enabled ? "/v1/questionnaires" : null);
  const plans = useApi<{ plans: { planId: string; name: string; tiers?: { name: string }[] }[] }>(enabled ? "/v1/scoring/plans" : null);
  const names = useMemo(() => {
    const names: Record<string, string> = {};
    for (const s of segments.data?.segments ?? []) names[s.segmentId] = s.name;
    for (const q of questionnaires.data?.questionnaires ?? []) names[q.questionnaireId] = q.name;
    for (const p of plans.data?.plans ?? []) names[p.planId] = p.name;
    return names;
  }, [segments.data, questionnaires.data, plans.data]);
  const choices = useMemo((): Choices => {
    const segmentChoices = (segments.data?.segments ?? []).map((s) => ({ value: s.segmentId, label: s.name }));
    const questionnaireChoices = (questionnaires.data?.questionnaires ?? []).map((q) => ({
      id: q.questionnaireId,
      name: q.name,
      keys: (q.key?.segments ?? []).map((k) => ({ value: k.key, label: k.name })),
    }));
    return {
      segments: segmentChoices,
      questionnaires: questionnaireChoices,
      plans: (plans.data?.plans ?? []).map((p) => ({ id: p.planId, name: p.name, tiers: (p.tiers ?? []).map((t) => t.name) })),
      audiences: [...segmentChoices, ...questionnaireChoices.flatMap((q) => q.keys.map((k) => ({ value: k.value, label: `${k.label} (${q.name})` })))],
    };
  }, [segments.data, questionnaires.data, plans.data]);
  // the pages wait for the names (an error in any only leaves ids shown)
  return { names, choices, ready: !segments.loading && !questionnaires.loading && !plans.loading };
}

