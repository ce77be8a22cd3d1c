// The one place UNet weights enter the program: every command's --checkpoint (eval-acdc, eval-fundus,
// segment, domain-gap), the trainers' --init, the FD feature network of gan/measure.ts. Files are read
// by io/state-dict.ts (our safetensors, or the PyTorch checkpoints of SSL4MIS and BCP, bare or
// wrapped), named by models/weights.ts when they hold another model, and the network's widths, input
// channels and classes are read from the tensors' shapes, so any UNet of this family loads without
// options. Reading and checking need no GPU: a command does both before anything starts, then loads.
//
// BCP's UNet (DeepMed-Lab-ECNU/BCP, code/networks/unet.py, UNet and UNet_2d) carries heads that only
// its contrastive training uses — projection_head, prediction_head, contrastive_class_selector_{0..3},
// contrastive_class_selector_memory{0..3} — and its training saves them with the network: they are
// skipped with a one-line notice. Every other name the UNet does not have is still an error.
import { type HostTensor, loadModuleFromHost, StateDictMismatch } from '../engine/index.js';
import { UserError } from '../errors.js';
import { readStateDict } from '../io/state-dict.js';
import { UNet, type UNetConfig } from './unet.js';
import { wrongModelMessage } from './weights.js';

/** The auxiliary heads of BCP's UNet / UNet_2d, by their state-dict names. */
export const BCP_AUX_HEADS = /^(projection_head|prediction_head|contrastive_class_selector_\d+|contrastive_class_selector_memory\d+)\./;

/** What a UNet checkpoint's shapes say about its network. */
export type UNetShape = Pick<UNetConfig, 'inChannels' | 'numClasses' | 'features'>;

/** A UNet checkpoint read and checked on the CPU. */
export interface UNetCheckpoint {
  path: string;
  /** The UNet's tensors only (wrappers and BCP's heads removed), PyTorch names. */
  tensors: Map<string, HostTensor>;
  config: UNetShape;
  /** One line for the user when something was unwrapped or skipped; null when the file was plain. */
  notice: string | null;
}

/**
 * Reads a UNet checkpoint without the GPU (a few MB), so a missing, damaged or wrong file is reported
 * before anything starts: one-line UserError/InputError naming the file.
 */
export function readUNetCheckpoint(path: string): UNetCheckpoint {
  const file = readStateDict(path);
  const tensors = new Map<string, HostTensor>();
  const heads = new Set<string>();
  let headTensors = 0;
  for (const [k, v] of file.tensors) {
    const head = BCP_AUX_HEADS.exec(k);
    if (head) {
      heads.add(head[1].replace(/\d+$/, '*'));
      headTensors++;
    } else tensors.set(k, v);
  }
  const wrong = wrongModelMessage(path, tensors.keys(), 'unet');
  if (wrong) throw new UserError(wrong);
  const notes = [...file.notes];
  if (headTensors) notes.push(`BCP's auxiliary heads skipped (${[...heads].join(', ')}: ${headTensors} tensors, not used for segmentation)`);
  return { path, tensors, config: unetShape(path, tensors), notice: notes.length ? `${path}: ${notes.join('; ')}` : null };
}

/** Widths from conv weights [out, in, 3, 3]: the first conv of each encoder block; classes from out_conv. */
function unetShape(path: string, tensors: Map<string, HostTensor>): UNetShape {
  const shape = (name: string) => {
    const t = tensors.get(name);
    if (!t || t.shape.length !== 4) throw new UserError(`${path}: an incomplete UNet checkpoint (no 4D tensor ${name}); use the whole state dict or another checkpoint`);
    return t.shape;
  };
  const first = shape('encoder.in_conv.conv_conv.0.weight');
  const features = [first[0], ...[1, 2, 3, 4].map((i) => shape(`encoder.down${i}.maxpool_conv.1.conv_conv.0.weight`)[0])];
  return { inChannels: first[1], features, numClasses: shape('decoder.out_conv.weight')[0] };
}

const describeShape = (c: Partial<UNetShape>) =>
  [c.features && `widths [${c.features}]`, c.inChannels !== undefined && `${c.inChannels} input channel(s)`, c.numClasses !== undefined && `${c.numClasses} classes`].filter(Boolean).join(', ');

/**
 * Checks a checkpoint against the network `what` needs (its classes, and its widths and input
 * channels where given), before anything starts: one UserError line saying what differs.
 */
export function checkUNetConfig(ckpt: UNetCheckpoint, want: Pick<UNetShape, 'numClasses'> & Partial<UNetShape>, what: string): void {
  const got = ckpt.config;
  const otherNetwork = (want.features && String(want.features) !== String(got.features)) || (want.inChannels !== undefined && want.inChannels !== got.inChannels);
  if (otherNetwork) {
    const asked = { features: want.features, inChannels: want.inChannels, numClasses: want.numClasses };
    throw new UserError(`${ckpt.path} is a UNet with ${describeShape(got)}, ${what} needs ${describeShape(asked)}: use a checkpoint of the same network settings`);
  }
  if (got.numClasses !== want.numClasses) {
    throw new UserError(`${ckpt.path} is a UNet with ${got.numClasses} classes, ${what} needs ${want.numClasses}: use a checkpoint trained on this data`);
  }
}

/** The checkpoint's tensors into `model`: exactly the UNet's names and shapes, or one UserError line. */
function loadInto(model: UNet, ckpt: UNetCheckpoint): void {
  try {
    loadModuleFromHost(model, ckpt.tensors);
  } catch (e) {
    if (!(e instanceof StateDictMismatch)) throw e;
    throw new UserError(`${e.withSource(ckpt.path).message}; use the UNet's own state dict (BCP's auxiliary heads are skipped, nothing else is)`);
  }
}

export interface LoadUNetOptions {
  /** Where the checkpoint's notice goes (default: stderr). */
  onNotice?: (line: string) => void;
}

const read = (source: string | UNetCheckpoint) => (typeof source === 'string' ? readUNetCheckpoint(source) : source);

/** A UNet shaped like the checkpoint, its weights loaded, in eval mode (evaluation, segment, FD). */
export function loadUNet(source: string | UNetCheckpoint, options: LoadUNetOptions = {}): UNet {
  const ckpt = read(source);
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

/** Loads a checkpoint into an existing UNet (a trainer's --init); its widths, channels and classes must match. */
export function loadUNetWeights(source: string | UNetCheckpoint, model: UNet, options: LoadUNetOptions = {}): void {
  const ckpt = read(source);
  checkUNetConfig(ckpt, model.config, 'this UNet');
  loadInto(model, ckpt);
  if (ckpt.notice) (options.onNotice ?? console.error)(ckpt.notice);
}
