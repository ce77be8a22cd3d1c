// From the ACDC challenge's own release — NIfTI files, database/training/patientNNN/patientNNN_frameMM.nii.gz
// each with its _gt.nii.gz — to the layout the semi-supervised literature trains on and AcdcDataset
// reads: data/<volume>.h5 (image and label, [D, H, W]), data/slices/<volume>_slice_<n>.h5 (one z-slice
// each; where SSL4MIS's and BCP's loaders look for them) and the lists of the standard split
// (acdc-split.ts).
//
// The arrays are what SSL4MIS's acdc_data_processing.py makes (read for its facts): the volume in
// SimpleITK's order ([z, y, x], the header's scaling applied), min-max normalised over the volume in
// float64 and stored as float32; the labels as stored. Two things the script does not show are taken
// from the distributed copy (the one in ../shared/data/ACDC), so that names and lists line up with it:
// a patient's two annotated frames (ED, ES) are named frame01 and frame02 in frame order, and slices
// are numbered from 1 (the script's loop would start at 0).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { ensureHdf5Ready, writeHdf5Datasets } from '../io/hdf5.js';
import { readAcdcNifti, readNiftiHeader } from '../io/nifti.js';
import { ACDC_NUM_CLASSES } from './acdc.js';
import { ACDC_TEST_PATIENTS, ACDC_TRAIN_PATIENTS, ACDC_VAL_PATIENTS, acdcVolumeName } from './acdc-split.js';
import { DataError } from './dataset.js';

/** One annotated frame of the release and the volume name it gets. */
export interface AcdcFrame {
  patient: number;
  /** The frame number in the challenge's file name (ED is usually 1, ES varies). */
  frame: number;
  /** The SSL4MIS name: patientNNN_frame01 for the earlier annotated frame, _frame02 for the later. */
  volume: string;
  image: string;
  label: string;
  /** [depth, height, width], from the headers. */
  shape: [number, number, number];
}

export interface AcdcRelease {
  frames: AcdcFrame[];
  /** Frame files without a _gt file beside them (the first testing release had none): not converted. */
  withoutLabels: string[];
}

const FRAME_FILE = /^patient(\d{3})_frame(\d{2})\.nii(\.gz)?$/;
/** database/ → training/ → patientNNN/: the release's depth, and room for one folder above it. */
const SEARCH_DEPTH = 3;

/**
 * Finds the annotated frames under `root` (up to three folders down) and reads their headers: each
 * frame's _gt must have its grid, and each patient exactly two annotated frames. Reads no voxels; a
 * problem is a DataError naming the file.
 */
export function findAcdcRelease(root: string): AcdcRelease {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DataError(root, existsSync(root) ? 'not a folder' : 'folder not found', "Point it at the ACDC challenge's database folder (training/, testing/)");
  }
  const byPatient = new Map<number, { dir: string; frames: Omit<AcdcFrame, 'volume'>[] }>();
  const withoutLabels: string[] = [];
  const visit = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.') && depth < SEARCH_DEPTH) visit(path, depth + 1);
      const m = entry.isFile() ? FRAME_FILE.exec(entry.name) : null;
      if (!m) continue;
      const label = [`_gt.nii${m[3] ?? ''}`, '_gt.nii.gz', '_gt.nii'].map((ext) => join(dir, `patient${m[1]}_frame${m[2]}${ext}`)).find(existsSync);
      if (!label) {
        withoutLabels.push(path);
        continue;
      }
      const patient = Number(m[1]);
      const seen = byPatient.get(patient) ?? { dir, frames: [] };
      if (seen.dir !== dir) throw new DataError(path, `patient ${m[1]} is also in ${seen.dir}`, 'Keep one copy of each patient under the folder');
      const image = readNiftiHeader(path);
      const gt = readNiftiHeader(label);
      if (String(image.shape) !== String(gt.shape)) {
        throw new DataError(label, `grid [${gt.shape}] differs from its image's [${image.shape}] (${path})`, 'Pair each frame with its own _gt file');
      }
      seen.frames.push({ patient, frame: Number(m[2]), image: path, label, shape: image.shape });
      byPatient.set(patient, seen);
    }
  };
  visit(root, 0);
  const frames: AcdcFrame[] = [];
  for (const [patient, { dir, frames: found }] of [...byPatient].sort((a, b) => a[0] - b[0])) {
    if (found.length !== 2) {
      throw new DataError(
        dir,
        `patient ${patient} has ${found.length} annotated frame(s) (${found.map((f) => f.frame).join(', ')}); the layout names a patient's two annotated frames (ED, ES) frame01 and frame02`,
        'Keep only the ED and ES frames with _gt files in the folder',
      );
    }
    found.sort((a, b) => a.frame - b.frame);
    found.forEach((f, i) => frames.push({ ...f, volume: acdcVolumeName(patient, (i + 1) as 1 | 2) }));
  }
  if (!frames.length) {
    throw new DataError(
      root,
      `no annotated frames found (patientNNN_frameMM.nii.gz with its _gt file, up to ${SEARCH_DEPTH} folders down)${withoutLabels.length ? `; ${withoutLabels.length} frame file(s) without _gt` : ''}`,
      "Point it at the ACDC challenge's database folder (training/, testing/)",
    );
  }
  return { frames, withoutLabels };
}

/**
 * The lists of the standard split over the frames present: train.list, train_slices.list (slices of
 * the training volumes in patient order, 1..depth), val.list, test.list, and extra.list for patients
 * outside the split (ACDC's testing patients 101–150). Empty lists are left out.
 */
export function acdcLists(frames: readonly AcdcFrame[]): Record<string, string[]> {
  const of = (patients: readonly number[]) => patients.flatMap((p) => frames.filter((f) => f.patient === p));
  const standard = new Set([...ACDC_TRAIN_PATIENTS, ...ACDC_VAL_PATIENTS, ...ACDC_TEST_PATIENTS]);
  const train = of(ACDC_TRAIN_PATIENTS);
  const lists: Record<string, string[]> = {
    'train.list': train.map((f) => f.volume),
    'train_slices.list': train.flatMap((f) => Array.from({ length: f.shape[0] }, (_, z) => `${f.volume}_slice_${z + 1}`)),
    'val.list': of(ACDC_VAL_PATIENTS).map((f) => f.volume),
    'test.list': of(ACDC_TEST_PATIENTS).map((f) => f.volume),
    'extra.list': frames.filter((f) => !standard.has(f.patient)).map((f) => f.volume),
  };
  return Object.fromEntries(Object.entries(lists).filter(([, names]) => names.length));
}

/** Writes one frame's volume file into `dataDir` and its slice files into `dataDir`/slices; reads and checks its voxels first. */
function writeFrame(frame: AcdcFrame, dataDir: string): void {
  const v = readAcdcNifti(frame.image, frame.label, ACDC_NUM_CLASSES);
  const { depth: D, height: H, width: W } = v;
  writeHdf5Datasets(join(dataDir, `${frame.volume}.h5`), { image: { shape: [D, H, W], data: v.image }, label: { shape: [D, H, W], data: v.label } });
  for (let z = 0; z < D; z++) {
    const plane = [z * H * W, (z + 1) * H * W] as const;
    writeHdf5Datasets(join(dataDir, 'slices', `${frame.volume}_slice_${z + 1}.h5`), {
      image: { shape: [H, W], data: v.image.subarray(...plane) },
      label: { shape: [H, W], data: v.label.subarray(...plane) },
    });
  }
}

/** `out` may be absent or an empty folder: a prepared set is never written over. */
export function checkAcdcOutput(out: string): void {
  if (existsSync(out) && readdirSync(out).length) {
    throw new UserError(`${out}: the folder holds files; prepare the set into a new folder (nothing is ever written over)`);
  }
}

/**
 * Converts `release` into `out`. Everything is written into a sibling folder `<out>.partial-<pid>`
 * and renamed to `out` at the end, so an interrupted run leaves no half-made set under the name the
 * trainers read (a later run removes the leftover). `onFrame` is called after each frame.
 */
export async function prepareAcdc(release: AcdcRelease, out: string, onFrame?: (done: number) => void): Promise<Record<string, string[]>> {
  checkAcdcOutput(out);
  const parent = dirname(out);
  mkdirSync(parent, { recursive: true });
  const prefix = `${basename(out)}.partial-`;
  for (const stale of readdirSync(parent).filter((n) => n.startsWith(prefix))) rmSync(join(parent, stale), { recursive: true, force: true });
  const partial = join(parent, `${prefix}${process.pid}`);
  const dataDir = join(partial, 'data');
  try {
    mkdirSync(join(dataDir, 'slices'), { recursive: true });
    await ensureHdf5Ready();
    release.frames.forEach((frame, i) => {
      writeFrame(frame, dataDir);
      onFrame?.(i + 1);
    });
    const lists = acdcLists(release.frames);
    for (const [file, names] of Object.entries(lists)) writeFileSync(join(partial, file), names.join('\n') + '\n');
    if (existsSync(out)) rmSync(out, { recursive: true }); // empty: checked above
    renameSync(partial, out);
    return lists;
  } catch (err) {
    rmSync(partial, { recursive: true, force: true }); // a bad frame found mid-way: no half-made set left behind
    throw err;
  }
}
