"""Golden file for StyleGAN2-ADA (src/models/stylegan2/): the generator ('skip') and discriminator
('resnet') of NVlabs/stylegan2-ada-pytorch (training/networks.py, torch_utils/ops/) rebuilt in plain
PyTorch from the facts of the published code, unconditional, f32, no custom CUDA ops.

  stylegan2_tiny.safetensors   G's and D's weights under the published state-dict names, prefixed
                               'G.' and 'D.'; the inputs; and under 'io.': the mapping outputs,
                               G's image, D's logits, gradients of Σ D(G(z)) and of the R1 penalty.

Run by hand with Debian's PyTorch:  /usr/bin/python3 test/golden/generate_stylegan2.py
Config (TINY below): resolution 16, channel_base 128, channel_max 16 (16/16/8 channels at 4/8/16),
z_dim = w_dim = 32, 2 mapping layers, conv_clamp 2 (so that clamping actually happens), noise 'const'.
Biases, noise strengths and w_avg are drawn at random (they start at 0 in the published init) so that
each of them shows in the outputs.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from golden_io import save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = {'z_dim': 32, 'w_dim': 32, 'res': 16, 'img_channels': 1, 'mapping_layers': 2,
        'channel_base': 128, 'channel_max': 16, 'conv_clamp': 2.0, 'mbstd_group': 4}
LRELU_ALPHA = 0.2
CLAMP_STATS = {'clamped': 0, 'total': 0}  # how often conv_clamp bites (printed, to show it does)
SQRT2 = float(np.sqrt(2))


# ------------------------------------------------------------------------------------------------
# Ops (torch_utils/ops semantics)

def fir_filter(taps=(1, 3, 3, 1)):
    """setup_filter: outer product of the taps, normalised to unit DC gain."""
    k = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(k, k)
    return f / f.sum()


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Insert up−1 zeros after each pixel, pad (negative = crop) by [x0, x1, y0, y1], convolve with
    f·gain (a true convolution: the filter is flipped), keep every down-th pixel."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, list(pad))
    k = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down]


def upsample2d(x, f, up=2):
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def downsample2d(x, f, down=2):
    fw = f.shape[-1]
    p0, p1 = (fw - down + 1) // 2, (fw - down) // 2
    return upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1))


def conv2d_resample(x, w, f, up=1, down=1, padding=0, groups=1, flip_weight=True):
    """Convolution with FIR up/downsampling, padding applied once at the start. The published code
    picks among equivalent fast paths; this is the general form they all compute: upsample and
    filter, convolve, filter and downsample."""
    kw = w.shape[-1]
    p0 = p1 = padding
    fw = 1 if f is None else f.shape[-1]
    if up > 1:
        p0 += (fw + up - 1) // 2
        p1 += (fw - up) // 2
    if down > 1:
        p0 += (fw - down + 1) // 2
        p1 += (fw - down) // 2
    if up > 1:
        x = upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)
    else:
        x = F.pad(x, [p0, p1, p0, p1])
    if not flip_weight and kw > 1:
        w = w.flip([2, 3])
    x = F.conv2d(x, w, groups=groups)
    if down > 1:
        x = upfirdn2d(x, f, down=down)
    return x


def bias_act(x, b=None, act='linear', gain=None, clamp=None):
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == 'lrelu':
        x = F.leaky_relu(x, LRELU_ALPHA)
    gain = (SQRT2 if act == 'lrelu' else 1.0) if gain is None else gain
    x = x * gain
    if clamp is not None:
        CLAMP_STATS['clamped'] += int((x.abs() > clamp).sum())
        CLAMP_STATS['total'] += x.numel()
        x = x.clamp(-clamp, clamp)
    return x


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True, flip_weight=True):
    n = x.shape[0]
    o, i, kh, kw = weight.shape
    w = weight[None] * styles.reshape(n, 1, i, 1, 1)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, o, 1, 1, 1)
    x = x.reshape(1, n * i, *x.shape[2:])
    x = conv2d_resample(x, w.reshape(n * o, i, kh, kw), f, up=up, padding=padding, groups=n, flip_weight=flip_weight)
    x = x.reshape(n, o, *x.shape[2:])
    return x + noise if noise is not None else x


def normalize_2nd_moment(x, eps=1e-8):
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


# ------------------------------------------------------------------------------------------------
# Layers (names and parameters as the published modules)

class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, cin, cout, activation='linear', lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.activation = activation
        self.weight = torch.nn.Parameter(torch.randn(cout, cin) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([cout], float(bias_init)))
        self.weight_gain = lr_multiplier / np.sqrt(cin)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        x = x.matmul((self.weight * self.weight_gain).t())
        return bias_act(x, self.bias * self.bias_gain, act=self.activation)


class Conv2dLayer(torch.nn.Module):
    def __init__(self, cin, cout, k, bias=True, activation='linear', up=1, down=1, conv_clamp=None):
        super().__init__()
        self.activation, self.up, self.down, self.conv_clamp = activation, up, down, conv_clamp
        self.register_buffer('resample_filter', fir_filter())
        self.padding = k // 2
        self.weight_gain = 1 / np.sqrt(cin * k * k)
        self.weight = torch.nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = torch.nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x, gain=1.0):
        x = conv2d_resample(x, self.weight * self.weight_gain, self.resample_filter, up=self.up, down=self.down,
                            padding=self.padding, flip_weight=(self.up == 1))
        act_gain = (SQRT2 if self.activation == 'lrelu' else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=act_gain, clamp=clamp)


class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, w_dim, num_ws, num_layers, lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        self.num_ws, self.num_layers, self.w_avg_beta = num_ws, num_layers, w_avg_beta
        features = [z_dim] + [w_dim] * num_layers
        for idx in range(num_layers):
            setattr(self, f'fc{idx}', FullyConnectedLayer(features[idx], features[idx + 1], activation='lrelu',
                                                          lr_multiplier=lr_multiplier))
        self.register_buffer('w_avg', torch.zeros([w_dim]))

    def forward(self, z, truncation_psi=1.0, truncation_cutoff=None):
        x = normalize_2nd_moment(z)
        for idx in range(self.num_layers):
            x = getattr(self, f'fc{idx}')(x)
        if self.training:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x = torch.cat([self.w_avg.lerp(x[:, :cut], truncation_psi), x[:, cut:]], dim=1)
        return x


class SynthesisLayer(torch.nn.Module):
    def __init__(self, cin, cout, w_dim, resolution, up=1, conv_clamp=None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.register_buffer('resample_filter', fir_filter())
        self.affine = FullyConnectedLayer(w_dim, cin, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.register_buffer('noise_const', torch.randn(resolution, resolution))
        self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros(cout))

    def forward(self, x, w):
        styles = self.affine(w)
        noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=1, f=self.resample_filter,
                             flip_weight=(self.up == 1))
        return bias_act(x, self.bias, act='lrelu', clamp=self.conv_clamp)


class ToRGBLayer(torch.nn.Module):
    def __init__(self, cin, cout, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, cin, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(cout, cin, 1, 1))
        self.bias = torch.nn.Parameter(torch.zeros(cout))
        self.weight_gain = 1 / np.sqrt(cin)

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(torch.nn.Module):
    def __init__(self, cin, cout, w_dim, resolution, img_channels, conv_clamp):
        super().__init__()
        self.cin = cin
        self.register_buffer('resample_filter', fir_filter())
        if cin == 0:
            self.const = torch.nn.Parameter(torch.randn(cout, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(cin, cout, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(cout, cout, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(cout, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if cin == 0 else 2

    def forward(self, x, img, ws):
        n = ws.shape[0]
        k = 0
        if self.cin == 0:
            x = self.const[None].repeat(n, 1, 1, 1)
        else:
            x = self.conv0(x, ws[:, k])
            k += 1
        x = self.conv1(x, ws[:, k])
        k += 1
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, ws[:, k])
        return x, (img + y if img is not None else y)


class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, res, img_channels, channel_base, channel_max, conv_clamp):
        super().__init__()
        self.resolutions = [2 ** i for i in range(2, int(np.log2(res)) + 1)]
        ch = {r: min(channel_base // r, channel_max) for r in self.resolutions}
        self.num_ws = 0
        for r in self.resolutions:
            block = SynthesisBlock(ch[r // 2] if r > 4 else 0, ch[r], w_dim, r, img_channels, conv_clamp)
            self.num_ws += block.num_conv
            setattr(self, f'b{r}', block)
        self.num_ws += 1  # the last block's ToRGB

    def forward(self, ws):
        x = img = None
        at = 0
        for r in self.resolutions:
            block = getattr(self, f'b{r}')
            x, img = block(x, img, ws[:, at:at + block.num_conv + 1])
            at += block.num_conv
        return img


class Generator(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.synthesis = SynthesisNetwork(cfg['w_dim'], cfg['res'], cfg['img_channels'], cfg['channel_base'],
                                          cfg['channel_max'], cfg['conv_clamp'])
        self.mapping = MappingNetwork(cfg['z_dim'], cfg['w_dim'], self.synthesis.num_ws, cfg['mapping_layers'])


class MinibatchStdLayer(torch.nn.Module):
    def __init__(self, group_size, num_channels=1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorBlock(torch.nn.Module):
    def __init__(self, cin, tmp, cout, img_channels, conv_clamp):
        super().__init__()
        self.cin = cin
        self.register_buffer('resample_filter', fir_filter())
        if cin == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp, 1, activation='lrelu', conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp, tmp, 3, activation='lrelu', conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp, cout, 3, activation='lrelu', down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp, cout, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.cin == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=np.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=np.sqrt(0.5))
        return y + x


class DiscriminatorEpilogue(torch.nn.Module):
    def __init__(self, cin, resolution, mbstd_group, conv_clamp):
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group, 1)
        self.conv = Conv2dLayer(cin + 1, cin, 3, activation='lrelu', conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(cin * resolution ** 2, cin, activation='lrelu')
        self.out = FullyConnectedLayer(cin, 1)

    def forward(self, x):
        return self.out(self.fc(self.conv(self.mbstd(x)).flatten(1)))


class Discriminator(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        res = cfg['res']
        self.resolutions = [2 ** i for i in range(int(np.log2(res)), 2, -1)]
        ch = {r: min(cfg['channel_base'] // r, cfg['channel_max']) for r in self.resolutions + [4]}
        for r in self.resolutions:
            setattr(self, f'b{r}', DiscriminatorBlock(ch[r] if r < res else 0, ch[r], ch[r // 2], cfg['img_channels'],
                                                      cfg['conv_clamp']))
        self.b4 = DiscriminatorEpilogue(ch[4], 4, cfg['mbstd_group'], cfg['conv_clamp'])

    def forward(self, img):
        x = None
        for r in self.resolutions:
            x = getattr(self, f'b{r}')(x, img)
        return self.b4(x)


# ------------------------------------------------------------------------------------------------

def randomise_zero_inits(module):
    """Biases, noise strengths and w_avg start at 0 (or 1): draw them so each shows in the outputs."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith('bias'):
                p.add_(torch.randn_like(p) * 0.2)
            if name.endswith('noise_strength'):
                p.copy_(torch.randn([]) * 0.3)
        for name, b in module.named_buffers():
            if name.endswith('w_avg'):
                b.copy_(torch.randn_like(b) * 0.5)


G_GRAD_NAMES = ['mapping.fc0.weight', 'mapping.fc1.bias', 'synthesis.b4.const', 'synthesis.b4.conv1.weight',
                'synthesis.b8.conv0.weight', 'synthesis.b8.conv0.affine.weight', 'synthesis.b8.conv0.noise_strength',
                'synthesis.b16.conv1.bias', 'synthesis.b16.torgb.weight', 'synthesis.b16.torgb.affine.bias']
D_GRAD_NAMES = ['b16.fromrgb.weight', 'b16.conv0.weight', 'b16.skip.weight', 'b8.conv1.weight', 'b8.conv1.bias',
                'b4.conv.weight', 'b4.fc.weight', 'b4.out.weight', 'b4.out.bias']
R1_GRAD_NAMES = ['b16.fromrgb.weight', 'b16.conv0.weight', 'b8.skip.weight', 'b4.conv.weight', 'b4.fc.weight',
                 'b4.out.weight']


def main():
    cfg = TINY
    torch.manual_seed(0)
    G, D = Generator(cfg), Discriminator(cfg)
    randomise_zero_inits(G)
    randomise_zero_inits(D)
    G.eval()
    z = torch.randn(2, cfg['z_dim'])
    real = torch.randn(4, cfg['img_channels'], cfg['res'], cfg['res'])
    state = {**{f'G.{k}': v for k, v in G.state_dict().items()}, **{f'D.{k}': v for k, v in D.state_dict().items()}}
    io = {'io.z': z, 'io.real': real}

    with torch.no_grad():
        io['io.ws'] = G.mapping(z)
        io['io.ws_psi0.7_cutoff3'] = G.mapping(z, truncation_psi=0.7, truncation_cutoff=3)
        io['io.ws_psi0.5'] = G.mapping(z, truncation_psi=0.5)
        G.mapping.train()
        before = G.mapping.w_avg.clone()
        G.mapping(z)
        io['io.w_avg_updated'] = G.mapping.w_avg.clone()
        G.mapping.w_avg.copy_(before)
        G.mapping.eval()

    img = G.synthesis(G.mapping(z))
    logits_fake = D(img)
    io['io.img'] = img
    io['io.logits_fake'] = logits_fake
    io['io.logits_real'] = D(real)
    with torch.no_grad():
        # Two groups of 2 in the batch of 4: the grouping (by stride) then matters.
        D.b4.mbstd.group_size = 2
        io['io.logits_real_mbstd_group2'] = D(real)
        D.b4.mbstd.group_size = cfg['mbstd_group']
    g_params, d_params = dict(G.named_parameters()), dict(D.named_parameters())
    grads = torch.autograd.grad(logits_fake.sum(), [g_params[n] for n in G_GRAD_NAMES] + [d_params[n] for n in D_GRAD_NAMES])
    for n, g in zip(G_GRAD_NAMES, grads):
        io[f'io.grad.G.{n}'] = g
    for n, g in zip(D_GRAD_NAMES, grads[len(G_GRAD_NAMES):]):
        io[f'io.grad.D.{n}'] = g

    # R1: ‖∇ₓ D(x)‖² summed over the batch, and its gradient w.r.t. D's weights (double backward).
    x = real.clone().requires_grad_(True)
    (dx,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    r1 = dx.square().sum()
    io['io.r1'] = r1.reshape(1)
    for n, g in zip(R1_GRAD_NAMES, torch.autograd.grad(r1, [d_params[n] for n in R1_GRAD_NAMES])):
        io[f'io.r1_grad.D.{n}'] = g

    print(f"num_ws {G.synthesis.num_ws}; clamped {CLAMP_STATS['clamped']} of {CLAMP_STATS['total']} activations; r1 {float(r1):.4f}")
    meta = {'config': json.dumps(cfg), 'torch': torch.__version__}
    save_safetensors(os.path.join(HERE, 'stylegan2_tiny.safetensors'), {**state, **io}, meta)


if __name__ == '__main__':
    main()
