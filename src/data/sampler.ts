// Two-stream batch sampler, as SSL4MIS's TwoStreamBatchSampler: each batch = `labeledBatch` indices
// from the labeled stream + `unlabeledBatch` from the unlabeled stream. An epoch is one pass over a
// fresh permutation of the labeled indices (a short last batch is dropped); the unlabeled stream
// restarts each epoch from a fresh permutation and chains further permutations when it runs out.
// The state (generator at epoch start + position) is small and JSON-serialisable, for resume.
import { SeededRng, type RngState } from './rng.js';

export interface TwoStreamBatch {
  epoch: number;
  labeled: number[];
  unlabeled: number[];
}

export interface TwoStreamSamplerState {
  /** Generator state at the start of the current epoch. */
  epochRng: RngState;
  epoch: number;
  /** Batches already handed out in the current epoch. */
  batchInEpoch: number;
}

export class TwoStreamBatchSampler {
  readonly batchesPerEpoch: number;
  private rng: SeededRng;
  private epochRng!: RngState;
  private epoch = 0;
  private batchInEpoch = 0;
  private labeledOrder: number[] = [];
  private unlabeledOrder: number[] = [];
  private unlabeledPos = 0;

  constructor(
    private readonly labeled: readonly number[],
    private readonly unlabeled: readonly number[],
    private readonly labeledBatch: number,
    private readonly unlabeledBatch: number,
    seedOrState: number | TwoStreamSamplerState,
  ) {
    if (!(labeledBatch >= 1) || !Number.isInteger(labeledBatch)) throw new RangeError(`TwoStreamBatchSampler: labeledBatch must be a positive integer, got ${labeledBatch}`);
    if (!(unlabeledBatch >= 0) || !Number.isInteger(unlabeledBatch)) throw new RangeError(`TwoStreamBatchSampler: unlabeledBatch must be a non-negative integer, got ${unlabeledBatch}`);
    if (labeled.length < labeledBatch) throw new RangeError(`TwoStreamBatchSampler: ${labeled.length} labeled indices cannot fill a labeled batch of ${labeledBatch}`);
    if (unlabeledBatch > 0 && unlabeled.length === 0) throw new RangeError('TwoStreamBatchSampler: unlabeled batch requested but the unlabeled pool is empty');
    this.batchesPerEpoch = Math.floor(labeled.length / labeledBatch);
    if (typeof seedOrState === 'number') {
      this.rng = new SeededRng(seedOrState);
      this.startEpoch(0);
    } else {
      this.rng = SeededRng.fromState(seedOrState.epochRng);
      this.startEpoch(seedOrState.epoch);
      for (let i = 0; i < seedOrState.batchInEpoch; i++) this.next();
    }
  }

  private startEpoch(epoch: number): void {
    this.epoch = epoch;
    this.batchInEpoch = 0;
    this.epochRng = this.rng.state();
    this.labeledOrder = this.rng.permutation(this.labeled.length).map((i) => this.labeled[i]);
    this.unlabeledOrder = [];
    this.unlabeledPos = 0;
  }

  private nextUnlabeled(): number {
    if (this.unlabeledPos >= this.unlabeledOrder.length) {
      this.unlabeledOrder = this.rng.permutation(this.unlabeled.length).map((i) => this.unlabeled[i]);
      this.unlabeledPos = 0;
    }
    return this.unlabeledOrder[this.unlabeledPos++];
  }

  next(): TwoStreamBatch {
    if (this.batchInEpoch === this.batchesPerEpoch) this.startEpoch(this.epoch + 1);
    const start = this.batchInEpoch * this.labeledBatch;
    const labeled = this.labeledOrder.slice(start, start + this.labeledBatch);
    const unlabeled = Array.from({ length: this.unlabeledBatch }, () => this.nextUnlabeled());
    this.batchInEpoch++;
    return { epoch: this.epoch, labeled, unlabeled };
  }

  state(): TwoStreamSamplerState {
    return { epochRng: { ...this.epochRng, words: [...this.epochRng.words] }, epoch: this.epoch, batchInEpoch: this.batchInEpoch };
  }
}
