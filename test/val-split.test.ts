// Honest model selection's split (src/data/val-split.ts). Mistakes caught (each made by hand): a split
// by volume instead of patient (a patient's two frames on both sides); halves that overlap or miss a
// volume; a split that depends on list order (shuffled lists must give the same halves).
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { test } from './harness.js';

const VAL = ['028', '085', '082', '087', '019', '030', '078', '045', '002', '039'].flatMap((p) => [`patient${p}_frame01`, `patient${p}_frame02`]);
const patients = (names: string[]) => [...new Set(names.map((n) => n.slice(7, 10)))].sort();

test("ACDC's 20 validation volumes split 10/10 by patient, alternately by sorted id", () => {
  const select = E.splitValidation(VAL, 'select');
  const report = E.splitValidation(VAL, 'report');
  assert.equal(patients(select), ['002', '028', '039', '078', '085']);
  assert.equal(patients(report), ['019', '030', '045', '082', '087']);
  assert.is(select.length, 10);
  assert.is(report.length, 10);
  assert.equal([...select, ...report].sort(), [...VAL].sort(), 'the halves partition the list');
  assert.equal(E.splitValidation(VAL, 'all'), VAL);
  assert.equal(E.splitValidation([...VAL].reverse(), 'select').sort(), [...select].sort(), 'independent of list order');
});

test('names without a patient id (fundus images) are their own patients', () => {
  assert.equal(E.splitValidation(['17_training', '18_training', '19_training', '20_training'], 'select'), ['17_training', '19_training']);
});

test.run();
