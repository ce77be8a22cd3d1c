"""Golden files for `prepare-acdc` (test/acdc-prepare.test.ts): a miniature of the ACDC challenge's own
release and the arrays the SSL4MIS preprocessing makes of it, computed here with nibabel and numpy.

Run by hand with Debian's nibabel, NumPy and PyTorch (for golden_io):
    /usr/bin/python3 test/golden/acdc_prepare.py

Writes test/golden/acdc_raw/, laid out as the challenge ships it (database/training/patientNNN/ and
database/testing/patientNNN/), with voxel grids of a few voxels:
- training/patient099 (the first patient of the standard training order), frames 01 and 11, int16
  with scl_slope 0.5 / scl_inter 3; plus its 4D cine file and Info.cfg, which are not frames.
- training/patient002 (a validation patient), frames 01 and 12, uint8, no scaling.
- training/patient001 (a test patient), frames 12 and 01 written in that order, float32.
- testing/patient101 (outside the standard split), frames 01 and 14, int16, depth 1.
- testing/patient102: frames 01 and 09 without _gt files (the first testing release had none).
Each image is [nx, ny, nz] in nibabel's (file) order; every _gt holds classes 0..3.

And acdc_prepare_expected.safetensors: for every annotated frame, under the name SSL4MIS gives it
(a patient's two annotated frames in frame order become frame01 and frame02), '<name>.image' =
the volume as SimpleITK's GetArrayFromImage reads it ([nz, ny, nx], scaling applied), min-max
normalised over the volume, (v − min) / (max − min), in float64 and then cast to float32, as
SSL4MIS's acdc_data_processing.py does (src/io/nifti.ts multiplies by the reciprocal instead: one
float64 ulp apart at most, which survives the cast to float32 about once in 10^8 voxels);
'<name>.label' the _gt file in the same order.
"""
import gzip
import os
import shutil

import nibabel as nib
import numpy as np
import torch

from golden_io import save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, 'acdc_raw')

# patient, folder, frames (in the order written), shape (nx, ny, nz), dtype, (slope, inter), with _gt
PATIENTS = [
    (99, 'training', [1, 11], (6, 5, 3), np.int16, (0.5, 3.0), True),
    (2, 'training', [1, 12], (5, 4, 2), np.uint8, None, True),
    (1, 'training', [12, 1], (4, 6, 3), np.float32, None, True),
    (101, 'testing', [1, 14], (5, 5, 1), np.int16, None, True),
    (102, 'testing', [1, 9], (4, 4, 2), np.int16, None, False),
]


def write(path, data, affine, scaling=None):
    """A .nii.gz of `data` as given (nibabel picks its own scaling on save, so scl_slope/scl_inter are
    patched into the header bytes afterwards: the file's raw values stay `data`)."""
    nii = nib.Nifti1Image(data, affine)
    nii.header.set_data_dtype(data.dtype)
    raw = bytearray(nii.to_bytes())
    if scaling:
        raw[112:120] = np.array(scaling, dtype='<f4').tobytes()
    with open(path, 'wb') as f:
        f.write(gzip.compress(bytes(raw), mtime=0))


def main():
    rng = np.random.default_rng(7)
    if os.path.exists(RAW):
        shutil.rmtree(RAW)
    expected = {}
    for pid, folder, frames, shape, dtype, scaling, with_gt in PATIENTS:
        d = os.path.join(RAW, folder, f'patient{pid:03d}')
        os.makedirs(d)
        affine = np.diag([1.5, 1.25, 10.0, 1.0])
        with open(os.path.join(d, 'Info.cfg'), 'w') as f:
            f.write(f'ED: {min(frames)}\nES: {max(frames)}\nGroup: NOR\nHeight: 170.0\nNbFrame: 20\nWeight: 70.0\n')
        cine = rng.integers(0, 200, size=shape + (2,)).astype(np.int16)
        nib.Nifti1Image(cine, affine).to_filename(os.path.join(d, f'patient{pid:03d}_4d.nii.gz'))
        for frame in frames:
            if dtype == np.float32:
                raw = rng.normal(100, 40, size=shape).astype(np.float32)
            elif dtype == np.uint8:
                raw = rng.integers(0, 256, size=shape).astype(np.uint8)
            else:
                raw = rng.integers(-40, 900, size=shape).astype(np.int16)
            name = f'patient{pid:03d}_frame{frame:02d}'
            # The raw array is stored with the header's scaling in effect: nibabel's scaled view
            # (get_fdata) is what SimpleITK hands the preprocessing script.
            write(os.path.join(d, name + '.nii.gz'), raw, affine, scaling)
            if not with_gt:
                continue
            gt = rng.integers(0, 4, size=shape).astype(np.uint8)
            write(os.path.join(d, name + '_gt.nii.gz'), gt, affine)
            img = nib.load(os.path.join(d, name + '.nii.gz'))
            lab = nib.load(os.path.join(d, name + '_gt.nii.gz'))
            v = np.asarray(img.get_fdata(dtype=np.float64)).transpose(2, 1, 0)
            v = ((v - v.min()) / (v.max() - v.min())).astype(np.float32)
            g = np.asarray(lab.dataobj).transpose(2, 1, 0).astype(np.int32)
            ssl4mis = f'patient{pid:03d}_frame{sorted(frames).index(frame) + 1:02d}'
            expected[ssl4mis + '.image'] = torch.from_numpy(np.ascontiguousarray(v))
            expected[ssl4mis + '.label'] = torch.from_numpy(np.ascontiguousarray(g))
    save_safetensors(os.path.join(HERE, 'acdc_prepare_expected.safetensors'), expected, {'volumes': str(len(expected) // 2)})
    print('wrote', RAW, 'and acdc_prepare_expected.safetensors:', len(expected) // 2, 'volumes')


if __name__ == '__main__':
    main()
