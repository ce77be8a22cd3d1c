// The standard split of ACDC's 100 training patients in the semi-supervised literature (SSL4MIS's
// data/ACDC lists, which BCP and SRA-Seg reuse): 70 for training, 10 for validation, 20 for testing.
// Facts about a public split, written down so that `prepare-acdc` can lay out the challenge's own
// files the way every published number was made. The training order matters: the 5 % and 10 %
// labeled splits are the first 3 and 7 patients of train_slices.list, in this order.

/** Training patients, in the order of SSL4MIS's train.list / train_slices.list. */
export const ACDC_TRAIN_PATIENTS: readonly number[] = [
  99, 38, 50, 100, 58, 21, 49, 20, 72, 40, 60, 89, 4, 56, 98, 96, 31, 18, 94, 47, 48, 55, 97, 74, 43, 41, 63, 37, 95, 54, 26, 88, 32, 69, 6,
  71, 12, 73, 61, 17, 25, 10, 57, 29, 51, 5, 36, 46, 62, 34, 76, 92, 70, 77, 67, 3, 91, 16, 14, 44, 42, 90, 53, 27, 35, 86, 23, 9, 79, 15,
];

/** Validation patients, in the order of val.list. */
export const ACDC_VAL_PATIENTS: readonly number[] = [28, 85, 82, 87, 19, 30, 78, 45, 2, 39];

/** Test patients, in the order of test.list. */
export const ACDC_TEST_PATIENTS: readonly number[] = [11, 13, 84, 33, 93, 22, 68, 24, 83, 81, 80, 1, 7, 66, 8, 65, 75, 64, 59, 52];

/** The SSL4MIS name of a patient's volume: 'patient007_frame02' (frame 1 or 2: its annotated frames in order). */
export const acdcVolumeName = (patient: number, frame: 1 | 2): string => `patient${String(patient).padStart(3, '0')}_frame0${frame}`;
