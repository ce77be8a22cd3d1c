import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { tinyPhantom, tinySupervised } from './tiny-runs.js';
import { quiet } from './helpers.js';
import { tempDir } from './fixtures.js';


const config = (out: string, iterations: number, resume = false) => tinySupervised(out, { iterations, resume });

const phantom = () => tinyPhantom(12);

test('a resumed run ends bit-identical to an uninterrupted one (weights, optimiser, RNG, sampler)', async () => {
  const dir = tempDir('resume');
  await quiet(() => E.trainSupervised(phantom(), config(`${dir}/straight`, 4)));
  await quiet(() => E.trainSupervised(phantom(), config(`${dir}/split`, 2)));
  await quiet(() => E.trainSupervised(phantom(), config(`${dir}/split`, 4, true)));
  for (const f of ['model_last.safetensors', 'log.jsonl', 'config.json', 'curves.png', 'model_best.safetensors']) {
    assert.ok(existsSync(`${dir}/split/${f}`), `run folder has ${f}`);
  }
  const a = E.loadSafetensors(`${dir}/straight/model_last.safetensors`).tensors;
  const b = E.loadSafetensors(`${dir}/split/model_last.safetensors`).tensors;
  assert.equal([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) assert.equal(Array.from(b.get(k)!.data as Float32Array), Array.from(t.data as Float32Array), k);
  const losses = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.loss !== undefined).map((r) => r.loss);
  assert.equal(losses(`${dir}/split/log.jsonl`), losses(`${dir}/straight/log.jsonl`), 'same losses at every iteration');
});

test.run();
