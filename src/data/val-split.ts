// Honest model selection: the validation volumes split into a selection half, on which a run chooses
// its best checkpoint, and a report half, on which that checkpoint is scored — so that a reported
// figure is not the best of N validations on the very volumes that chose it. The split is by patient
// (both frames of a patient stay together), fixed, and independent of any result: patients sorted by
// id, alternately to selection (1st, 3rd, …) and report (2nd, 4th, …). On ACDC's 10 validation
// patients that gives selection 002, 028, 039, 078, 085 and report 019, 030, 045, 082, 087 — one or
// two of each pathology group (patient ids 1–20 DCM, 21–40 HCM, 41–60 MINF, 61–80 NOR, 81–100 RV)
// on either side. Names without a patient id (fundus images) are each their own patient.

import { patientOf } from './acdc.js';

export const VAL_SPLITS = ['all', 'select', 'report'] as const;
export type ValSplit = (typeof VAL_SPLITS)[number];

/** 'patient028_frame01' → 'patient028'; any other name (a fundus image) is its own patient. */
const patientOrSelf = (name: string): string => (/^patient\d+/.test(name) ? patientOf(name) : name);

/** The volumes of `names` in the given half (all of them for 'all'), in their original order. */
export function splitValidation(names: readonly string[], split: ValSplit): string[] {
  if (split === 'all') return [...names];
  const patients = [...new Set(names.map(patientOrSelf))].sort();
  const selection = new Set(patients.filter((_, i) => i % 2 === 0));
  return names.filter((n) => selection.has(patientOrSelf(n)) === (split === 'select'));
}
