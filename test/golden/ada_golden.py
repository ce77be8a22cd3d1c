"""Reference matrices and outputs of StyleGAN2-ADA's augmentation (training/augment.py of
NVlabs/stylegan2-ada-pytorch) for fixed parameters, rebuilt here in numpy/torch following the
published formulas: G_inv composition, the padding/upsampling/affine_grid/grid_sample/downsampling of
the geometric path (upfirdn2d written out with conv2d), and the colour matrices with the 1-channel
rule. Writes test/golden/ada_golden.json. Run: /usr/bin/python3 test/golden/ada_golden.py"""
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

SYM6 = [0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633, 0.4910559419267466,
        0.787641141030194, 0.3379294217276218, -0.07263752278646252, -0.021060292512300564, 0.04472490177066578,
        0.0017677118642428036, -0.007800708325034148]


def translate2d(tx, ty): return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)
def scale2d(sx, sy): return np.array([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], dtype=np.float64)
def rotate2d(t): return np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])


def g_inv(p, w, h):
    # Each step as published: G_inv = G_inv @ T^-1.
    G = np.eye(3)
    G = G @ np.linalg.inv(scale2d(1 - 2 * p['xflip'], 1))
    G = G @ np.linalg.inv(rotate2d(-np.pi / 2 * p['rotate90']))
    G = G @ np.linalg.inv(translate2d(float(torch.round(torch.tensor(p['xint'][0] * w))), float(torch.round(torch.tensor(p['xint'][1] * h)))))
    G = G @ np.linalg.inv(scale2d(p['scale'], p['scale']))
    G = G @ np.linalg.inv(rotate2d(-p['preRotate']))
    G = G @ np.linalg.inv(scale2d(p['aniso'], 1 / p['aniso']))
    G = G @ np.linalg.inv(rotate2d(-p['postRotate']))
    G = G @ np.linalg.inv(translate2d(p['xfrac'][0] * w, p['xfrac'][1] * h))
    return G


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), flip=False, gain=1.0):
    n, c, h, w = x.shape
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    f = f * gain ** (f.ndim / 2)
    if not flip:
        f = f.flip([0, 1])
    x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down]


def geometric(images, G):
    """The published execution of a batch of G_inv [N, 3, 3]."""
    n, c, h, w = images.shape
    f = torch.tensor(np.outer(SYM6, SYM6))
    f = f / f.sum()
    hz_pad = len(SYM6) // 4
    cx, cy = (w - 1) / 2, (h - 1) / 2
    cp = np.array([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]]).T
    cp = G @ cp
    margin = cp[:, :2, :].transpose(1, 0, 2).reshape(2, -1)
    margin = np.concatenate([-margin, margin]).max(axis=1)
    margin = margin + np.array([hz_pad * 2 - cx, hz_pad * 2 - cy] * 2)
    margin = np.maximum(margin, 0)
    margin = np.minimum(margin, [w - 1, h - 1] * 2)
    mx0, my0, mx1, my1 = [int(math.ceil(m)) for m in margin]
    x = F.pad(images, [mx0, mx1, my0, my1], mode='reflect')
    G = translate2d((mx0 - mx1) / 2, (my0 - my1) / 2) @ G
    fw = f.shape[1]
    x = upfirdn2d(x, f, up=2, pad=((fw + 1) // 2, (fw - 2) // 2, (fw + 1) // 2, (fw - 2) // 2), gain=4)
    G = scale2d(2, 2) @ G @ scale2d(0.5, 0.5)
    G = translate2d(-0.5, -0.5) @ G @ translate2d(0.5, 0.5)
    shape = [n, c, (h + hz_pad * 2) * 2, (w + hz_pad * 2) * 2]
    G = scale2d(2 / x.shape[3], 2 / x.shape[2]) @ G @ scale2d(shape[3] / 2, shape[2] / 2)
    theta = torch.tensor(G[:, :2, :])
    grid = F.affine_grid(theta, shape, align_corners=False)
    x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    p = -hz_pad * 2
    x = upfirdn2d(x, f, down=2, pad=(p + (fw - 1) // 2, p + (fw - 2) // 2, p + (fw - 1) // 2, p + (fw - 2) // 2), flip=True)
    return x, [mx0, mx1, my0, my1], theta


def color_matrix(p, channels):
    I = np.eye(4)
    v = np.array([1, 1, 1, 0]) / np.sqrt(3)
    C = I
    b = p['brightness']
    C = translate3d(b, b, b) @ C
    c = p['contrast']
    C = np.diag([c, c, c, 1.0]) @ C
    C = (I - 2 * np.outer(v, v) * p['lumaflip']) @ C
    if channels > 1:
        C = rotate3d(v, p['hue']) @ C
        C = (np.outer(v, v) + (I - np.outer(v, v)) * p['saturation']) @ C
    return C


def translate3d(tx, ty, tz):
    M = np.eye(4)
    M[:3, 3] = [tx, ty, tz]
    return M


def rotate3d(v, t):
    vx, vy, vz = v[:3]
    s, c = math.sin(t), math.cos(t)
    cc = 1 - c
    return np.array([[vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
                     [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
                     [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
                     [0, 0, 0, 1]])


def apply_color(images, Cs):
    n, c, h, w = images.shape
    C = torch.tensor(np.stack(Cs))
    x = images.reshape(n, c, h * w)
    if c == 3:
        x = C[:, :3, :3] @ x + C[:, :3, 3:]
    else:
        C = C[:, :3, :].mean(dim=1, keepdims=True)
        x = x * C[:, :, :3].sum(dim=2, keepdims=True) + C[:, :, 3:]
    return x.reshape(n, c, h, w)


IDENT_G = dict(xflip=0, rotate90=0, xint=[0, 0], scale=1, preRotate=0, aniso=1, postRotate=0, xfrac=[0, 0])
IDENT_C = dict(brightness=0, contrast=1, lumaflip=0, hue=0, saturation=1)

GEOMS = [
    dict(IDENT_G, xflip=1),
    dict(IDENT_G, rotate90=3),
    dict(IDENT_G, xint=[0.11, -0.07]),
    dict(IDENT_G, scale=1.23, preRotate=0.4),
    dict(xflip=1, rotate90=1, xint=[-0.05, 0.12], scale=0.87, preRotate=-1.1, aniso=1.15, postRotate=2.3, xfrac=[0.031, -0.062]),
    dict(IDENT_G, aniso=0.8, xfrac=[-0.1, 0.05]),
]
COLORS = [
    dict(brightness=0.13, contrast=1.4, lumaflip=1, hue=0.7, saturation=0.6),
    dict(IDENT_C, brightness=-0.2),
    dict(IDENT_C, contrast=0.7, lumaflip=1),
]


def main():
    out = {'matrices': [], 'colors': [], 'pipelines': []}
    for g in GEOMS:
        out['matrices'].append({'params': g, 'width': 11, 'height': 9, 'gInv': g_inv(g, 11, 9).tolist()})
    for c in COLORS:
        out['colors'].append({'params': c, 'rgb': color_matrix(c, 3).tolist(), 'luma': color_matrix(c, 1).tolist()})

    rng = torch.Generator().manual_seed(7)
    cases = [
        (2, 1, 9, 11, [GEOMS[4], GEOMS[3]], [COLORS[0], COLORS[2]]),
        (3, 1, 10, 7, [GEOMS[0], GEOMS[5], GEOMS[1]], [IDENT_C, COLORS[1], IDENT_C]),
        (2, 3, 8, 9, [GEOMS[2], GEOMS[4]], [COLORS[0], COLORS[1]]),
    ]
    for n, c, h, w, geoms, colors in cases:
        images = torch.rand([n, c, h, w], generator=rng) * 2 - 1
        G = np.stack([g_inv(g, w, h) for g in geoms])
        y, pad, theta = geometric(images, G)
        y = apply_color(y, [color_matrix(p, c) for p in colors])
        out['pipelines'].append({'shape': [n, c, h, w], 'geometry': geoms, 'color': colors, 'images': images.flatten().tolist(),
                                 'pad': pad, 'theta': theta.flatten().tolist(), 'output': y.flatten().tolist()})
    with open('test/golden/ada_golden.json', 'w') as f:
        json.dump(out, f)


if __name__ == '__main__':
    main()
