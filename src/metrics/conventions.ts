// What a score becomes where it is undefined. Two conventions, reported side by side:
//
// literature (BCP's test_ACDC, used by every row of the SRA-Seg / BCP tables): if the prediction has
//   no voxel of the class, the class scores (Dice, Jaccard, HD95, ASD) = (0, 0, 0, 0). A missed
//   structure thereby gets the best possible HD95 and ASD, which flatters the distance means.
//   Where the ground truth is empty but the prediction is not, medpy raises (BCP would crash); this
//   never happens on ACDC volumes, and here the distances stay null (undefined) in that case.
// honest: nothing is filled in. Dice/Jaccard of a missed structure are 0 (that is their value); a
//   distance to an empty mask is undefined, so HD95/ASD/ASSD are null and counted separately by the
//   summaries instead of being averaged as 0. Dice/Jaccard of two empty masks are null too.
import type { BinaryScores } from './binary.js';

export type Convention = 'literature' | 'honest';

/** The four numbers of the published tables, plus ASSD, under one convention. */
export interface ConventionScores {
  dice: number | null;
  jaccard: number | null;
  hd95: number | null;
  asd: number | null;
  assd: number | null;
}

export function applyConvention(s: BinaryScores, convention: Convention): ConventionScores {
  if (convention === 'literature' && s.predVoxels === 0) return { dice: 0, jaccard: 0, hd95: 0, asd: 0, assd: 0 };
  return { dice: s.dice, jaccard: s.jaccard, hd95: s.hd95, asd: s.asd, assd: s.assd };
}
