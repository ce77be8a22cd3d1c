"""Golden file for the UNet of SSL4MIS/BCP: the same architecture in plain PyTorch (written from the
facts in ../shared/SRA-SEG-NOTES.md), random weights, a small input, outputs in train and eval mode,
gradients of every parameter, and the updated BatchNorm running statistics.

Run by hand with Debian's PyTorch:  /usr/bin/python3 test/golden/generate_unet.py
Writes test/golden/unet_small.safetensors (a small-width config so the fixture stays small; the
full-width parameter count is asserted separately in test/unet.test.ts).
The UNet class is also the PyTorch twins' (bench/pytorch_unet_step.py, pytorch_train_acdc.py).
Dropout is set to 0 here: the two engines' random streams differ, and dropout is tested on its own.
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_io import save_safetensors

FEATURES = [4, 8, 8, 16, 16]
CLASSES = 4


class ConvBlock(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.conv_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU(),
            nn.Dropout(p), nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU())

    def forward(self, x):
        return self.conv_conv(x)


class DownBlock(nn.Module):
    def __init__(self, cin, cout, p):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), ConvBlock(cin, cout, p))

    def forward(self, x):
        return self.maxpool_conv(x)


class UpBlock(nn.Module):
    def __init__(self, c1, c2, cout):
        super().__init__()
        self.conv1x1 = nn.Conv2d(c1, c2, 1)
        self.conv = ConvBlock(2 * c2, cout, 0.0)

    def forward(self, deep, skip):
        up = F.interpolate(self.conv1x1(deep), size=skip.shape[2:], mode='bilinear', align_corners=True)
        return self.conv(torch.cat([skip, up], dim=1))


class Encoder(nn.Module):
    def __init__(self, f, d):
        super().__init__()
        self.in_conv = ConvBlock(1, f[0], d[0])
        self.down1 = DownBlock(f[0], f[1], d[1])
        self.down2 = DownBlock(f[1], f[2], d[2])
        self.down3 = DownBlock(f[2], f[3], d[3])
        self.down4 = DownBlock(f[3], f[4], d[4])

    def forward(self, x):
        x0 = self.in_conv(x)
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        x3 = self.down3(x2)
        return [x0, x1, x2, x3, self.down4(x3)]


class Decoder(nn.Module):
    def __init__(self, f, classes):
        super().__init__()
        self.up1 = UpBlock(f[4], f[3], f[3])
        self.up2 = UpBlock(f[3], f[2], f[2])
        self.up3 = UpBlock(f[2], f[1], f[1])
        self.up4 = UpBlock(f[1], f[0], f[0])
        self.out_conv = nn.Conv2d(f[0], classes, 3, padding=1)

    def forward(self, feats):
        x = self.up1(feats[4], feats[3])
        x = self.up2(x, feats[2])
        x = self.up3(x, feats[1])
        x = self.up4(x, feats[0])
        return self.out_conv(x)


# SSL4MIS's dropout per encoder level (the golden file sets it to 0; bench/pytorch_train_acdc.py
# trains with it).
PUBLISHED_DROPOUT = (0.05, 0.1, 0.2, 0.3, 0.5)


class UNet(nn.Module):
    def __init__(self, f, classes, dropout=(0.0,) * 5):
        super().__init__()
        self.encoder = Encoder(f, dropout)
        self.decoder = Decoder(f, classes)

    def forward(self, x):
        return self.decoder(self.encoder(x))




def main():
    torch.manual_seed(1337)
    net = UNet(FEATURES, CLASSES)
    # Non-trivial running statistics so that eval mode is tested too.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    out = {'param.' + k: v.clone() for k, v in net.state_dict().items()}
    x = torch.rand(2, 1, 32, 32)
    upstream = torch.randn(2, CLASSES, 32, 32)

    net.train()
    xg = x.clone().requires_grad_(True)
    y = net(xg)
    (y * upstream).sum().backward()
    out['input'] = x
    out['upstream'] = upstream
    out['train.logits'] = y.detach()
    out['train.input_grad'] = xg.grad
    for k, p in net.named_parameters():
        out['grad.' + k] = p.grad.clone()
    for k, v in net.state_dict().items():
        if 'running' in k:
            out['after.' + k] = v.clone()

    net.eval()
    with torch.no_grad():
        out['eval.logits'] = net(x)
    save_safetensors('test/golden/unet_small.safetensors', out,
                     {'features': json.dumps(FEATURES), 'classes': str(CLASSES), 'torch': torch.__version__})
    print('parameters', sum(p.numel() for p in net.parameters()))
    full = UNet([16, 32, 64, 128, 256], 4)
    print('full-width parameters', sum(p.numel() for p in full.parameters()))


if __name__ == '__main__':
    main()
