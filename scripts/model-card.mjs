#!/usr/bin/env node
// Publishes a run's best UNet under weights/: <name>.safetensors (the run's model_best, the checkpoint
// chosen on the selection half) and <name>.md, its model card — data and split, method, schedule,
// seed, adapter, the validation scores on both halves (src/data/val-split.ts) and the command that
// made it. Everything on the card is read from the run folder; nothing is typed in by hand but the
// command line and the adapter, which the run folder does not hold.
//
// Usage: node scripts/model-card.mjs RUN NAME --command '<the command that made the run>' --adapter '<adapter line>'
//          [--init-as '<how to name the run's --init>'] [--out weights]
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyseRun, stageOf } from './run-scores.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  return args.splice(i, 2)[1];
};
const command = flag('command');
const adapter = flag('adapter');
const outDir = flag('out', 'weights');
// The run's --init as the card should name it (the run folder records the path it was given).
const initAs = flag('init-as');
const [run, name] = args;
if (!run || !name || !command || !adapter) {
  console.error("usage: node scripts/model-card.mjs RUN NAME --command '<command>' --adapter '<adapter>' [--out weights]");
  process.exit(2);
}
const a = analyseRun(run);
if (!a) throw new Error(`${run}: no validation rows with per-volume Dice in its log`);
if (!a.complete) throw new Error(`${run}: the run is not complete (last validation at iteration ${a.last.iteration})`);

const pct = (x) => (100 * x).toFixed(1);
const row = (label, s) => `| ${label} | ${pct(s.mean)} | ${s.perClass.map(pct).join(' | ')} |`;
const c = a.config;
const schedule = c.method === 'supervised'
  ? `${c.iterations} iterations, batch ${c.batch}`
  : `${c.preIterations ?? 0} pre-training + ${c.selfIterations} self-training iterations, batch ${c.labeledBatch ?? c.batch} labeled + ${c.unlabeledBatch ?? c.batch} unlabeled`;
// What the card says about the task: ACDC (4 classes, 3D per volume, halves by patient) or fundus
// vessels (2 classes, 2D per image, halves by image) — told apart by the classes the log scores.
const fundus = a.classes.length === 1 && a.classes[0] === 'vessel';
const patients = (names) => names.filter((n) => n.endsWith('frame01')).map((n) => n.slice(7, 10)).join(', ');
const validation = a.halves.select.length + a.halves.report.length;
const task = fundus
  ? {
      model: '2 classes: background, vessel',
      tools: '`eval-fundus.js`',
      input: `fundus images (${/\((\w+) channel/.exec(c.data ?? '')?.[1] ?? 'green'} channel) are resized to ${c.size}² for the network and its output back to each image's size`,
      select: `images ${a.halves.select.join(', ')}`,
      report: `images ${a.halves.report.join(', ')}`,
      scores: `Vessel Dice (%, per image in 2D at native resolution inside the field of view, mean over the half's ${a.halves.report.length} images)`,
      rescore: `node bench/eval-fundus.js --checkpoint weights/${name}.safetensors --data ../shared/data/DRIVE --validation ${validation} --size ${c.size} --val-split report`,
    }
  : {
      model: '4 classes: background, RV, Myo, LV',
      tools: '`eval-acdc.js`,\n`segment.js`',
      input: `images are zoomed to ${c.size}² for the network`,
      select: `patients ${patients(a.halves.select)}`,
      report: `patients ${patients(a.halves.report)}`,
      scores: "Validation Dice (%, 3D per volume, BCP's protocol, mean over the half's 10 volumes)",
      rescore: `node bench/eval-acdc.js --checkpoint weights/${name}.safetensors --data ../shared/data/ACDC --size ${c.size} --val-split report`,
    };
mkdirSync(outDir, { recursive: true });
copyFileSync(join(stageOf(run), 'model_best.safetensors'), join(outDir, `${name}.safetensors`));
writeFileSync(join(outDir, `${name}.md`), `# ${name}

The UNet of SSL4MIS/BCP (1.81 M parameters, ${task.model}), trained by this
project's engine. Load it with \`--checkpoint weights/${name}.safetensors\` (${task.tools}) or \`--init\` (the trainers); ${task.input}.

- **Data**: ${c.data ?? 'see config'}${c.unlabeled && c.unlabeled !== 'real' ? `; unlabeled pool: ${c.unlabeled}` : ''}
- **Method**: ${c.method}${c.init ? `, started from \`${initAs ?? c.init}\`` : ''}${c.method !== 'sra-seg' ? '' : c.sa ? `, SA in ${c.saMode ?? 'prediction'} mode${c.dinov2 ? ` (ViT: \`${basename(c.dinov2)}\`)` : ''}` : ', SA off'}
- **Schedule**: ${schedule} at ${c.size}², SGD lr ${c.lr}, momentum ${c.momentum}, weight decay ${c.weightDecay}; seed ${c.seed}
- **Adapter**: ${adapter}; ${(a.seconds / 60).toFixed(0)} minutes
- **Checkpoint**: iteration ${a.best.iteration}, the best of ${a.validations} validations by mean Dice on the selection half (${task.select}); the report half (${task.report}) did not take part in the choice.

${task.scores}:

| | mean | ${a.classes.join(' | ')} |
| --- | ---: | ${a.classes.map(() => '---:').join(' | ')} |
${row('this checkpoint, report half', a.best.report)}
${row('this checkpoint, selection half', a.best.select)}
${row(`last iteration (${a.last.iteration}), report half`, a.last.report)}

Made by:

\`\`\`sh
${command}
\`\`\`

Re-score it: \`${task.rescore}\`.
`);
console.log(`wrote ${join(outDir, name)}.safetensors and .md`);
