"""What the PyTorch twins of the benchmarks share: the device and TF32 options, timing, JSON output.

--cuda runs on the GPU (timed with torch.cuda.synchronize() around each run). --tf32 on|off sets both
torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32; left out, PyTorch's defaults
stay (matmul off, cuDNN convolutions on). NVIDIA_TF32_OVERRIDE=0 in the environment turns TF32 off
below PyTorch, whatever these flags say; each twin prints the state it ran with.
"""
import json
import os
import statistics
import time

import torch


def add_device_args(parser):
    parser.add_argument('--cuda', action='store_true', help='run on the CUDA GPU (default: CPU, all cores)')
    parser.add_argument('--tf32', choices=['on', 'off'], default=None,
                        help="TF32 for matmuls and cuDNN convolutions (default: PyTorch's own defaults)")
    parser.add_argument('--json', default=None, help='also write the results to this JSON file')


def setup_device(args):
    """Returns (device, a one-line description of the run's numerics)."""
    if args.cuda:
        if not torch.cuda.is_available():
            raise SystemExit('--cuda: this PyTorch sees no CUDA GPU (torch.cuda.is_available() is False); run without --cuda')
        dev = 'cuda'
        if args.tf32 is not None:
            torch.backends.cuda.matmul.allow_tf32 = args.tf32 == 'on'
            torch.backends.cudnn.allow_tf32 = args.tf32 == 'on'
        name = torch.cuda.get_device_name(0)
        how = (f'{name}, matmul TF32 {torch.backends.cuda.matmul.allow_tf32}, cuDNN TF32 {torch.backends.cudnn.allow_tf32}, '
               f"NVIDIA_TF32_OVERRIDE={os.environ.get('NVIDIA_TF32_OVERRIDE', 'unset')}, cuDNN benchmark {torch.backends.cudnn.benchmark}")
    else:
        if args.tf32 is not None:
            raise SystemExit('--tf32 applies to --cuda runs only')
        dev = 'cpu'
        torch.set_num_threads(os.cpu_count() or 1)
        how = f'CPU, {torch.get_num_threads()} threads'
    return dev, f'torch {torch.__version__} on {dev}: {how}'


def sync(dev):
    if dev == 'cuda':
        torch.cuda.synchronize()


def median_ms(fn, dev, runs=5, warmup=1):
    """Median wall time of `runs` calls of fn after `warmup` calls, each waited for on the GPU."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        sync(dev)
        t0 = time.perf_counter()
        fn()
        sync(dev)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def write_json(path, header, rows):
    if path:
        with open(path, 'w') as f:
            json.dump({'run': header, 'rows': rows}, f, indent=2)
