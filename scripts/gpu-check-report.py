"""The GPU check's report (scripts/gpu-check.sh runs it; Python 3.9+, standard library only).

  python3 scripts/gpu-check-report.py WORK OUT      merge the steps' records and outputs under WORK
      (logs/, results/) into OUT/results.json, print the engine-vs-PyTorch lines for summary.txt,
      and pack WORK/logs and WORK/results into OUT/logs.tar.gz
  python3 scripts/gpu-check-report.py --adapter adapter.json      the adapter's summary lines
"""
import json
import os
import re
import sys
import tarfile
import time


def read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def adapter_lines(a):
    lim, ts, info = a['adapterLimits'], a.get('timestamps'), a.get('info', {})
    feats = ', '.join(k for k, v in a['engineFeatures'].items() if v) or 'none optional'
    out = [f"adapter: {a['description']} · backend {a['backend']}{' (SOFTWARE)' if a['software'] else ''} · features {feats}",
           f"limits: maxStorageBufferBindingSize {lim['maxStorageBufferBindingSize'] / 2**20:.0f} MiB, maxBufferSize "
           f"{lim['maxBufferSize'] / 2**20:.0f} MiB, workgroup storage {lim['maxComputeWorkgroupStorageSize']} B, "
           f"invocations {lim['maxComputeInvocationsPerWorkgroup']}, subgroups {info.get('subgroupMinSize')}..{info.get('subgroupMaxSize')}"]
    if ts:
        state = 'QUANTISED to 65,536 ns' if ts['quantised'] else 'not quantised'
        out.append(f"timestamps: {state}; probe passes {ts['minPassNs']}..{ts['maxPassNs']} ns")
    return out


def key(name):
    """Row names of vit.js and pytorch_vit.py, comparable: no spaces ([12, 6, 257, 64] = [12,6,257,64])."""
    return re.sub(r'\s+', '', name)


def main(work, out):
    logs, res = os.path.join(work, 'logs'), os.path.join(work, 'results')
    steps = []
    for line in read(os.path.join(res, 'steps.tsv')).splitlines():
        name, status, secs, rc, why = (line.split('\t') + [''] * 5)[:5]
        steps.append({'name': name, 'status': status, 'seconds': float(secs or 0), 'exit': rc, 'note': why})
    r = {'generated': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'steps': steps,
         'adapter': load_json(os.path.join(res, 'adapter.json'))}

    def tests(step):
        text = read(os.path.join(logs, f'{step}.log'))
        m = re.findall(r'(\d+) passed, (\d+) failed, (\d+) skipped', text)
        fails = re.findall(r'FAIL\s+"([^"]+)"', re.sub(r'\x1b\[[0-9;]*m', '', text))
        return {'passed': int(m[-1][0]), 'failed': int(m[-1][1]), 'skipped': int(m[-1][2]), 'failures': fails} if m else None

    r['tests'] = tests('tests')
    r['testsGpuKernels'] = tests('tests-gpu-kernels')
    unet = {}
    for m in re.finditer(r'batch\s+(\d+) × 1×(\d+)×\d+: ([\d.]+) ms/step .*?peak pool memory (\d+) MiB', read(os.path.join(logs, 'unet-step.log'))):
        unet[int(m[1])] = {'size': int(m[2]), 'ms': float(m[3]), 'peakMiB': int(m[4])}
    r['unet'] = unet
    prof = read(os.path.join(logs, 'unet-profile.log')).splitlines()
    at = next((i for i, l in enumerate(prof) if l.startswith('kernel ')), None)
    r['unetProfile'] = prof[at:] if at is not None else None
    vit = {}
    for m in re.finditer(r'^((?:attention|DINOv2) .*?)\s+([\d.]+) ms\s+([\d.]+) GFLOP/s$', read(os.path.join(logs, 'vit.log')), re.M):
        vit[key(m[1])] = {'name': m[1], 'ms': float(m[2]), 'gflops': float(m[3])}
    r['vit'] = vit
    r['kernels'] = load_json(os.path.join(res, 'kernels.json'))
    r['kernelsF16'] = load_json(os.path.join(res, 'kernels-f16.json'))
    torch = {}
    for f in sorted(os.listdir(res)) if os.path.isdir(res) else []:
        if f.startswith('torch-') and f.endswith('.json'):
            torch[f[len('torch-'):-len('.json')]] = load_json(os.path.join(res, f))
    r['torch'] = torch

    lines, comparisons = [], []
    if r['tests']:
        t = r['tests']
        lines.append(f"tests on this adapter: {t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped"
                     + (f" — failed: {'; '.join(t['failures'][:6])}" if t['failures'] else ''))
    for b, e in sorted(unet.items()):
        parts = [f"unet step batch {b} ({e['size']}²): engine {e['ms']:.1f} ms, pool peak {e['peakMiB']} MiB"]
        for mode in ('tf32', 'fp32', 'cpu'):
            rows = (torch.get(f'unet-{mode}') or {}).get('rows', [])
            row = next((x for x in rows if x.get('batch') == b), None)
            if row:
                parts.append(f"PyTorch {mode} {row['ms']:.1f} ms (engine/PyTorch {e['ms'] / row['ms']:.2f}×)")
                comparisons.append({'case': f'unet step batch {b}', 'torch': mode, 'engineMs': e['ms'], 'torchMs': row['ms']})
        lines.append(' · '.join(parts))
    for k, e in vit.items():
        parts = [f"{e['name']}: engine {e['ms']:.2f} ms ({e['gflops']:.0f} GFLOP/s)"]
        for mode in ('fp32', 'tf32', 'cpu'):
            rows = {key(x['name']): x for x in (torch.get(f'vit-{mode}') or {}).get('rows', [])}
            # The engine's fused kernel against PyTorch's fused SDPA; unfused against unfused; models alike.
            twin = rows.get(k.replace('attentionfused', 'attentionsdpa')) or (rows.get(k) if 'fused' not in k or 'unfused' in k else None)
            if twin:
                frac = twin['ms'] / e['ms']
                label = 'SDPA' if 'sdpa' in key(twin['name']) else 'PyTorch'
                parts.append(f"{label} {mode} {twin['ms']:.2f} ms → engine at {frac:.2f} of its speed")
                comparisons.append({'case': e['name'], 'torch': mode, 'torchCase': twin['name'], 'engineMs': e['ms'], 'torchMs': twin['ms'],
                                    'engineSpeedFraction': frac})
        lines.append(' · '.join(parts))
    if r['kernels'] and r['kernels'].get('rows'):
        rows = r['kernels']['rows']
        ratios = sorted(x['ratio'] for x in rows if x.get('ratio'))
        lines.append(f"kernels: {len(rows)} cases" + (f"; engine vs tfjs-webgpu on the same adapter: median {ratios[len(ratios) // 2]:.2f}×, "
                                                        f"range {ratios[0]:.2f}–{ratios[-1]:.2f}× (>1: engine faster)" if ratios else ''))
    if r['kernels'] and r['kernelsF16'] and r['kernelsF16'].get('staging') == 'f16':
        f32 = {x['name']: x['ms'] for x in r['kernels'].get('rows', [])}
        # The GEMM cases (the benchmark calls them outside a backward pass, so all run staged in f16).
        gains = [(x['name'], f32[x['name']] / x['ms']) for x in r['kernelsF16'].get('rows', [])
                 if x['name'] in f32 and x['ms'] > 0 and x['name'].startswith(('conv2d', 'matmul', 'linear'))]
        if gains:
            lines.append('f16 staging (SRASEG_F16=1) vs f32, GEMM cases: '
                         + ', '.join(f'{n} {g:.2f}×' for n, g in gains) + ' (>1: f16 faster)')
    soak = re.search(r'^summary: (.*)$', read(os.path.join(logs, 'soak-stylegan.log')), re.M)
    r['soakStylegan'] = soak[1] if soak else None
    if soak:
        lines.append(f"StyleGAN2 soak (bench/soak.js --only stylegan): {soak[1]}")
    att = [c for c in comparisons if 'attention fused' in c['case'] and c['torch'] == 'fp32']
    if att:
        worst = min(c['engineSpeedFraction'] for c in att)
        lines.append(f"fused attention vs PyTorch SDPA fp32: engine at {worst:.2f} of SDPA's speed at worst "
                     f"(target ≥ 0.5: {'met' if worst >= 0.5 else 'NOT met'})")
    r['comparisons'] = comparisons
    r['summary'] = lines
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump(r, f, indent=1)
    with tarfile.open(os.path.join(out, 'logs.tar.gz'), 'w:gz') as t:
        for d in ('logs', 'results'):
            if os.path.isdir(os.path.join(work, d)):
                t.add(os.path.join(work, d), arcname=d)
    print('\n'.join(lines))


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--adapter':
        print('\n'.join(adapter_lines(load_json(sys.argv[2]))))
    elif len(sys.argv) == 3:
        main(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
