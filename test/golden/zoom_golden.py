"""Writes zoom_golden.json: scipy.ndimage results that test/data.test.ts compares against.

- zoom1d: the input index each output index samples in zoom(x, (out/in, 1), order=0), the call the
  published pipelines make (`zoom(image, (256 / h, 256 / w), order=0)`), for ACDC's in-plane sizes
  to 256 and back; -1 where scipy writes its constant 0 instead of sampling.
- zoom2d: small full 2D zooms (non-square, up and down).
- rotate: ndimage.rotate(x, angle, order=0, reshape=False) of a small non-square array for every
  integer angle in [-20, 20) (the augmentation's range), plus a few larger angles.
- rot90flip: np.flip(np.rot90(x, k), axis) for every k and axis.

Run: python3 test/golden/zoom_golden.py   (needs numpy and scipy)
"""
import json
import os

import numpy as np
import scipy
from scipy import ndimage


def zoom_indices(n_in, n_out):
    # Values 1..n so that scipy's constant fill (0, for a sample computed just past the last input
    # row by rounding error) reads back as index -1.
    column = np.arange(1, n_in + 1, dtype=np.float64)[:, None]
    out = ndimage.zoom(column, (n_out / n_in, 1), order=0)
    assert out.shape == (n_out, 1), out.shape
    return [int(v) - 1 for v in out[:, 0]]


def main():
    rng = np.random.default_rng(1337)
    sizes = [1, 2, 3, 5, 154, 174, 196, 208, 216, 224, 232, 256, 288, 320, 428]
    zoom1d = [{"in": n, "out": 256, "idx": zoom_indices(n, 256)} for n in sizes]
    zoom1d += [{"in": 256, "out": n, "idx": zoom_indices(256, n)} for n in sizes if n > 1]
    zoom1d += [{"in": a, "out": b, "idx": zoom_indices(a, b)} for a, b in [(4, 8), (8, 4), (3, 7), (7, 3), (5, 9)]]

    zoom2d = []
    for h, w, oh, ow in [(5, 7, 9, 4), (6, 4, 3, 10), (3, 3, 8, 8)]:
        x = rng.integers(1, 1000, (h, w)).astype(np.float32)  # distinct-ish values; sampling only copies them
        y = ndimage.zoom(x, (oh / h, ow / w), order=0)
        zoom2d.append({"h": h, "w": w, "oh": y.shape[0], "ow": y.shape[1],
                       "x": x.ravel().tolist(), "y": y.ravel().tolist()})

    h, w = 13, 17
    x = rng.integers(1, 1000, (h, w)).astype(np.float32)  # distinct-ish values; sampling only copies them
    lab = rng.integers(0, 4, (h, w)).astype(np.uint8)
    rotate = []
    for angle in list(range(-20, 20)) + [37, 90, -135]:
        rotate.append({"angle": angle,
                       "image": ndimage.rotate(x, angle, order=0, reshape=False).ravel().tolist(),
                       "label": ndimage.rotate(lab, angle, order=0, reshape=False).ravel().tolist()})

    small = np.arange(15, dtype=np.float32).reshape(3, 5)
    rot90flip = []
    for k in range(4):
        for axis in range(2):
            y = np.flip(np.rot90(small, k), axis=axis)
            rot90flip.append({"k": k, "axis": axis, "shape": list(y.shape), "y": y.ravel().tolist()})

    fixture = {
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "zoom1d": zoom1d,
        "zoom2d": zoom2d,
        "rotate": {"h": h, "w": w, "image": x.ravel().tolist(), "label": lab.ravel().tolist(), "cases": rotate},
        "rot90flip": {"h": 3, "w": 5, "x": small.ravel().tolist(), "cases": rot90flip},
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoom_golden.json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
