"""PyTorch reference for bench/vit.js: the same DINOv2 architecture (test/golden/generate_vit.py) at
ViT-S/14 and ViT-B/14 widths, forward at 224², batch 12, and attention alone at the same shapes:
the unfused composition (QKᵀ → softmax → ·V) and, where PyTorch has it (2.0+),
torch.nn.functional.scaled_dot_product_attention (fused; fp32 on CUDA picks its memory-efficient
kernel), each forward and forward + backward. GFLOP/s as in vit.js: 4·B·H·N²·Dh for the attention
forward, a nominal 3× that for forward + backward.
Run with Debian's PyTorch: /usr/bin/python3 bench/pytorch_vit.py [--cuda [--tf32 on|off]]
  [--batch 12] [--models vits14,vitb14] [--no-models] [--no-attention] [--json out.json]
(PyTorch 1.13 has no fused attention: there only the unfused rows run.)"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'test', 'golden'))
from generate_vit import Dinov2  # noqa: E402
from pytorch_common import add_device_args, median_ms, setup_device, write_json  # noqa: E402

SIZE = 224
CONFIGS = {'vits14': {'dim': 384, 'depth': 12, 'heads': 6}, 'vitb14': {'dim': 768, 'depth': 12, 'heads': 12}}


def unfused(q, k, v):
    return ((q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5).softmax(-1) @ v


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--batch', type=int, default=12)
    p.add_argument('--models', default='vits14,vitb14', help='comma-separated: vits14, vitb14')
    p.add_argument('--no-models', action='store_true', help='skip the whole-model forwards')
    p.add_argument('--no-attention', action='store_true', help='skip attention alone')
    add_device_args(p)
    args = p.parse_args()
    dev, header = setup_device(args)
    print(header)
    B, tokens = args.batch, (SIZE // 14) ** 2 + 1
    runs = 20 if dev == 'cuda' else 5
    rows = []

    def report(name, ms, flops):
        rows.append({'name': name, 'ms': ms, 'gflops': flops / ms / 1e6})
        print(f'{name:<48} {ms:9.2f} ms {flops / ms / 1e6:10.1f} GFLOP/s')

    kinds = [('unfused', unfused)]
    if hasattr(F, 'scaled_dot_product_attention'):
        kinds.append(('sdpa', F.scaled_dot_product_attention))
    if not args.no_attention:
        for heads in (6, 12):
            shape = [B, heads, tokens, 64]
            q, k, v, g = (torch.randn(*shape, device=dev) for _ in range(4))
            flops = 4 * B * heads * tokens * tokens * 64
            for label, f in kinds:
                with torch.no_grad():
                    report(f'attention {label} forward {shape}', median_ms(lambda: f(q, k, v), dev, runs=runs), flops)
                qg, kg, vg = (t.clone().requires_grad_(True) for t in (q, k, v))

                def both():
                    qg.grad = kg.grad = vg.grad = None
                    f(qg, kg, vg).backward(g)

                report(f'attention {label} forward+backward {shape}', median_ms(both, dev, runs=runs), 3 * flops)
    if not args.no_models:
        with torch.no_grad():
            for name in args.models.split(','):
                c = CONFIGS[name]
                model = Dinov2({**c, 'registers': 0, 'grid': 37, 'ffn': 'mlp'}).eval().to(dev)
                x = torch.randn(B, 3, SIZE, SIZE, device=dev)
                ms = median_ms(lambda: model.forward_features(x), dev, runs=3 if dev == 'cpu' else 10)
                d = c['dim']
                flops = c['depth'] * (24 * B * tokens * d * d + 4 * B * tokens * tokens * d) + 2 * B * (tokens - 1) * d * 3 * 14 * 14
                report(f'DINOv2 {name} forward [{B},3,{SIZE},{SIZE}]', ms, flops)
                del model
    write_json(args.json, header, rows)


if __name__ == '__main__':
    main()
