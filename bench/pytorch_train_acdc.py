"""PyTorch twin of the engine's supervised UNet trainer on ACDC (bench/train-acdc.js --method supervised),
so the two engines' validation Dice can be compared over seeds: same training, same result.

What is the same as the engine (src/train/supervised.ts, stage.ts, batch.ts, evaluate.ts):
- data: labeled = the first P patients of train_slices.list (or the first N slices), validation on
  the first --val-volumes volumes of val.list;
- batches: the engine's host-side generators (xoshiro128** seeded by splitmix32, deriveSeed) drive
  the same two-stream sampler and the same augmentation draws, so for a given --seed the twin sees
  byte-identical batches (check: --dump-batches N against bench/dump-batches.js);
- the SSL4MIS/BCP UNet with PyTorch's parameter names, loss 0.5·(CE + Dice with squared denominators,
  pooled over the batch, background included, smooth 1e-5), torch.optim.SGD (the engine's SGD is
  PyTorch's: L2 decay added to the gradient, first momentum buffer = the gradient);
- validation: BCP's volume protocol (slices zoomed to --size, argmax, zoomed back, 3D Dice per class,
  literature convention: an empty prediction scores 0), best/last checkpoints as safetensors that
  the engine loads (bench/eval-acdc.js), log.jsonl with the engine's row shapes.
What differs, and is what the seeds vary: weight initialisation and dropout masks (torch's generator
here, Philox on the GPU in the engine).

Run with Debian's PyTorch (CPU):
  /usr/bin/python3 bench/pytorch_train_acdc.py --data ../shared/data/ACDC --labeled 7 --size 128 \\
      --batch 8 --iterations 800 --val-every 100 --seed 1337 --threads 1 --out runs/torch-supervised-7p-128
"""
import argparse
import json
import math
import os
import re
import struct
import sys
import time

import h5py
import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'test', 'golden'))
from generate_unet import PUBLISHED_DROPOUT, UNet  # noqa: E402  (the one PyTorch UNet of the project)

M32 = 0xFFFFFFFF

# ---------------------------------------------------------------------------------------------
# The engine's host-side random generators (src/data/rng.ts), bit for bit.


def splitmix32(x):
    x = (x + 0x9E3779B9) & M32
    z = x
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
    return (z ^ (z >> 16)) & M32


def derive_seed(seed, *parts):
    h = splitmix32(seed & M32)
    for p in parts:
        h = splitmix32((h ^ (((p & M32) * 0x27D4EB2D) & M32)) & M32)
    return h


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class SeededRng:
    """xoshiro128** with the engine's seeding (four splitmix32 words)."""

    def __init__(self, seed):
        x = seed & M32
        words = []
        for _ in range(4):
            x = splitmix32(x)
            words.append(x)
        if not any(words):
            words[0] = 1
        self.s = words

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next(self):
        return self.next_u32() / 4294967296

    def int(self, lo, hi):
        return lo + math.floor(self.next() * (hi - lo))

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.int(0, i + 1)
            p[i], p[j] = p[j], p[i]
        return p


class LabeledBatchSampler:
    """src/data/sampler.ts with an empty unlabeled stream: an epoch is a fresh permutation of the
    labeled indices, cut into batches; a short last batch is dropped."""

    def __init__(self, labeled, batch, seed):
        if len(labeled) < batch:
            raise SystemExit(f'error: {len(labeled)} labeled slices cannot fill a batch of {batch}: lower --batch or raise --labeled')
        self.labeled, self.batch = list(labeled), batch
        self.per_epoch = len(labeled) // batch
        self.rng = SeededRng(seed)
        self._start_epoch()

    def _start_epoch(self):
        self.order = [self.labeled[i] for i in self.rng.permutation(len(self.labeled))]
        self.pos = 0

    def next(self):
        if self.pos == self.per_epoch:
            self._start_epoch()
        out = self.order[self.pos * self.batch:(self.pos + 1) * self.batch]
        self.pos += 1
        return out


# ---------------------------------------------------------------------------------------------
# Augmentation and nearest zoom (src/data/augment.ts, zoom.ts): the published RandomGenerator.


def draw_augmentation(rng):
    if rng.next() > 0.5:
        k = rng.int(0, 4)
        return ('rot90-flip', k, rng.int(0, 2))
    if rng.next() > 0.5:
        return ('rotate', rng.int(-20, 20))
    return ('none',)


def cos_sin_degrees(degrees):
    d = degrees % 360
    exact = {0: (1.0, 0.0), 90: (0.0, 1.0), 180: (-1.0, 0.0), 270: (0.0, -1.0)}
    if d in exact:
        return exact[d]
    rad = degrees * math.pi / 180
    return math.cos(rad), math.sin(rad)


def rotate_nearest(x, degrees):
    """scipy.ndimage.rotate(x, degrees, order=0, reshape=False) with the engine's arithmetic order:
    input (row, col) = R·(out row, out col) + offset, samples outside [0, h−1]×[0, w−1] become 0."""
    h, w = x.shape
    c, s = cos_sin_degrees(degrees)
    cr, cc = (h - 1) / 2, (w - 1) / 2
    off_row = cr - (c * cr + s * cc)
    off_col = cc - (-s * cr + c * cc)
    i = np.arange(h, dtype=np.float64)[:, None]
    j = np.arange(w, dtype=np.float64)[None, :]
    r = c * i + s * j + off_row
    q = -s * i + c * j + off_col
    inside = (r >= 0) & (r <= h - 1) & (q >= 0) & (q <= w - 1)
    out = np.zeros_like(x)
    out[inside] = x[np.floor(r[inside] + 0.5).astype(np.int64), np.floor(q[inside] + 0.5).astype(np.int64)]
    return out


def aug_json(aug):
    """An augmentation as the engine's Augmentation object (bench/dump-batches.js writes those)."""
    if aug[0] == 'rot90-flip':
        return {'kind': aug[0], 'k': aug[1], 'axis': aug[2]}
    if aug[0] == 'rotate':
        return {'kind': aug[0], 'degrees': aug[1]}
    return {'kind': aug[0]}


def apply_augmentation(x, aug):
    if aug[0] == 'rot90-flip':
        return np.ascontiguousarray(np.flip(np.rot90(x, aug[1]), aug[2]))
    if aug[0] == 'rotate':
        return rotate_nearest(x, aug[1])
    return x


def zoom_indices(n_in, n_out):
    """scipy.ndimage.zoom(order=0) sampling: floor(k·(in−1)/(out−1) + 0.5), −1 (write 0) past the edge."""
    if n_out == 1:
        return np.zeros(1, dtype=np.int64)
    x = np.arange(n_out, dtype=np.float64) * ((n_in - 1) / (n_out - 1))
    idx = np.floor(x + 0.5).astype(np.int64)
    idx[x > n_in - 1] = -1
    return idx


def zoom_nearest(x, oh, ow):
    rows, cols = zoom_indices(x.shape[0], oh), zoom_indices(x.shape[1], ow)
    out = np.zeros((oh, ow), dtype=x.dtype)
    rv, cv = rows >= 0, cols >= 0
    out[np.ix_(rv, cv)] = x[np.ix_(rows[rv], cols[cv])]
    return out


# ---------------------------------------------------------------------------------------------
# ACDC in the SSL4MIS layout (src/data/acdc.ts).


def read_list(path):
    if not os.path.exists(path):
        raise SystemExit(f'error: {path}: list file not found. Point --data at the ACDC directory (it holds train_slices.list and val.list)')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def patient_of(name):
    return re.match(r'^(patient\d+)', name).group(1)


def labeled_slice_count(names, labeled):
    if labeled.endswith('s'):
        n = int(labeled[:-1])
        if not 0 <= n <= len(names):
            raise SystemExit(f'error: --labeled {labeled}: the list has {len(names)} slices')
        return n
    wanted, seen = int(labeled), []
    for i, name in enumerate(names):
        p = patient_of(name)
        if p not in seen:
            if len(seen) == wanted:
                return i
            seen.append(p)
    if len(seen) < wanted:
        raise SystemExit(f'error: --labeled {labeled}: the list has {len(seen)} patients')
    return len(names)


class Acdc:
    def __init__(self, root, labeled):
        self.root = root
        self.data_dir = os.path.join(root, 'data')
        if not os.path.isdir(self.data_dir):
            raise SystemExit(f'error: {self.data_dir}: data directory not found. Point --data at the ACDC directory (it holds data/ and the .list files)')
        slices = os.path.join(self.data_dir, 'slices')
        self.slice_dir = slices if os.path.isdir(slices) else self.data_dir
        self.train_slices = read_list(os.path.join(root, 'train_slices.list'))
        self.val_volumes = read_list(os.path.join(root, 'val.list'))
        self.labeled = list(range(labeled_slice_count(self.train_slices, labeled)))
        self.slice_cache, self.volume_cache = {}, {}

    @staticmethod
    def _read(path):
        with h5py.File(path, 'r') as f:
            return np.asarray(f['image'], dtype=np.float32), np.asarray(f['label'], dtype=np.uint8)

    def slice(self, i):
        if i not in self.slice_cache:
            self.slice_cache[i] = self._read(os.path.join(self.slice_dir, self.train_slices[i] + '.h5'))
        return self.slice_cache[i]

    def volume(self, name):
        if name not in self.volume_cache:
            self.volume_cache[name] = self._read(os.path.join(self.data_dir, name + '.h5'))
        return self.volume_cache[name]

    def describe(self):
        n, lab = len(self.train_slices), len(self.labeled)
        pat = lambda idx: len({patient_of(self.train_slices[i]) for i in idx})  # noqa: E731
        return (f'ACDC at {self.root}: {n} training slices, {lab} labeled ({pat(range(lab))} patients), '
                f'{n - lab} unlabeled ({pat(range(lab, n))} patients), {len(self.val_volumes)} validation volumes')


def prepare_batch(data, indices, size, rng):
    """src/train/batch.ts: per slice, one augmentation draw, the warp, the nearest zoom."""
    images = np.zeros((len(indices), 1, size, size), dtype=np.float32)
    labels = np.zeros((len(indices), size, size), dtype=np.int32)
    augs = []
    for b, i in enumerate(indices):
        image, label = data.slice(i)
        aug = draw_augmentation(rng)
        augs.append(aug)
        images[b, 0] = zoom_nearest(apply_augmentation(image, aug), size, size)
        labels[b] = zoom_nearest(apply_augmentation(label, aug), size, size)
    return images, labels, augs


def supervised_loss(logits, labels):
    """src/train/supervised-loss.ts: 0.5·(CE + Dice), Dice on softmax per class pooled over the batch."""
    onehot = F.one_hot(labels, logits.shape[1]).permute(0, 3, 1, 2).float()
    probs = logits.softmax(1)
    inter = (probs * onehot).sum((0, 2, 3))
    z = (probs * probs).sum((0, 2, 3))
    y = (onehot * onehot).sum((0, 2, 3))
    dice = 1 - ((2 * inter + 1e-5) / (z + y + 1e-5)).mean()
    return 0.5 * (F.cross_entropy(logits, labels) + dice)


# ---------------------------------------------------------------------------------------------
# Validation: BCP's volume protocol (src/train/evaluate.ts, src/metrics/: medpy semantics).

EVAL_BATCH = 8


@torch.no_grad()
def predict_volume(model, image, size):
    depth, h, w = image.shape
    pred = np.zeros((depth, h, w), dtype=np.uint8)
    for z0 in range(0, depth, EVAL_BATCH):
        zs = range(z0, min(depth, z0 + EVAL_BATCH))
        x = np.stack([zoom_nearest(image[z], size, size) for z in zs])[:, None]
        small = model(torch.from_numpy(x)).argmax(1).numpy().astype(np.uint8)
        for k, z in enumerate(zs):
            pred[z] = zoom_nearest(small[k], h, w)
    return pred


def surface(mask):
    """The voxels one cross-shaped erosion removes, the outside counted as background (medpy)."""
    return mask & ~ndi.binary_erosion(mask, structure=ndi.generate_binary_structure(mask.ndim, 1), border_value=0)


def score_class(pred, gt):
    """(literature Dice, literature HD95 or None): an empty prediction scores (0, 0); HD95 is
    undefined when only the ground truth is empty."""
    p, g = int(pred.sum()), int(gt.sum())
    if p == 0:
        return 0.0, 0.0
    dice = 2 * int((pred & gt).sum()) / (p + g)
    if g == 0:
        return dice, None
    sp, sg = surface(pred), surface(gt)
    d = np.concatenate([ndi.distance_transform_edt(~sg)[sp], ndi.distance_transform_edt(~sp)[sg]])
    return dice, float(np.percentile(d, 95))


def evaluate(model, data, names, size, classes=4):
    per_volume = {}
    hd95 = [[] for _ in range(classes - 1)]
    for name in names:
        image, label = data.volume(name)
        pred = predict_volume(model, image, size)
        row = []
        for c in range(1, classes):
            d, h = score_class(pred == c, label == c)
            row.append(d)
            if h is not None:
                hd95[c - 1].append(h)
        per_volume[name] = row
    per_class = [float(np.mean([v[k] for v in per_volume.values()])) for k in range(classes - 1)]
    hd_means = [float(np.mean(v)) for v in hd95 if v]
    return {
        'dice': float(np.mean(per_class)),
        'hd95': float(np.mean(hd_means)) if hd_means else None,
        'perClass': per_class,
        'perVolume': per_volume,
    }


# ---------------------------------------------------------------------------------------------
# safetensors (https://github.com/huggingface/safetensors format: u64 header length, JSON header,
# raw little-endian data), written atomically like the engine's checkpoints.

DTYPES = {torch.float32: 'F32', torch.int64: 'I64', torch.int32: 'I32'}


def save_safetensors(path, state, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in state.items():
        raw = t.detach().cpu().contiguous().numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description='PyTorch twin of `node bench/train-acdc.js --method supervised` (CPU).')
    ap.add_argument('--data', required=True, help='ACDC directory in the SSL4MIS layout (train_slices.list, val.list, data/)')
    ap.add_argument('--labeled', default='7', help="labeled patients (3 = '5%%', 7 = '10%%'), or N slices as 'Ns'")
    ap.add_argument('--size', type=int, default=256, help='training image size (nearest zoom)')
    ap.add_argument('--batch', type=int, default=12, help='labeled slices per batch')
    ap.add_argument('--iterations', type=int, default=30000)
    ap.add_argument('--val-every', type=int, default=200)
    ap.add_argument('--log-every', type=int, default=10)
    ap.add_argument('--val-volumes', type=int, default=None, help='validate on the first N volumes of val.list (default: all)')
    ap.add_argument('--lr', type=float, default=0.01)
    ap.add_argument('--momentum', type=float, default=0.9)
    ap.add_argument('--weight-decay', type=float, default=1e-4)
    ap.add_argument('--seed', type=int, default=1337, help='seeds the batch and augmentation streams (as the engine) and torch (weights, dropout)')
    ap.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    ap.add_argument('--out', default=None, help='run folder (default runs/torch-supervised-acdc-<time>)')
    ap.add_argument('--dump-batches', type=int, default=0, metavar='N',
                    help='write the first N batches to --out (images.f32, labels.i32, batches.json, as bench/dump-batches.js) and exit')
    a = ap.parse_args()
    if a.size % 16:
        ap.error(f'--size {a.size}: must be a multiple of 16 (four 2× poolings)')
    return a


def main():
    a = parse_args()
    data = Acdc(a.data, a.labeled)
    out = a.out or os.path.join('runs', 'torch-supervised-acdc-' + time.strftime('%Y-%m-%dT%H-%M-%S', time.gmtime()))
    os.makedirs(out, exist_ok=True)
    sampler = LabeledBatchSampler(data.labeled, a.batch, derive_seed(a.seed, 1))
    data_rng = SeededRng(derive_seed(a.seed, 2))

    if a.dump_batches:
        images, labels, batches = [], [], []
        for _ in range(a.dump_batches):
            idx = sampler.next()
            x, y, augs = prepare_batch(data, idx, a.size, data_rng)
            images.append(x)
            labels.append(y)
            batches.append({'indices': idx, 'names': [data.train_slices[i] for i in idx], 'augmentations': [aug_json(g) for g in augs]})
        np.concatenate(images).astype('<f4').tofile(os.path.join(out, 'images.f32'))
        np.concatenate(labels).astype('<i4').tofile(os.path.join(out, 'labels.i32'))
        with open(os.path.join(out, 'batches.json'), 'w') as f:
            json.dump({'seed': a.seed, 'size': a.size, 'batch': a.batch, 'labeled': a.labeled, 'batches': batches}, f, indent=1)
        print(f'{a.dump_batches} batches of {a.batch} at {a.size}×{a.size} → {out}')
        return

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = UNet([16, 32, 64, 128, 256], 4, PUBLISHED_DROPOUT)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)
    names = data.val_volumes[:a.val_volumes] if a.val_volumes else data.val_volumes
    n_params = sum(p.numel() for p in model.parameters())
    print(f'UNet: {n_params:,} parameters · data: {data.describe()} · torch {torch.__version__}, {torch.get_num_threads()} thread(s)', file=sys.stderr)

    config = {'method': 'supervised', 'stage': 'train', 'engine': f'pytorch {torch.__version__} (CPU)', 'threads': a.threads,
              'data': data.describe(), 'out': out, 'iterations': a.iterations, 'valEvery': a.val_every, 'logEvery': a.log_every,
              'size': a.size, 'resume': False, 'valLimit': a.val_volumes, 'lr': a.lr, 'momentum': a.momentum,
              'weightDecay': a.weight_decay, 'seed': a.seed, 'batch': a.batch, 'labeled': a.labeled}
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    log = open(os.path.join(out, 'log.jsonl'), 'w')

    def write(row):
        log.write(json.dumps(row) + '\n')
        log.flush()

    best, best_it = -1.0, 0
    t0 = time.perf_counter()
    for it in range(1, a.iterations + 1):
        model.train()
        x, y, _ = prepare_batch(data, sampler.next(), a.size, data_rng)
        loss = supervised_loss(model(torch.from_numpy(x)), torch.from_numpy(y).long())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if it % a.log_every == 0 or it == a.iterations:
            write({'iteration': it, 'loss': loss.item(), 'seconds': time.perf_counter() - t0})
        if it % a.val_every == 0 or it == a.iterations:
            model.eval()
            val = evaluate(model, data, names, a.size)
            write({'iteration': it, 'val': val})
            state = model.state_dict()
            if val['dice'] > best:
                best, best_it = val['dice'], it
                save_safetensors(os.path.join(out, 'model_best.safetensors'), state, {'iteration': str(it), 'dice': str(val['dice'])})
            save_safetensors(os.path.join(out, 'model_last.safetensors'), state, {'iteration': str(it)})
            print(f'iteration {it}: loss {loss.item():.4f} · validation Dice {val["dice"]:.4f} (best {best:.4f} at {best_it}) · '
                  f'{time.perf_counter() - t0:.0f} s', file=sys.stderr)
    wall = time.perf_counter() - t0
    write({'iteration': a.iterations, 'wallSeconds': wall, 'bestDice': best, 'bestIteration': best_it})
    log.close()
    print(f'done in {wall / 60:.1f} min · best validation Dice {best:.4f} at {best_it} · run folder {out}')


if __name__ == '__main__':
    main()
