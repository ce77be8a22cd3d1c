// The ACDC challenge's own NIfTI release, laid out as the semi-supervised literature trains on it
// (SSL4MIS's HDF5 slices and volumes and its standard split): what train-acdc and eval-acdc read.
import { ACDC_TEST_PATIENTS, ACDC_TRAIN_PATIENTS, ACDC_VAL_PATIENTS, checkAcdcOutput, findAcdcRelease, prepareAcdc, ProgressBar } from '../../index.js';
import { defineCommand } from '../runner.js';

export default defineCommand({
  name: 'prepare-acdc',
  usage: 'node bench/prepare-acdc.js --nifti DIR --out DIR',
  description: `
Converts the ACDC challenge's NIfTI files (database/training/patientNNN/patientNNN_frameMM.nii.gz with their
_gt files; testing/ too) into the layout train-acdc and eval-acdc read (--data), which is also the one SSL4MIS
and BCP read: data/patientNNN_frame0K.h5 volumes and data/slices/patientNNN_frame0K_slice_N.h5 slices, each
volume min-max normalised to [0, 1] as SSL4MIS's preprocessing does, a patient's two annotated frames named
frame01 and frame02 in frame order; and the lists of the standard split (70 training patients in SSL4MIS's
order, so that --labeled 3 and 7 are the 5 % and 10 % splits, 10 validation, 20 test; patients outside it in
extra.list). Frames without a _gt file are skipped.`,
  options: {
    nifti: { type: 'string', metavar: 'dir', required: true, help: "the challenge's database folder (or training/ alone), searched three folders deep" },
    out: { type: 'string', metavar: 'dir', required: true, help: 'new or empty folder for the prepared set (then: train-acdc --data DIR)' },
  },
  async run(args) {
    // Every header is read and every output problem found before anything is written.
    checkAcdcOutput(args.out);
    const release = findAcdcRelease(args.nifti);
    const present = new Set(release.frames.map((f) => f.patient));
    console.error(
      `${args.nifti}: ${release.frames.length} annotated frames of ${present.size} patients` +
        (release.withoutLabels.length ? ` (${release.withoutLabels.length} frame file(s) without _gt skipped)` : '') +
        ` → ${args.out}`,
    );
    const missing = [...ACDC_TRAIN_PATIENTS, ...ACDC_VAL_PATIENTS, ...ACDC_TEST_PATIENTS].filter((p) => !present.has(p)).sort((a, b) => a - b);
    if (missing.length) {
      // A partial release still converts, but its lists are not the literature's: say so before the work.
      const named = missing.slice(0, 5).map((p) => String(p).padStart(3, '0')).join(', ') + (missing.length > 5 ? ', …' : '');
      console.error(
        `note: ${missing.length} of the standard split's 100 patients are missing (${named}): the lists hold the patients present, ` +
          'so --labeled N takes the first N training patients present, not the literature\'s split',
      );
    }
    const bar = new ProgressBar(release.frames.length, 'prepare ');
    const lists = await prepareAcdc(release, args.out, (n) => bar.update(n));
    bar.done();
    const count = (file: string) => lists[file]?.length ?? 0;
    console.log(
      `wrote ${args.out}: ${count('train.list') / 2} training patients (${count('train_slices.list')} slices), ` +
        `${count('val.list') / 2} validation, ${count('test.list') / 2} test, ${count('extra.list') / 2} outside the standard split · ` +
        `lists: ${Object.keys(lists).join(', ')}`,
    );
  },
});
