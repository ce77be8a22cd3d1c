"""PyTorch reference for bench/unet-step.js: the same UNet (test/golden/generate_unet.py), the same
step (forward, 0.5·(CE + Dice) loss, backward, SGD momentum 0.9 / weight decay 1e-4) at 1×256×256.
Run with Debian's PyTorch: /usr/bin/python3 bench/pytorch_unet_step.py [batch ...] [--steps N]
  [--cuda [--tf32 on|off]] [--json out.json]
(CPU: all cores; Debian's build starts with one intra-op thread here. CUDA: cuDNN's benchmark mode
stays off, as in the SSL4MIS/BCP training scripts; bench/pytorch_common.py says what --tf32 sets.)"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'test', 'golden'))
from generate_unet import UNet  # noqa: E402
from pytorch_common import add_device_args, median_ms, setup_device, write_json  # noqa: E402


def dice_loss(probs, onehot):
    inter = (probs * onehot).sum((0, 2, 3))
    z = (probs * probs).sum((0, 2, 3))
    y = (onehot * onehot).sum((0, 2, 3))
    return 1 - ((2 * inter + 1e-5) / (z + y + 1e-5)).mean()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('batch', nargs='*', type=int, help='batch sizes (default 4)')
    p.add_argument('--size', type=int, default=256, help='image side')
    p.add_argument('--steps', type=int, default=5, help='timed steps per batch size (median reported), after one warm-up')
    add_device_args(p)
    args = p.parse_args()
    dev, header = setup_device(args)
    net = UNet([16, 32, 64, 128, 256], 4).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    print(header)
    rows = []
    S = args.size
    for b in args.batch or [4]:
        x = torch.rand(b, 1, S, S, device=dev)
        y = torch.randint(0, 4, (b, S, S), device=dev)

        def step():
            out = net(x)
            loss = 0.5 * (F.cross_entropy(out, y) + dice_loss(out.softmax(1), F.one_hot(y, 4).permute(0, 3, 1, 2).float()))
            opt.zero_grad()
            loss.backward()
            opt.step()

        ms = median_ms(step, dev, runs=args.steps, warmup=1)
        peak = torch.cuda.max_memory_allocated() / 2**20 if dev == 'cuda' else None
        rows.append({'name': f'unet step batch {b}', 'batch': b, 'ms': ms, 'peakMiB': peak})
        print(f'batch {b}: {ms:.1f} ms/step (median of {args.steps})' + (f' · peak CUDA memory {peak:.0f} MiB' if peak else ''))
        if dev == 'cuda':
            torch.cuda.reset_peak_memory_stats()
    write_json(args.json, header, rows)


if __name__ == '__main__':
    main()
