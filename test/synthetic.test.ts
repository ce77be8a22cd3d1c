import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import * as E from '../src/index.js';
import { tempDir } from './fixtures.js';

test('an unlabeled folder of PNG slices replaces the unlabeled pool; labeled slices and volumes stay', async () => {
  const dir = tempDir('synth');
  for (let k = 0; k < 3; k++) {
    const png = new PNG({ width: 20, height: 12 });
    for (let i = 0; i < 240; i++) png.data.set([k * 50, k * 50, k * 50, 255], 4 * i);
    writeFileSync(`${dir}/syn_${k}.png`, PNG.sync.write(png));
  }
  writeFileSync(`${dir}/notes.txt`, 'ignored');
  const base = new E.PhantomDataset({ seed: 1, size: 32, trainSlices: 10, labeledSlices: 4, valVolumes: 1, volumeDepth: 2 });
  const d = await E.WithUnlabeled.open(base, dir);
  assert.equal(d.labeledIndices, [0, 1, 2, 3]);
  assert.equal(d.unlabeledIndices, [4, 5, 6]);
  assert.is(d.getSlice(0).name, base.getSlice(0).name);
  const s = d.getSlice(6);
  assert.equal([s.height, s.width], [12, 20]);
  assert.ok(Math.abs(s.image[0] - 100 / 255) < 1e-6, 'grey level scaled to [0, 1]');
  assert.equal(d.valVolumes, base.valVolumes);
});

test('a missing or empty unlabeled folder is a clear error naming it', async () => {
  const base = new E.PhantomDataset({ seed: 1, size: 32, trainSlices: 4, labeledSlices: 2, valVolumes: 1, volumeDepth: 2 });
  try {
    await E.WithUnlabeled.open(base, '/tmp/no-such-folder-xyz');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no-such-folder-xyz: unlabeled folder not found/);
  }
  const empty = tempDir('empty');
  try {
    await E.WithUnlabeled.open(base, empty);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no \.h5 or \.png slices/);
  }
});

test.run();
