#!/usr/bin/env python3
"""The real-vs-real floor for the synthetic pool's FD: writes the 1176 unlabeled real training slices
(train_slices.list after the 7 labeled patients' 136) area-resampled to SIZE² as .h5 into OUT, so that
`bench/fd.js --synthetic OUT` measures the labeled reals against real slices the same way it measures
them against the generator's. Usage: real-baseline.py ACDC_DIR OUT [SIZE=64]"""
import os
import sys

import h5py
import numpy as np


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """Box integration: output pixel j averages input [j·n_in/n_out, (j+1)·n_in/n_out), partial pixels weighted."""
    w = np.zeros((n_out, n_in))
    s = n_in / n_out
    for j in range(n_out):
        a, b = j * s, (j + 1) * s
        for i in range(int(np.floor(a)), int(np.ceil(b))):
            w[j, i] = max(0.0, min(b, i + 1) - max(a, i)) / s
    return w


def main(root: str, out: str, size: int = 64) -> None:
    names = open(os.path.join(root, 'train_slices.list')).read().split()
    labeled = 136  # the 10 % split: the first 7 patients (src/data/acdc.ts, ACDC_STANDARD_SPLITS)
    os.makedirs(out, exist_ok=True)
    for n in names[labeled:]:
        im = h5py.File(os.path.join(root, 'data', f'{n}.h5'))['image'][:].astype(np.float64)
        small = area_weights(im.shape[0], size) @ im @ area_weights(im.shape[1], size).T
        with h5py.File(os.path.join(out, f'{n}.h5'), 'w') as f:
            f['image'] = small.astype(np.float32)
    print(f'{len(names) - labeled} real unlabeled slices at {size}² in {out}')


if __name__ == '__main__':
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 64)
