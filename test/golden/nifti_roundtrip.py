"""Checks, with nibabel, a label volume written by our NIfTI writer (src/io/nifti-write.ts) against the
volume it was predicted from: same grid (shape, sform and qform with their codes, pixdim, units,
orientation), the other header fields kept, uint8 labels, and the labels themselves.

Run by hand after segmenting the fixture with the BCP golden checkpoint (test/golden/bcp_checkpoint.py):

  node build.mjs
  node bench/segment.js --checkpoint test/golden/bcp_tiny.pth --input test/golden/oblique_tiny.nii.gz --size 32 --out /tmp/seg
  node bench/segment.js --checkpoint test/golden/bcp_tiny.pth --input test/golden/oblique_tiny_nifti2.nii.gz --size 32 --out /tmp/seg
  /usr/bin/python3 test/golden/nifti_roundtrip.py test/golden/oblique_tiny.nii.gz /tmp/seg/oblique_tiny.nii.gz
  /usr/bin/python3 test/golden/nifti_roundtrip.py test/golden/oblique_tiny_nifti2.nii.gz /tmp/seg/oblique_tiny_nifti2.nii.gz

The expected labels are PyTorch's under BCP's test protocol ('labels' in bcp_tiny_expected.safetensors,
stored [z, y, x]); nibabel indexes [x, y, z], so a writer that transposed or flipped the voxel order
fails here even where our own reader would agree with it.
"""
import json
import struct
import sys

import nibabel as nib
import numpy as np

EXPECTED = 'test/golden/bcp_tiny_expected.safetensors'
# Fields that describe the voxel values and are meant to change; everything else must be kept.
CHANGED = {'datatype', 'bitpix', 'vox_offset', 'scl_slope', 'scl_inter', 'cal_min', 'cal_max',
           'intent_code', 'intent_p1', 'intent_p2', 'intent_p3', 'intent_name', 'glmax', 'glmin'}


def load_tensor(path, name):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        info = header[name]
        begin, end = info['data_offsets']
        f.seek(8 + n + begin)
        raw = f.read(end - begin)
    dtype = {'F32': np.float32, 'I32': np.int32}[info['dtype']]
    return np.frombuffer(raw, dtype).reshape(info['shape'])


def main(source_path, written_path):
    src = nib.load(source_path)
    out = nib.load(written_path)
    hs, ho = src.header, out.header
    checks = []

    def check(what, ok):
        checks.append((what, bool(ok)))

    check('same NIfTI version', type(hs) is type(ho))
    check('shape', src.shape == out.shape)
    check('datatype uint8', ho.get_data_dtype() == np.uint8)
    for code_name, get in (('sform', lambda i: i.get_sform(coded=True)), ('qform', lambda i: i.get_qform(coded=True))):
        (a, ca), (b, cb) = get(src), get(out)
        check(f'{code_name} code {ca}', ca == cb)
        check(f'{code_name} matrix', a is not None and b is not None and np.array_equal(a, b))
    check('affine (nibabel best)', np.array_equal(src.affine, out.affine))
    check('zooms / pixdim', np.array_equal(hs['pixdim'], ho['pixdim']))
    check('axis codes', nib.aff2axcodes(src.affine) == nib.aff2axcodes(out.affine))
    for field in hs.keys():
        if field in CHANGED or field == 'magic':
            continue
        check(f'header field {field}', np.array_equal(np.asarray(hs[field]), np.asarray(ho[field])))
    check('scaling off (slope 1, inter 0)', tuple(ho.get_slope_inter()) in ((None, None), (1.0, 0.0)))
    check('intent = label', ho.get_intent()[0] == 'label')

    labels = np.asanyarray(out.dataobj)
    expected = load_tensor(EXPECTED, 'labels').transpose(2, 1, 0)  # [z, y, x] → nibabel's [x, y, z]
    check('labels are PyTorch\'s (BCP protocol)', labels.dtype == np.uint8 and np.array_equal(labels, expected))
    check('cal_max = largest label', ho['cal_max'] == labels.max())

    failed = [w for w, ok in checks if not ok]
    for what, ok in checks:
        print(('ok   ' if ok else 'FAIL ') + what)
    print(f'{len(checks) - len(failed)} of {len(checks)} checks passed: {written_path} {"matches" if not failed else "does NOT match"} {source_path}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
