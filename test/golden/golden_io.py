"""Shared by the golden-file generators: write a safetensors file by hand (torch 1.13 on Debian has no
safetensors package). Floating tensors are stored as F32, integer ones as I32."""
import json
import struct

import torch


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        t = t.float() if t.is_floating_point() else t.to(torch.int32)
        dtype = 'F32' if t.dtype == torch.float32 else 'I32'
        raw = t.numpy().tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b' ' * ((8 - (8 + len(head)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)
