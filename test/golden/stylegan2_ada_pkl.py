"""Golden fixture for reading official StyleGAN2-ADA network snapshots (src/io/stylegan-pkl.ts,
src/gan/pkl.ts, src/gan/pkl-start.ts): a `network-snapshot-*.pkl` written by the official code of
NVlabs/stylegan2-ada-pytorch, imported from a checkout given on the command line (never copied here).

    git --git-dir=<mirror of NVlabs/stylegan2-ada-pytorch> archive HEAD | tar x -C /tmp/sg2ada
    /usr/bin/python3 test/golden/stylegan2_ada_pkl.py /tmp/sg2ada

Writes (all small):
  stylegan2_ada_snapshot.pkl     the snapshot dict {training_set_kwargs, G, D, G_ema, augment_pipe},
                                 built and pickled as training/training_loop.py does (protocol 4,
                                 Python's default since 3.8).
  stylegan2_ada_conditional.pkl  {training_set_kwargs, G_ema} of a conditional (c_dim 2) 4×4 generator,
                                 pickled with protocol 3 (what Python 3.7, the version the official
                                 README asks for, writes): an unsupported configuration, and the
                                 protocol-3 opcodes.
  stylegan2_ada_pkl.safetensors  the expected state dicts ('G.', 'D.', 'G_ema.' + published names),
                                 the latents 'z' (seeds 0-3, drawn as the official generate.py does),
                                 G_ema's images 'img_psi1' / 'img_psi0.7' (noise_mode 'const') and D's
                                 logits on them 'logits_psi1' / 'logits_psi0.7'; the metadata holds the
                                 networks' init_kwargs, the augment pipe's and its p.

Networks: constructed with the kwargs train.py builds for its 'auto' config (mapping 2 layers,
num_fp16_res 4, conv_clamp 256, D 'resnet', mbstd group min(batch, 4), augpipe 'bgc', ADA), with three
overrides so the fixture stays tens of KB: z_dim = w_dim = 8 (train.py fixes 512), channel_base 32 and
channel_max 4 (channels 4/4/2 at 4/8/16), a 16×16 one-channel data set without labels. Training is
imitated by perturbing every parameter (and w_avg), differently in G and G_ema: the published init
leaves biases, noise strengths and w_avg at 0, where a loader that dropped them would go unnoticed.
The official code runs fp16 in the num_fp16_res highest resolutions only on CUDA; on the CPU the
forward passes here use force_fp32=True (the engine computes in f32), and the official ops fall back
to their reference implementations (no custom CUDA plugin is built on the CPU).

Source text: the official persistence pickle embeds each module's SOURCE (meta['module_src']) so that
unpickling can exec it. The committed pickles must not carry upstream source, so before pickling this
script sets every persistent class's recorded source to a short placeholder string. The engine's
reader never reads module_src (it executes nothing); everything else in the pickle is exactly what the
official machinery writes. The script checks, before the substitution, that the real pickle loads
back with the official code and reproduces the golden images.
"""
import copy
import io
import json
import os
import pickle
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from golden_io import save_safetensors  # noqa: E402

if len(sys.argv) != 2:
    sys.exit('usage: stylegan2_ada_pkl.py <checkout of NVlabs/stylegan2-ada-pytorch>')
sys.path.insert(0, os.path.abspath(sys.argv[1]))
import dnnlib  # noqa: E402
from torch_utils import persistence  # noqa: E402

RES, CHANNELS, BATCH = 16, 1, 4
SEEDS = [0, 1, 2, 3]
PLACEHOLDER = 'module source removed from this test fixture (test/golden/stylegan2_ada_pkl.py); the reader never needs it'

torch.manual_seed(0)

# --- Kwargs as train.py's setup_training_loop_kwargs builds them for cfg='auto', gpus=1 ----------
res = RES
mb = max(min(1 * min(4096 // res, 32), 64), 1)
spec = dnnlib.EasyDict(map=2, mbstd=min(mb // 1, 4), fmaps=1 if res >= 512 else 0.5)
G_kwargs = dnnlib.EasyDict(class_name='training.networks.Generator', z_dim=512, w_dim=512,
                           mapping_kwargs=dnnlib.EasyDict(), synthesis_kwargs=dnnlib.EasyDict())
D_kwargs = dnnlib.EasyDict(class_name='training.networks.Discriminator', block_kwargs=dnnlib.EasyDict(),
                           mapping_kwargs=dnnlib.EasyDict(), epilogue_kwargs=dnnlib.EasyDict())
G_kwargs.synthesis_kwargs.channel_base = D_kwargs.channel_base = int(spec.fmaps * 32768)
G_kwargs.synthesis_kwargs.channel_max = D_kwargs.channel_max = 512
G_kwargs.mapping_kwargs.num_layers = spec.map
G_kwargs.synthesis_kwargs.num_fp16_res = D_kwargs.num_fp16_res = 4
G_kwargs.synthesis_kwargs.conv_clamp = D_kwargs.conv_clamp = 256
D_kwargs.epilogue_kwargs.mbstd_group_size = spec.mbstd
augment_kwargs = dnnlib.EasyDict(class_name='training.augment.AugmentPipe', xflip=1, rotate90=1, xint=1, scale=1, rotate=1,
                                 aniso=1, xfrac=1, brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1)
training_set_kwargs = dnnlib.EasyDict(class_name='training.dataset.ImageFolderDataset', path='/data/slices.zip',
                                      use_labels=False, max_size=240, xflip=False, resolution=RES)
# The fixture's overrides (see the docstring).
G_kwargs.z_dim = G_kwargs.w_dim = 8
G_kwargs.synthesis_kwargs.channel_base = D_kwargs.channel_base = 32
G_kwargs.synthesis_kwargs.channel_max = D_kwargs.channel_max = 4


def build(c_dim, res=RES):
    """training_loop.py: construct G and D from the kwargs, G_ema as a deep copy, the augment pipe with p."""
    common_kwargs = dict(c_dim=c_dim, img_resolution=res, img_channels=CHANNELS)
    G = dnnlib.util.construct_class_by_name(**G_kwargs, **common_kwargs).train().requires_grad_(False)
    D = dnnlib.util.construct_class_by_name(**D_kwargs, **common_kwargs).train().requires_grad_(False)
    G_ema = copy.deepcopy(G).eval()
    augment_pipe = dnnlib.util.construct_class_by_name(**augment_kwargs).train().requires_grad_(False)
    augment_pipe.p.copy_(torch.as_tensor(0))
    return G, D, G_ema, augment_pipe


def imitate_training(G, D, G_ema, augment_pipe):
    with torch.no_grad():
        for net in (G, D):
            for name, p in net.named_parameters():
                scale = 0.5 if p.ndim <= 1 else 0.2
                if 'mapping' in name and name.endswith('bias'):
                    scale = 30.0  # the mapping's lr multiplier 0.01 scales its biases at run time
                p.add_(torch.randn_like(p) * scale)
        G.mapping.w_avg.copy_(torch.randn_like(G.mapping.w_avg))
        # G_ema: the average of G's recent weights, i.e. close to but not equal to G's.
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p + 0.05 * torch.randn_like(p))
        for b_ema, b in zip(G_ema.buffers(), G.buffers()):
            b_ema.copy_(b)
        augment_pipe.p.copy_(torch.as_tensor(0.234375))  # exact in f32


def snapshot(modules):
    """training_loop.py's network snapshot: deep copies in eval mode, no grad, on the CPU."""
    data = dict(training_set_kwargs=dict(training_set_kwargs))
    for name, module in modules:
        if module is not None:
            module = copy.deepcopy(module).eval().requires_grad_(False).cpu()
        data[name] = module
    return data


def generate(G_ema, D, z, psi):
    c = torch.zeros([z.shape[0], G_ema.c_dim])
    img = G_ema(z, c, truncation_psi=psi, noise_mode='const', force_fp32=True)
    return img, D(img, c, force_fp32=True)


def with_placeholder_sources(fn):
    """Run fn while every persistent class records PLACEHOLDER as its module source."""
    saved = {cls: cls._orig_module_src for cls in persistence._decorators}
    try:
        for cls in saved:
            cls._orig_module_src = PLACEHOLDER
        return fn()
    finally:
        for cls, src in saved.items():
            cls._orig_module_src = src


G, D, G_ema, augment_pipe = build(c_dim=0)
imitate_training(G, D, G_ema, augment_pipe)
data = snapshot([('G', G), ('D', D), ('G_ema', G_ema), ('augment_pipe', augment_pipe)])

z = torch.from_numpy(np.concatenate([np.random.RandomState(s).randn(1, G.z_dim) for s in SEEDS])).float()
out = {'z': z}
with torch.no_grad():
    for psi in (1, 0.7):
        img, logits = generate(data['G_ema'], data['D'], z, psi)
        out[f'img_psi{psi:g}'], out[f'logits_psi{psi:g}'] = img, logits

    # The real pickle (with sources) must load back through the official machinery and agree.
    real = pickle.loads(pickle.dumps(data))
    img, logits = generate(real['G_ema'], real['D'], z, 0.7)
    assert torch.equal(img, out['img_psi0.7']) and torch.equal(logits, out['logits_psi0.7'])

for name in ('G', 'D', 'G_ema'):
    for k, v in data[name].state_dict().items():
        out[f'{name}.{k}'] = v
meta = {name: json.dumps(data[name].init_kwargs) for name in ('G', 'D', 'G_ema', 'augment_pipe')}
meta['augment_p'] = repr(float(data['augment_pipe'].p))
meta['seeds'] = json.dumps(SEEDS)
save_safetensors(os.path.join(HERE, 'stylegan2_ada_pkl.safetensors'), out, meta)

with open(os.path.join(HERE, 'stylegan2_ada_snapshot.pkl'), 'wb') as f:
    with_placeholder_sources(lambda: pickle.dump(data, f))  # training_loop.py: pickle.dump(snapshot_data, f)

# A conditional generator (unsupported by the engine), written by Python 3.7's default protocol 3.
_, _, G_cond, _ = build(c_dim=2, res=4)
cond = snapshot([('G_ema', G_cond)])
with open(os.path.join(HERE, 'stylegan2_ada_conditional.pkl'), 'wb') as f:
    with_placeholder_sources(lambda: pickle.dump(cond, f, protocol=3))

for name in ('stylegan2_ada_snapshot.pkl', 'stylegan2_ada_conditional.pkl', 'stylegan2_ada_pkl.safetensors'):
    print(f'{name}: {os.path.getsize(os.path.join(HERE, name))} bytes')
print('D logits psi 1:', out['logits_psi1'].flatten().tolist())
