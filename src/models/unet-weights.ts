// The one place UNet weights enter the program (trainers' --init, the evaluation CLIs, segment, the
// FD feature network): our safetensors, or the PyTorch checkpoints of SSL4MIS and BCP (.pth, bare or
// wrapped, see io/state-dict.ts). The network's widths, input channels and classes are read from the
// tensors' shapes, so any UNet of this family loads without options.
//
// BCP's UNet (DeepMed-Lab-ECNU/BCP, code/networks/unet.py, UNet and UNet_2d) carries heads that only
// its contrastive training uses — projection_head, prediction_head, contrastive_class_selector_{0..3},
// contrastive_class_selector_memory{0..3} — and its training saves them with the network: they are
// skipped with a one-line notice. Every other name the UNet does not have is still an error, and a
// checkpoint of another network altogether is named as such in one line.
import { CheckpointError, readStateDict } from '../io/state-dict.js';
import type { HostTensor } from '../io/safetensors.js';
import { loadModuleFromHost } from '../nn/checkpoint.js';
import { UNet, type UNetConfig } from './unet.js';

/** The auxiliary heads of BCP's UNet / UNet_2d, by their state-dict names. */
export const BCP_AUX_HEADS = /^(projection_head|prediction_head|contrastive_class_selector_\d+|contrastive_class_selector_memory\d+)\./;

export interface UNetCheckpoint {
  path: string;
  /** The UNet's tensors only (heads and wrappers removed), PyTorch names. */
  state: Map<string, HostTensor>;
  /** What the shapes say. */
  config: Pick<UNetConfig, 'inChannels' | 'numClasses' | 'features'>;
  /** One line for the user when something was skipped or unwrapped; null when the file was plain. */
  notice: string | null;
}

/** Networks other than the UNet, recognised by their tensor names, for a one-line refusal. */
const FOREIGN: [RegExp, string][] = [
  [/^((G_ema|G|D)\.)?(mapping|synthesis)\.|^(D\.)?b\d+\.(fromrgb|conv0|conv1|skip)\./, 'a StyleGAN2 network'],
  [/(^|\.)blocks\.\d+\.attn\.|^(cls_token|pos_embed|mask_token)$|^patch_embed\.|^embeddings\.(patch_embeddings|cls_token)|^encoder\.layer\.\d+\.attention\./, 'a ViT (DINOv2-style) network'],
];

/** Reads and checks a UNet checkpoint on the host (no GPU needed): format, network, widths. */
export function readUNetCheckpoint(path: string): UNetCheckpoint {
  const file = readStateDict(path);
  const state = new Map<string, HostTensor>();
  const heads = new Set<string>();
  let headTensors = 0;
  for (const [k, v] of file.tensors) {
    const head = BCP_AUX_HEADS.exec(k);
    if (head) {
      heads.add(head[1].replace(/\d+$/, '*'));
      headTensors++;
    } else state.set(k, v);
  }
  const hasUNet = [...state.keys()].some((k) => k.startsWith('encoder.in_conv.') || k.startsWith('decoder.out_conv.'));
  if (!hasUNet) throw new CheckpointError(`${path}: ${foreignModel([...file.tensors.keys()])}, not UNet weights. Give a segmentation checkpoint (a run's model_best.safetensors, or a BCP/SSL4MIS .pth).`);
  const config = inferUNetConfig(path, state);
  const notes = [...file.notes];
  if (headTensors) notes.push(`BCP's auxiliary heads skipped (${[...heads].join(', ')}: ${headTensors} tensors, not used for segmentation)`);
  return { path, state, config, notice: notes.length ? `${path}: ${notes.join('; ')}` : null };
}

function foreignModel(keys: string[]): string {
  for (const [pattern, what] of FOREIGN) if (keys.some((k) => pattern.test(k))) return `${what} (${keys.length} tensors, e.g. '${keys.find((k) => pattern.test(k))}')`;
  if (!keys.length) return 'no tensors at all';
  return `no UNet tensor names among its ${keys.length} tensors (e.g. '${keys[0]}'; a UNet has encoder.in_conv.… and decoder.out_conv.…)`;
}

/** Widths from conv weights [out, in, 3, 3]: the first conv of each encoder block; classes from out_conv. */
function inferUNetConfig(path: string, state: Map<string, HostTensor>): UNetCheckpoint['config'] {
  const shape = (name: string) => {
    const t = state.get(name);
    if (!t || t.shape.length !== 4) throw new CheckpointError(`${path}: incomplete UNet checkpoint: no 4D tensor '${name}'. Give the whole state dict.`);
    return t.shape;
  };
  const first = shape('encoder.in_conv.conv_conv.0.weight');
  const features = [first[0], ...[1, 2, 3, 4].map((i) => shape(`encoder.down${i}.maxpool_conv.1.conv_conv.0.weight`)[0])];
  return { inChannels: first[1], features, numClasses: shape('decoder.out_conv.weight')[0] };
}

/** Loads the checkpoint's tensors into a UNet of its shape: exactly the UNet's names, or a one-line error. */
function loadInto(model: UNet, ckpt: UNetCheckpoint): void {
  const own = model.stateDict();
  const unexpected = [...ckpt.state.keys()].filter((k) => !own.has(k));
  const missing = [...own.keys()].filter((k) => !ckpt.state.has(k));
  const list = (names: string[]) => names.slice(0, 4).join(', ') + (names.length > 4 ? ` and ${names.length - 4} more` : '');
  if (unexpected.length || missing.length) {
    const parts = [unexpected.length ? `unknown tensors ${list(unexpected)}` : '', missing.length ? `missing ${list(missing)}` : ''].filter(Boolean);
    throw new CheckpointError(`${ckpt.path}: not this UNet's tensors: ${parts.join('; ')}. Give the plain UNet's state dict (BCP's extra heads are skipped, nothing else is).`);
  }
  try {
    loadModuleFromHost(model, ckpt.state);
  } catch (e) {
    throw new CheckpointError(`${ckpt.path}: ${(e as Error).message.split('\n')[0]}`);
  }
}

export interface LoadUNetOptions {
  /** Classes the caller expects (e.g. --classes); an error when the checkpoint has another count. */
  numClasses?: number;
  /** Where the notice goes (default: stderr). */
  onNotice?: (line: string) => void;
}

const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** A UNet shaped like the checkpoint, its weights loaded, in eval mode. */
export function loadUNet(source: string | UNetCheckpoint, options: LoadUNetOptions = {}): UNet {
  const ckpt = typeof source === 'string' ? readUNetCheckpoint(source) : source;
  const { numClasses } = ckpt.config;
  if (options.numClasses !== undefined && options.numClasses !== numClasses) {
    throw new CheckpointError(`${ckpt.path}: the UNet has ${numClasses} output classes, ${options.numClasses} were asked for. Use a ${options.numClasses}-class checkpoint or --classes ${numClasses}.`);
  }
  const model = new UNet(ckpt.config);
  try {
    loadInto(model, ckpt);
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (ckpt.notice) (options.onNotice ?? console.error)(ckpt.notice);
  return model.eval();
}

/** Loads a checkpoint into an existing UNet (a trainer's --init); its widths and classes must match. */
export function loadUNetWeights(source: string | UNetCheckpoint, model: UNet, options: Pick<LoadUNetOptions, 'onNotice'> = {}): void {
  const ckpt = typeof source === 'string' ? readUNetCheckpoint(source) : source;
  const want = model.config;
  const got = ckpt.config;
  if (got.inChannels !== want.inChannels || got.numClasses !== want.numClasses || !sameList(got.features, want.features)) {
    const describe = (c: typeof got) => `${c.inChannels} input channel(s), widths [${c.features}], ${c.numClasses} classes`;
    throw new CheckpointError(`${ckpt.path}: a UNet with ${describe(got)}; this run needs ${describe(want)}. Give a checkpoint of the same network.`);
  }
  loadInto(model, ckpt);
  if (ckpt.notice) (options.onNotice ?? console.error)(ckpt.notice);
}
