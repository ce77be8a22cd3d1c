"""Golden files for the position-embedding resize of DINOv2's `_reg` models (src/models/pos-embed.ts).

The hub builds every `dinov2_vit*14_reg` with interpolate_antialias=True and interpolate_offset=0.0
(dinov2/hub/backbones.py), so DinoVisionTransformer.interpolate_pos_encoding resizes the learned grid
with F.interpolate(size=(gh, gw), mode='bicubic', antialias=True); the models without registers use
scale_factor=(g + 0.1)/M and no antialiasing. This script writes

  dinov2_reg_posembed.safetensors  (a) a random [M, M, 3] grid per M and its resizes, F.interpolate
                                   with antialias True/False, by size (offset 0) and by scale_factor
                                   (offset 0.1), down- and up-sampling, square and not:
                                   grid_M, aa_M_GHxGW, aa01_M_GHxGW, plain_M_GHxGW, plain01_M_GHxGW
  vit_tiny_reg_hub.pth             (b) a tiny `_reg`-style ViT built by the OFFICIAL dinov2 code
                                   (DinoVisionTransformer, antialias on, offset 0), random weights
  vit_tiny_reg_io.safetensors      its input, forward_features outputs at an input size where the
                                   position embedding is resized, and interpolate_pos_encoding for
                                   two more grids (pos_embed_GHxGW)

The resizes are computed in float64 from the float32-rounded grid, so the fixture is exact to f32
rounding. Run by hand with Debian's PyTorch 1.13 (which has antialiased bicubic) and the dinov2 source
extracted to /tmp (the `fetch` tool's bare snapshot of facebookresearch/dinov2, commit b8931f7bf915;
imported, never copied here). torch 1.13 predates F.scaled_dot_product_attention, which the official
Attention calls: `sdpa` below supplies it by its definition. The outputs are byte-for-byte repeatable.

  mkdir -p /tmp/dinov2-src
  git --git-dir=/work/.mirror/facebookresearch+dinov2/repo archive HEAD dinov2 | tar -x -C /tmp/dinov2-src
  DINOV2_SRC=/tmp/dinov2-src /usr/bin/python3 test/golden/generate_dinov2_reg_posembed.py

Tiny model: width 16, 2 blocks, 2 heads, patch 4 (small on purpose: the patch size does not touch the
resize, and the fixtures stay small), 2 registers, a 6×6 pretraining grid; input [2, 3, 12, 16] (a 3×4
grid, so 6→3 and 6→4: the antialiasing support is widened by 2 and 1.5). LayerScale gammas, norms and
the tokens are random and O(1) so that every part shows in the output.
"""
import json
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_io import save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get('DINOV2_SRC', '/tmp/dinov2-src')

# (M, gh, gw): the released 37² grid to 224²'s 16² and a non-square 23×16, small grids up (5→7),
# mixed (5→3×8), strongly down (6→2×3), and 37→1×2 (support wider than the grid).
RESIZES = [(37, 16, 16), (37, 23, 16), (5, 7, 7), (5, 3, 8), (6, 2, 3), (37, 1, 2)]
OFFSET = 0.1  # interpolate_offset of the models without registers
TINY = {'dim': 16, 'depth': 2, 'heads': 2, 'patch': 4, 'registers': 2, 'grid': 6}
TINY_INPUT = (2, 3, 12, 16)
TINY_EXTRA_GRIDS = [(9, 5), (2, 6)]


def resizes():
    out = {}
    for m in sorted({r[0] for r in RESIZES}):
        out[f'grid_{m}'] = torch.randn(m, m, 3)
    for m, gh, gw in RESIZES:
        grid = out[f'grid_{m}'].double().permute(2, 0, 1)[None]  # [1, 3, M, M]
        sf = ((gh + OFFSET) / m, (gw + OFFSET) / m)
        for name, kw in (('aa', dict(size=(gh, gw), antialias=True)), ('aa01', dict(scale_factor=sf, antialias=True)),
                         ('plain', dict(size=(gh, gw), antialias=False)), ('plain01', dict(scale_factor=sf, antialias=False))):
            y = F.interpolate(grid, mode='bicubic', align_corners=False, **kw)
            assert y.shape[-2:] == (gh, gw), (name, m, gh, gw, y.shape)
            out[f'{name}_{m}_{gh}x{gw}'] = y[0].permute(1, 2, 0)  # [gh, gw, 3]
    # Upsampling too is not plain bicubic under antialias (PIL's a = -0.5, border taps dropped):
    up = (out['aa_5_7x7'] - out['plain_5_7x7']).abs().max().item()
    print(f'5→7: antialiased vs plain bicubic differ by up to {up:.3f}')
    return out


def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    """F.scaled_dot_product_attention by its definition, for torch 1.13 (which predates it): the
    official Attention calls it with no mask, no dropout (eval) and is_causal=False."""
    assert attn_mask is None and dropout_p == 0 and not is_causal
    return (q * q.shape[-1] ** -0.5 @ k.transpose(-2, -1)).softmax(dim=-1) @ v


def tiny_reg_vit():
    if not hasattr(F, 'scaled_dot_product_attention'):
        F.scaled_dot_product_attention = sdpa
    sys.path.insert(0, SRC)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "xFormers is not available"
            from dinov2.models.vision_transformer import DinoVisionTransformer
    except ImportError as e:
        sys.exit(f'dinov2 source not found under {SRC} ({e}): extract the snapshot there or set DINOV2_SRC')
    c = TINY
    # As dinov2/hub/backbones.py builds the _reg models: init_values 1.0, no block chunks, antialias, offset 0.
    model = DinoVisionTransformer(img_size=c['grid'] * c['patch'], patch_size=c['patch'], embed_dim=c['dim'], depth=c['depth'],
                                  num_heads=c['heads'], mlp_ratio=4, init_values=1.0, ffn_layer='mlp', block_chunks=0,
                                  num_register_tokens=c['registers'], interpolate_antialias=True, interpolate_offset=0.0).eval()
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Conv2d)):
                mod.reset_parameters()  # PyTorch's default init: O(1) activations, unlike timm's std 0.02
            elif isinstance(mod, nn.LayerNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
        for name, p in model.named_parameters():
            if name.endswith('gamma'):
                p.uniform_(0.5, 1.5)
            elif name in ('cls_token', 'pos_embed', 'register_tokens', 'mask_token'):
                p.normal_(0, 0.5)
    state = model.state_dict()
    torch.save(state, os.path.join(HERE, 'vit_tiny_reg_hub.pth'))
    x = torch.rand(*TINY_INPUT) * 2 - 1
    with torch.no_grad():
        f = model.forward_features(x)
        io = {'input': x, 'x_prenorm': f['x_prenorm'], 'x_norm_clstoken': f['x_norm_clstoken'],
              'x_norm_regtokens': f['x_norm_regtokens'], 'x_norm_patchtokens': f['x_norm_patchtokens']}
        p = c['patch']
        for gh, gw in [(TINY_INPUT[2] // p, TINY_INPUT[3] // p), *TINY_EXTRA_GRIDS]:
            # The official method reads only x's token count, width and dtype; its (w, h) are (H, W).
            dummy = torch.zeros(1, 1 + gh * gw, c['dim'])
            io[f'pos_embed_{gh}x{gw}'] = model.interpolate_pos_encoding(dummy, gh * p, gw * p)
    meta = {'config': json.dumps(c), 'torch': torch.__version__, 'interpolate_antialias': 'True', 'interpolate_offset': '0.0'}
    save_safetensors(os.path.join(HERE, 'vit_tiny_reg_io.safetensors'), io, meta)


def main():
    torch.manual_seed(0)
    meta = {'torch': torch.__version__, 'resizes': json.dumps(RESIZES), 'offset': str(OFFSET)}
    save_safetensors(os.path.join(HERE, 'dinov2_reg_posembed.safetensors'), resizes(), meta)
    tiny_reg_vit()


if __name__ == '__main__':
    main()
