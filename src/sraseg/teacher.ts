// The mean teacher of BCP and SRA-Seg: a copy of the student whose whole state — parameters and
// BatchNorm running statistics — follows the student as an exponential moving average,
// teacher ← α·teacher + (1 − α)·student, after every optimiser step. The published code makes
// pseudo-labels with the teacher in train mode (batch statistics, dropout active); eval mode is an option.
import { type Module, noGrad, type Tensor, tidy, updateEmaModel } from '../engine/index.js';
import { UNet } from '../models/unet.js';
import { pseudoLabels, type PseudoLabelOptions, type PseudoLabels } from './pseudo-labels.js';

/** A module that maps images to logits [B, C, H, W]. */
export type SegmentationModel = Module & { forward(x: Tensor): Tensor };

export type TeacherMode = 'train' | 'eval';

export interface EmaTeacherOptions {
  /** EMA decay α (default 0.99, as published). */
  alpha?: number;
  /** Mode the teacher runs in when it makes pseudo-labels (default 'train', as published). */
  mode?: TeacherMode;
}

export class EmaTeacher<M extends SegmentationModel> {
  readonly alpha: number;
  readonly mode: TeacherMode;

  /**
   * `model` is a fresh module of the student's architecture; it becomes a copy of `student` and is
   * owned by the teacher from now on. Its parameters stop requiring grad: the teacher is never trained.
   */
  constructor(
    readonly model: M,
    student: M,
    options: EmaTeacherOptions = {},
  ) {
    [this.alpha, this.mode] = checkOptions(options);
    model.loadStateDict(student.stateDict());
    for (const p of model.parameters()) p.requiresGrad = false;
    model.train(this.mode === 'train');
  }

  /**
   * A teacher for a UNet student. The copy gets its own dropout stream (seeded from `dropoutSeed`,
   * default the student's seed + 1000) so its masks do not repeat the student's.
   */
  static forUNet(student: UNet, options: EmaTeacherOptions & { dropoutSeed?: number } = {}): EmaTeacher<UNet> {
    checkOptions(options); // before allocating the copy
    const copy = new UNet({ ...student.config, seed: options.dropoutSeed ?? student.config.seed + 1000 });
    return new EmaTeacher(copy, student, options);
  }

  /** One EMA step over the whole state (after the student's optimiser step). */
  update(student: M): void {
    updateEmaModel(this.model, student, this.alpha, { buffers: true });
  }

  /**
   * Pseudo-labels for `images` from the teacher's logits, in the teacher's mode (in train mode its
   * forward uses batch statistics and dropout and moves its BatchNorm running statistics, as in
   * PyTorch; the next EMA update blends them).
   */
  async pseudoLabels(images: Tensor, options: PseudoLabelOptions = {}): Promise<PseudoLabels> {
    // In a scope: the forward's intermediate activations are disposed here (the trainer calls this
    // outside its step's tidy, between awaits).
    const logits = tidy(() => noGrad(() => this.model.forward(images)));
    try {
      return await pseudoLabels(logits, options);
    } finally {
      logits.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

function checkOptions(options: EmaTeacherOptions): [number, TeacherMode] {
  const alpha = options.alpha ?? 0.99;
  const mode = options.mode ?? 'train';
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`EmaTeacher: alpha ${alpha} must lie in [0, 1]`);
  if (mode !== 'train' && mode !== 'eval') throw new Error(`EmaTeacher: mode must be 'train' or 'eval', got '${mode}'`);
  return [alpha, mode];
}
