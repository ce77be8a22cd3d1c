"""PyTorch reference for bench/vit.js: the same DINOv2 architecture (test/golden/generate_vit.py) at
ViT-S/14 and ViT-B/14 widths, forward at 224², batch 12, and attention alone (unfused: PyTorch 1.13
has no fused CPU attention). Run with Debian's PyTorch: /usr/bin/python3 bench/pytorch_vit.py [--cuda]
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, 'test/golden')
from generate_vit import Dinov2  # noqa: E402

B, SIZE, TOKENS = 12, 224, 16 * 16 + 1
CONFIGS = {'vits14': {'dim': 384, 'depth': 12, 'heads': 6}, 'vitb14': {'dim': 768, 'depth': 12, 'heads': 12}}


def median_ms(fn, dev, runs=5):
    fn()
    times = []
    for _ in range(runs):
        if dev == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if dev == 'cuda':
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    dev = 'cuda' if '--cuda' in sys.argv else 'cpu'
    torch.set_num_threads(os.cpu_count() or 1)
    print(f'torch {torch.__version__} on {dev}, {torch.get_num_threads()} threads')
    with torch.no_grad():
        for heads in (6, 12):
            q, k, v = (torch.randn(B, heads, TOKENS, 64, device=dev) for _ in range(3))
            ms = median_ms(lambda: ((q @ k.transpose(-2, -1) / 8).softmax(-1)) @ v, dev)
            flops = 4 * B * heads * TOKENS * TOKENS * 64
            print(f'attention unfused forward [{B},{heads},{TOKENS},64]: {ms:.1f} ms, {flops / ms / 1e6:.1f} GFLOP/s')
        for name, c in CONFIGS.items():
            model = Dinov2({**c, 'registers': 0, 'grid': 37, 'ffn': 'mlp'}).eval().to(dev)
            x = torch.randn(B, 3, SIZE, SIZE, device=dev)
            ms = median_ms(lambda: model.forward_features(x), dev, runs=3)
            d = c['dim']
            flops = c['depth'] * (24 * B * TOKENS * d * d + 4 * B * TOKENS * TOKENS * d) + 2 * B * (TOKENS - 1) * d * 3 * 14 * 14
            print(f'DINOv2 {name} forward [{B},3,{SIZE},{SIZE}]: {ms:.1f} ms, {flops / ms / 1e6:.1f} GFLOP/s')


if __name__ == '__main__':
    main()
