"""Golden files for DINOv2's ViT (src/models/vit.ts): the architecture of facebookresearch/dinov2
(dinov2/models/vision_transformer.py, dinov2/layers/) rebuilt in plain PyTorch from its facts
(no timm, no transformers), a tiny random-weight model, saved in both forms users have:

  vit_tiny_hub.pth          torch.save(state_dict()) with the torch-hub names (blocks.N.attn.qkv...)
  vit_tiny_hf.safetensors   the same weights with Hugging Face Dinov2 names (q, k, v split)
  vit_tiny_io.safetensors   inputs and outputs: tokens before/after the final norm, and
                            interpolated position embeddings for a smaller and a larger grid
  vit_tiny_swiglu_*         the same three for a ViT-g-style block (SwiGLU, no registers)
  pth_features*.pth         small checkpoints exercising the .pth reader (see pth_features)

Run by hand with Debian's PyTorch:  /usr/bin/python3 test/golden/generate_vit.py
Config: width 32, 2 blocks, 2 heads, patch 14, 2 register tokens, a 4×4 pretraining grid; the input
is 28×42 (a 2×3 grid), so the position embeddings are resampled (downwards) as DINOv2 does it.
LayerScale gammas and norms are random (not 1e-5 / identity) so that every block shows in the output.
"""
import json
import math
import os
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_io import save_safetensors

OFFSET = 0.1  # interpolate_offset of the released models without registers (the _reg ones: 0 + antialias,
# see generate_dinov2_reg_posembed.py); kept here for the registers fixture too, which the tests override
PATCH = 14
# The main fixture (GELU MLP, registers) and a ViT-g-style one (SwiGLU feed-forward, no registers).
MLP_CFG = {'dim': 32, 'depth': 2, 'heads': 2, 'registers': 2, 'grid': 4, 'ffn': 'mlp'}
SWIGLU_CFG = {'dim': 16, 'depth': 1, 'heads': 1, 'registers': 0, 'grid': 3, 'ffn': 'swiglu'}
HERE = os.path.dirname(os.path.abspath(__file__))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (c // self.heads) ** -0.5, qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.empty(dim).uniform_(0.5, 1.5))

    def forward(self, x):
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwiGLUFFNFused(nn.Module):
    """ViT-g's feed-forward: hidden (⌊4D·2/3⌋ + 7) // 8 · 8, w3(silu(x1) · x2), [x1, x2] = w12(x)."""

    def __init__(self, dim):
        super().__init__()
        hidden = (int(4 * dim * 2 / 3) + 7) // 8 * 8
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x):
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


def layer_norm(dim):
    ln = nn.LayerNorm(dim, eps=1e-6)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.2, 0.2)
    return ln


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg['dim']
        self.norm1, self.attn, self.ls1 = layer_norm(d), Attention(d, cfg['heads']), LayerScale(d)
        self.norm2, self.ls2 = layer_norm(d), LayerScale(d)
        self.mlp = Mlp(d) if cfg['ffn'] == 'mlp' else SwiGLUFFNFused(d)

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, PATCH, stride=PATCH)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


def interpolate_pos_encoding(pos_embed, h, w):
    """DINOv2's rule: stored as is for the pretraining grid of a square image, else bicubic with
    scale_factor (g + 0.1) / M (align_corners=False, antialias=False)."""
    n = pos_embed.shape[1] - 1
    gh, gw = h // PATCH, w // PATCH
    if gh * gw == n and h == w:
        return pos_embed
    m, dim = int(math.sqrt(n)), pos_embed.shape[-1]
    patch = pos_embed[:, 1:].reshape(1, m, m, dim).permute(0, 3, 1, 2)
    patch = F.interpolate(patch, scale_factor=((gh + OFFSET) / m, (gw + OFFSET) / m), mode='bicubic', align_corners=False)
    assert patch.shape[-2:] == (gh, gw)
    return torch.cat((pos_embed[:, :1], patch.permute(0, 2, 3, 1).reshape(1, -1, dim)), dim=1)


class Dinov2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.regs = cfg['dim'], cfg['registers']
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 0.5)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + cfg['grid'] ** 2, d) * 0.5)
        if self.regs:
            self.register_tokens = nn.Parameter(torch.randn(1, self.regs, d) * 0.5)
        self.mask_token = nn.Parameter(torch.randn(1, d) * 0.5)
        self.patch_embed = PatchEmbed(d)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg['depth'])])
        self.norm = layer_norm(d)

    def forward_features(self, x):
        b, _, h, w = x.shape
        t = torch.cat((self.cls_token.expand(b, -1, -1), self.patch_embed(x)), dim=1)
        t = t + interpolate_pos_encoding(self.pos_embed, h, w)
        if self.regs:
            t = torch.cat((t[:, :1], self.register_tokens.expand(b, -1, -1), t[:, 1:]), dim=1)
        for blk in self.blocks:
            t = blk(t)
        n = self.norm(t)
        return {'x_prenorm': t, 'x_norm_clstoken': n[:, 0], 'x_norm_regtokens': n[:, 1:self.regs + 1],
                'x_norm_patchtokens': n[:, self.regs + 1:]}


def hf_names(state, cfg):
    """The Hugging Face Dinov2(WithRegisters) layout of the same weights."""
    out = {
        'embeddings.cls_token': state['cls_token'],
        'embeddings.mask_token': state['mask_token'],
        'embeddings.position_embeddings': state['pos_embed'],
        'embeddings.patch_embeddings.projection.weight': state['patch_embed.proj.weight'],
        'embeddings.patch_embeddings.projection.bias': state['patch_embed.proj.bias'],
        'layernorm.weight': state['norm.weight'],
        'layernorm.bias': state['norm.bias'],
    }
    if cfg['registers']:
        out['embeddings.register_tokens'] = state['register_tokens']
    mlp = {'fc1': 'fc1', 'fc2': 'fc2'} if cfg['ffn'] == 'mlp' else {'w12': 'weights_in', 'w3': 'weights_out'}
    for i in range(cfg['depth']):
        hub, hf = f'blocks.{i}.', f'encoder.layer.{i}.'
        for kind in ('weight', 'bias'):
            q, k, v = state[hub + f'attn.qkv.{kind}'].chunk(3, dim=0)
            out[hf + f'attention.attention.query.{kind}'] = q
            out[hf + f'attention.attention.key.{kind}'] = k
            out[hf + f'attention.attention.value.{kind}'] = v
            out[hf + f'attention.output.dense.{kind}'] = state[hub + f'attn.proj.{kind}']
            for n in ('norm1', 'norm2'):
                out[hf + f'{n}.{kind}'] = state[hub + f'{n}.{kind}']
            for hub_name, hf_name in mlp.items():
                out[hf + f'mlp.{hf_name}.{kind}'] = state[hub + f'mlp.{hub_name}.{kind}']
        out[hf + 'layer_scale1.lambda1'] = state[hub + 'ls1.gamma']
        out[hf + 'layer_scale2.lambda1'] = state[hub + 'ls2.gamma']
    return out




def save_model(name, cfg, x, extra=None):
    """<name>_hub.pth, <name>_hf.safetensors and <name>_io.safetensors for one configuration."""
    model = Dinov2(cfg).eval()
    state = model.state_dict()
    torch.save(state, os.path.join(HERE, f'{name}_hub.pth'))
    meta = {'config': json.dumps(cfg), 'torch': torch.__version__}
    save_safetensors(os.path.join(HERE, f'{name}_hf.safetensors'), hf_names(state, cfg), meta)
    with torch.no_grad():
        f = model.forward_features(x)
        io = {'input': x, **{k: v for k, v in f.items() if v.numel()}}
        for gh, gw in extra or []:
            io[f'pos_embed_{gh}x{gw}'] = interpolate_pos_encoding(model.pos_embed, gh * PATCH, gw * PATCH)
    save_safetensors(os.path.join(HERE, f'{name}_io.safetensors'), io, meta)


def pth_features():
    """What the .pth reader must handle beyond a plain state dict: a nested dict, a transposed
    (non-contiguous) view, a storage offset, half / bfloat16 / float64 / int64 tensors, a parameter,
    and (second file) deflate-compressed zip entries instead of torch.save's stored ones."""
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5
    obj = {'outer': {'transposed': base.t(), 'offset': base[1], 'half': base.half(), 'bf16': base.bfloat16(),
                     'f64': base.double(), 'i64': torch.tensor([-3, 0, 2 ** 40]), 'param': nn.Parameter(base.clone())},
           'plain': base}
    path = os.path.join(HERE, 'pth_features.pth')
    torch.save(obj, path)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(os.path.join(HERE, 'pth_features_deflated.pth'), 'w', zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))


def main():
    torch.manual_seed(0)
    save_model('vit_tiny', MLP_CFG, torch.rand(2, 3, 28, 42) * 2 - 1, extra=[(2, 3), (5, 7)])
    save_model('vit_tiny_swiglu', SWIGLU_CFG, torch.rand(1, 3, 42, 28) * 2 - 1)
    pth_features()


if __name__ == '__main__':
    main()
