#!/usr/bin/python3
"""PyTorch golden files for the engine's layer ops (read by test/golden.test.ts).

Run by hand with Debian's python3-torch (1.13, CPU) from the repository root:
    /usr/bin/python3 test/golden/generate.py
It writes test/golden/<family>.json; CI only reads them and needs no Python.

Each file is {"generator", "torch", "cases": [...]}; a case has a name, the op's arguments ("args",
spelled as in PyTorch) and named tensors {"shape": [...], "data": [flat C-order values]}:
inputs and parameters, outputs, and gradients w.r.t. inputs and parameters for a fixed random
upstream gradient "gy" (dL/dy, so L = Σ y·gy). Inputs are drawn in float32 (what the engine sees) and
everything is then computed in float64, so the reference carries no float32 rounding of its own.
Shapes are small and awkward on purpose: batch 2, odd and unequal H and W.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_BYTES = 200_000


def f32(*shape, lo=-1.0, hi=1.0):
    """Uniform values in [lo, hi), rounded to float32, returned as float64."""
    return (torch.rand(*shape, dtype=torch.float32) * (hi - lo) + lo).double()


def leaf(t):
    return t.clone().requires_grad_(True)


def pack(t):
    t = t.detach().double().contiguous()
    # 9 significant digits round-trip any float32; shorter output keeps the files small.
    return {'shape': list(t.shape), 'data': [float(f'{v:.9g}') for v in t.reshape(-1).tolist()]}


def case(name, args, **tensors):
    return {'name': name, 'args': args, 'tensors': {k: pack(v) for k, v in tensors.items()}}


def grads_of(y, inputs, gy):
    """Gradients of Σ y·gy w.r.t. each input."""
    return torch.autograd.grad(y, inputs, grad_outputs=gy)


def conv2d_cases():
    cases = []
    for name, cin, cout, k, stride, padding, dilation, groups in [
        ('stride 2, padding 1', 3, 5, (3, 3), 2, 1, 1, 1),
        ('dilation 2, padding 2, groups 2', 4, 6, (3, 3), 1, 2, 2, 2),
        ('stride 2, padding 1, dilation 2, groups 2, 3x2 kernel', 4, 6, (3, 2), 2, 1, 2, 2),
    ]:
        x = leaf(f32(2, cin, 9, 7))
        w = leaf(f32(cout, cin // groups, *k, lo=-0.5, hi=0.5))
        b = leaf(f32(cout))
        args = {'stride': stride, 'padding': padding, 'dilation': dilation, 'groups': groups}
        y = F.conv2d(x, w, b, **args)
        gy = f32(*y.shape)
        gx, gw, gb = grads_of(y, [x, w, b], gy)
        cases.append(case(name, args, x=x, w=w, b=b, y=y, gy=gy, gx=gx, gw=gw, gb=gb))
    return cases


def conv_transpose2d_cases():
    cases = []
    for name, cin, cout, stride, padding, output_padding, dilation, groups in [
        ('stride 2, padding 1, output_padding 1', 4, 3, 2, 1, 1, 1, 1),
        ('stride 2, output_padding 1, dilation 2, groups 2', 4, 6, 2, 1, 1, 2, 2),
    ]:
        x = leaf(f32(2, cin, 5, 6))
        w = leaf(f32(cin, cout // groups, 3, 3, lo=-0.5, hi=0.5))
        b = leaf(f32(cout))
        args = {'stride': stride, 'padding': padding, 'output_padding': output_padding, 'dilation': dilation, 'groups': groups}
        y = F.conv_transpose2d(x, w, b, **args)
        gy = f32(*y.shape)
        gx, gw, gb = grads_of(y, [x, w, b], gy)
        cases.append(case(name, args, x=x, w=w, b=b, y=y, gy=gy, gx=gx, gw=gw, gb=gb))
    return cases


def batch_norm2d_cases():
    momentum, eps = 0.1, 1e-5
    x = leaf(f32(2, 3, 5, 7, lo=-2, hi=3))
    w = leaf(f32(3, lo=0.5, hi=1.5))
    b = leaf(f32(3))
    running_mean = f32(3, lo=-0.2, hi=0.2)
    running_var = f32(3, lo=0.5, hi=1.5)
    cases = []
    for training in (True, False):
        rm, rv = running_mean.clone(), running_var.clone()
        # F.batch_norm updates rm/rv in place in training mode (with the unbiased batch variance).
        y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
        gy = f32(*y.shape)
        gx, gw, gb = grads_of(y, [x, w, b], gy)
        cases.append(
            case(
                'training' if training else 'eval',
                {'training': training, 'momentum': momentum, 'eps': eps},
                x=x, w=w, b=b, running_mean=running_mean, running_var=running_var,
                y=y, running_mean_after=rm, running_var_after=rv, gy=gy, gx=gx, gw=gw, gb=gb,
            )
        )
    return cases


def interpolate_cases():
    cases = []
    for mode, align_corners in [('bilinear', False), ('bilinear', True), ('nearest', None)]:
        for size in [(11, 16), (3, 4)]:
            x = leaf(f32(2, 3, 5, 7))
            y = F.interpolate(x, size=size, mode=mode, align_corners=align_corners)
            gy = f32(*y.shape)
            (gx,) = grads_of(y, [x], gy)
            label = f'{mode}{"" if align_corners is None else f" align_corners={align_corners}"} 5x7 -> {size[0]}x{size[1]}'
            args = {'mode': mode, 'size': list(size), 'align_corners': align_corners}
            cases.append(case(label, args, x=x, y=y, gy=gy, gx=gx))
    return cases


def pool_cases():
    cases = []
    x = leaf(f32(2, 3, 9, 8))
    args = {'kernel_size': 3, 'stride': 2, 'padding': 1}
    y = F.max_pool2d(x, **args)
    gy = f32(*y.shape)
    (gx,) = grads_of(y, [x], gy)
    cases.append(case('max_pool2d k3 s2 p1', {'op': 'max', **args}, x=x, y=y, gy=gy, gx=gx))
    for count_include_pad in (True, False):
        a = {**args, 'count_include_pad': count_include_pad}
        y = F.avg_pool2d(x, **a)
        gy = f32(*y.shape)
        (gx,) = grads_of(y, [x], gy)
        cases.append(case(f'avg_pool2d k3 s2 p1 count_include_pad={count_include_pad}', {'op': 'avg', **a}, x=x, y=y, gy=gy, gx=gx))
    return cases


def soft_cross_entropy_cases():
    logits = leaf(f32(2, 4, 5, 7, lo=-3, hi=3))
    target = torch.softmax(f32(2, 4, 5, 7, lo=-2, hi=2) * 2, dim=1).float().double()
    loss = F.cross_entropy(logits, target, reduction='mean')
    gy = torch.tensor(0.75, dtype=torch.float64)
    (gx,) = grads_of(loss, [logits], gy)
    return [case('probability targets, mean over N·H·W', {'reduction': 'mean', 'dim': 1}, logits=logits, target=target, y=loss, gy=gy, gx=gx)]


def softmax_cases():
    cases = []
    for name, fn in [('softmax', torch.softmax), ('log_softmax', torch.log_softmax)]:
        x = leaf(f32(2, 5, 3, 7, lo=-4, hi=4))
        y = fn(x, dim=1)
        gy = f32(*y.shape)
        (gx,) = grads_of(y, [x], gy)
        cases.append(case(f'{name} dim 1', {'op': name, 'dim': 1}, x=x, y=y, gy=gy, gx=gx))
    return cases


def layer_norm_cases():
    cases = []
    for shape in [(2, 7, 10), (2, 3, 33)]:
        x = leaf(f32(*shape, lo=-2, hi=3))
        w = leaf(f32(shape[-1], lo=0.5, hi=1.5))
        b = leaf(f32(shape[-1]))
        eps = 1e-5
        y = F.layer_norm(x, shape[-1:], w, b, eps)
        gy = f32(*y.shape)
        gx, gw, gb = grads_of(y, [x, w, b], gy)
        cases.append(case(f'last dim of {shape}', {'normalized_shape': [shape[-1]], 'eps': eps}, x=x, w=w, b=b, y=y, gy=gy, gx=gx, gw=gw, gb=gb))
    return cases


def gelu_cases():
    x = leaf(f32(2, 3, 17, lo=-5, hi=5))
    y = F.gelu(x)
    gy = f32(*y.shape)
    (gx,) = grads_of(y, [x], gy)
    return [case('exact (erf)', {'approximate': 'none'}, x=x, y=y, gy=gy, gx=gx)]


FAMILIES = {
    'conv2d': conv2d_cases,
    'conv_transpose2d': conv_transpose2d_cases,
    'batch_norm2d': batch_norm2d_cases,
    'interpolate': interpolate_cases,
    'pool2d': pool_cases,
    'soft_cross_entropy': soft_cross_entropy_cases,
    'softmax': softmax_cases,
    'layer_norm': layer_norm_cases,
    'gelu': gelu_cases,
}


def main():
    for seed, (family, make) in enumerate(FAMILIES.items()):
        # One seed per family, so adding a case to one family leaves the other files unchanged.
        torch.manual_seed(1000 + seed)
        doc = {'generator': 'test/golden/generate.py', 'torch': torch.__version__, 'cases': make()}
        text = json.dumps(doc, separators=(',', ':'))
        if len(text) > MAX_BYTES:
            sys.exit(f'{family}.json would be {len(text)} bytes (limit {MAX_BYTES}): shrink its shapes')
        with open(os.path.join(OUT_DIR, f'{family}.json'), 'w') as f:
            f.write(text + '\n')
        print(f'{family}.json: {len(doc["cases"])} cases, {len(text) // 1024} KiB')


if __name__ == '__main__':
    main()
