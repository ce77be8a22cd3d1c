"""The PyTorch twin of bench/stylegan-step.js: the same StyleGAN2 architecture (the plain-PyTorch
rebuild in test/golden/generate_stylegan2.py, which the engine's parity tests are checked against),
the same phases of one training minibatch (Gmain, Dmain, lazy R1 ÷ 16, G_ema), timed per phase.
No augmentation (ADA at p = 0). Runs on the CPU here (Debian's python3-torch), on CUDA when present.

  /usr/bin/python3 bench/pytorch_stylegan_step.py [--resolution 64] [--batch 16] [--channel-base 4096]
                                                  [--channel-max 64] [--threads N]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden'))
from generate_stylegan2 import Discriminator, Generator  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--resolution', type=int, default=64)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--channel-base', type=int, default=4096)
p.add_argument('--channel-max', type=int, default=64)
p.add_argument('--z-dim', type=int, default=128)
p.add_argument('--steps', type=int, default=3)
p.add_argument('--threads', type=int, default=0)
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
R, B = a.resolution, a.batch
cfg = {'z_dim': a.z_dim, 'w_dim': a.z_dim, 'res': R, 'img_channels': 1, 'mapping_layers': 2,
       'channel_base': a.channel_base, 'channel_max': a.channel_max, 'conv_clamp': 256.0, 'mbstd_group': 4}
torch.manual_seed(0)
G, D, G_ema = Generator(cfg).to(dev), Discriminator(cfg).to(dev), Generator(cfg).to(dev)
G.train(), D.train()
count = lambda m: sum(t.numel() for t in m.parameters())
print(f'device: {dev} ({torch.get_num_threads()} threads) · StyleGAN2 {R}² · batch {B} · G {count(G):,} · D {count(D):,} parameters')
optG = torch.optim.Adam(G.parameters(), lr=0.0025, betas=(0, 0.99), eps=1e-8)
optD = torch.optim.Adam(D.parameters(), lr=0.0025, betas=(0, 0.99), eps=1e-8)
reals = torch.randn(B, 1, R, R, device=dev).clamp(-1, 1)
gamma = 0.0002 * R * R / B


def generate(z):
    # The golden rebuild's Generator holds mapping + synthesis (no forward of its own).
    return G.synthesis(G.mapping(z))


def sync():
    if dev == 'cuda':
        torch.cuda.synchronize()


def g_main():
    D.requires_grad_(False)
    optG.zero_grad(set_to_none=True)
    img = generate(torch.randn(B, cfg['z_dim'], device=dev))
    F.softplus(-D(img)).mean().backward()
    optG.step()
    D.requires_grad_(True)


def d_main():
    optD.zero_grad(set_to_none=True)
    with torch.no_grad():
        fake = generate(torch.randn(B, cfg['z_dim'], device=dev))
    (F.softplus(D(fake)).mean() + F.softplus(-D(reals)).mean()).backward()
    optD.step()


def d_reg():
    optD.zero_grad(set_to_none=True)
    x = reals.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), [x], create_graph=True)
    (g.square().sum([1, 2, 3]).mean() * (gamma / 2) * 16).backward()
    optD.step()


def ema():
    with torch.no_grad():
        for pe, p_ in zip(G_ema.parameters(), G.parameters()):
            pe.copy_(p_.lerp(pe, 0.99))


phases = {'Gmain': g_main, 'Dmain': d_main, 'Dreg (every 16th)': d_reg, 'G_ema update': ema}
times = {k: [] for k in phases}
for s in range(a.steps + 1):
    for k, fn in phases.items():
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        if s > 0:
            times[k].append((time.perf_counter() - t0) * 1000)
per_batch = 0.0
for k, xs in times.items():
    m = sorted(xs)[len(xs) // 2]
    share = 1 / 16 if k.startswith('Dreg') else 1
    per_batch += m * share
    print(f'{k:<52} {m:8.0f} ms' + (f'  (÷16 → {m / 16:.0f} ms per minibatch)' if share < 1 else ''))
print(f'{"per minibatch":<52} {per_batch:8.0f} ms · {B * 1000 / per_batch:.2f} images/s')
