#!/usr/bin/env python3
"""Golden values for src/metrics: medpy's binary metrics re-implemented with SciPy.

medpy is not installed here, so its definitions (medpy.metric.binary, v0.4/0.5) are written out below
with the same SciPy calls it makes:
  surface(x)   = x XOR binary_erosion(x, generate_binary_structure(ndim, 1), iterations=1)
                 (scipy's default border_value=0: voxels on the volume's edge are surface voxels)
  sds(a, b)    = distance_transform_edt(NOT surface(b), sampling)[surface(a)]
  dc           = 2|A∩B| / (|A| + |B|)
  jc           = |A∩B| / |A∪B|
  hd95(a, b)   = numpy.percentile(concat(sds(a, b), sds(b, a)), 95)   (linear interpolation)
  asd(a, b)    = mean(sds(a, b))                                       (one direction only)
  assd(a, b)   = (asd(a, b) + asd(b, a)) / 2

Run by hand:  python3 test/golden/metrics_golden.py > test/golden/metrics.json
Masks are stored bit-packed (numpy.packbits, C order, first voxel in the high bit), base64-encoded.
"""
import base64
import json

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure


def surface(x):
    return x ^ binary_erosion(x, structure=generate_binary_structure(x.ndim, 1), iterations=1)


def sds(a, b, spacing):
    return distance_transform_edt(~surface(b), sampling=spacing)[surface(a)]


def metrics(pred, gt, spacing):
    inter = np.count_nonzero(pred & gt)
    d_pg = sds(pred, gt, spacing)
    d_gp = sds(gt, pred, spacing)
    return {
        'dice': 2.0 * inter / (np.count_nonzero(pred) + np.count_nonzero(gt)),
        'jaccard': inter / np.count_nonzero(pred | gt),
        'hd95': float(np.percentile(np.hstack((d_pg, d_gp)), 95)),
        'asd': float(d_pg.mean()),
        'asdReverse': float(d_gp.mean()),
        'assd': float((d_pg.mean() + d_gp.mean()) / 2),
        'hausdorff': float(max(d_pg.max(), d_gp.max())),
        'surfacePred': int(np.count_nonzero(surface(pred))),
        'surfaceGt': int(np.count_nonzero(surface(gt))),
    }


def pack(x):
    return base64.b64encode(np.packbits(x.astype(np.uint8).ravel())).decode('ascii')


def ball(shape, centre, radius, spacing=None):
    spacing = spacing or [1.0] * len(shape)
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing='ij')
    return sum((g - c) ** 2 for g, c in zip(grids, centre)) <= radius ** 2


def cases():
    rng = np.random.default_rng(1337)

    shape = (9, 12, 14)
    a = np.zeros(shape, bool); a[2:7, 3:9, 4:10] = True
    b = np.zeros(shape, bool); b[3:8, 4:10, 4:11] = True
    yield 'cube vs shifted cube', a, b, None

    shape = (13, 15, 16)
    s = ball(shape, (6, 7, 7.5), 5.2)
    noisy = ball(shape, (6.5, 7, 8), 5.0) ^ (rng.random(shape) < 0.04)
    yield 'sphere vs noisy sphere', noisy, s, None

    shape = (7, 16, 16)
    line = np.zeros(shape, bool); line[3, 2:14, 8] = True
    plate = np.zeros(shape, bool); plate[2:5, 3:15, 7] = True
    yield 'thin line vs thin plate', line, plate, None

    shape = (6, 10, 11)
    edge = np.zeros(shape, bool); edge[:, 0:4, :] = True  # touches five faces of the volume
    inner = np.zeros(shape, bool); inner[1:5, 1:6, 2:9] = True
    yield 'mask touching the border', edge, inner, None

    shape = (8, 14, 13)
    spacing = [2.5, 0.7, 1.1]
    p = ball(shape, (9.0, 4.8, 6.6), 6.0, spacing)
    g = ball(shape, (10.0, 5.2, 6.0), 6.5, spacing)
    yield 'anisotropic spacing', p, g, spacing

    shape = (10, 11, 12)
    r1 = rng.random(shape) < 0.15
    r2 = rng.random(shape) < 0.2
    yield 'random scatter', r1, r2, None

    shape = (17, 19)
    d1 = ball(shape, (8, 9), 6.3)
    d2 = ball(shape, (9, 8), 5.1) | (rng.random(shape) < 0.03)
    yield '2D disc vs noisy disc', d1, d2, [1.3, 0.9]

    shape = (1, 9, 9)
    single = np.zeros(shape, bool); single[0, 4, 4] = True
    block = np.zeros(shape, bool); block[0, 1:3, 6:9] = True
    yield 'single voxel vs block in a one-slice volume', single, block, None


def main():
    out = []
    for name, pred, gt, spacing in cases():
        out.append({
            'name': name,
            'shape': list(pred.shape),
            'spacing': spacing,
            'pred': pack(pred),
            'gt': pack(gt),
            'want': metrics(pred, gt, spacing),
        })
    print(json.dumps({'generator': 'test/golden/metrics_golden.py', 'cases': out}, indent=1))


if __name__ == '__main__':
    main()
