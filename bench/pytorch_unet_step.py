"""PyTorch reference for bench/unet-step.js: the same UNet (test/golden/generate_unet.py), the same
step (forward, 0.5·(CE + Dice) loss, backward, SGD momentum 0.9 / weight decay 1e-4) at 1×256×256.
Run with Debian's PyTorch: /usr/bin/python3 bench/pytorch_unet_step.py [batch ...] [--cuda]
(CPU: all cores; Debian's build starts with one intra-op thread here.)"""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, 'test/golden')
from generate_unet import UNet  # noqa: E402


def dice_loss(probs, onehot):
    inter = (probs * onehot).sum((0, 2, 3))
    z = (probs * probs).sum((0, 2, 3))
    y = (onehot * onehot).sum((0, 2, 3))
    return 1 - ((2 * inter + 1e-5) / (z + y + 1e-5)).mean()


def main():
    dev = 'cuda' if '--cuda' in sys.argv else 'cpu'
    torch.set_num_threads(os.cpu_count() or 1)
    batches = [int(a) for a in sys.argv[1:] if not a.startswith('--')] or [4]
    net = UNet([16, 32, 64, 128, 256], 4).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    print(f'torch {torch.__version__} on {dev}, {torch.get_num_threads()} threads')
    for b in batches:
        x = torch.rand(b, 1, 256, 256, device=dev)
        y = torch.randint(0, 4, (b, 256, 256), device=dev)
        times = []
        for i in range(6):
            t0 = time.perf_counter()
            out = net(x)
            loss = 0.5 * (F.cross_entropy(out, y) + dice_loss(out.softmax(1), F.one_hot(y, 4).permute(0, 3, 1, 2).float()))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if dev == 'cuda':
                torch.cuda.synchronize()
            if i:  # first step is warm-up
                times.append(time.perf_counter() - t0)
        print(f'batch {b}: {1000 * statistics.median(times):.1f} ms/step (median of {len(times)})')


if __name__ == '__main__':
    main()
