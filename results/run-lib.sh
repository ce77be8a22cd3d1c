# Sourced by the results/*/run.sh scripts: one training run, resumable.
# train OUT COMMAND… — runs COMMAND --out OUT unless OUT/done exists; where OUT holds a checkpoint
# (a supervised run's, or a self-training stage's) it continues it with --resume; marks OUT/done at
# the end, so that a script run again skips what finished.
train() {
  local out=$1 r=
  shift
  [ -f "$out/done" ] && return
  if [ -f "$out/checkpoint.safetensors" ] || [ -f "$out/selftrain/checkpoint.safetensors" ]; then r=--resume; fi
  "$@" --out "$out" $r && touch "$out/done"
}

# acdc_methods R OUT [ARGS…] — the ACDC 64² methods of docs/RESULTS.md, each seed (1–3) from its
# supervised best R/sup-sN/model_best.safetensors: 100 iterations (validation every 25) of SRA-Seg
# without SA, BCP, and SRA-Seg with SA on the random tiny ViT R/tiny-dinov2.safetensors, into
# OUT/{sra,bcp,srasa}-sN. ARGS go to every run (e.g. `--unlabeled DIR`, the pool): one definition of
# the methods, so that two comparisons differ only in what ARGS says.
acdc_methods() {
  local R=$1 out=$2 s
  shift 2
  local A="--data ../shared/data/ACDC --labeled 7 --size 64 --batch 8 --val-split select --log-every 10"
  local M="--pre-iterations 0 --iterations 100 --val-every 25"
  for s in 1 2 3; do
    train "$out/sra-s$s" node bench/train-acdc.js $A --seed $s --method sra-seg --no-sa $M --init $R/sup-s$s/model_best.safetensors "$@"
    train "$out/bcp-s$s" node bench/train-acdc.js $A --seed $s --method bcp $M --init $R/sup-s$s/model_best.safetensors "$@"
  done
  for s in 1 2 3; do
    train "$out/srasa-s$s" node bench/train-acdc.js $A --seed $s --method sra-seg $M --init $R/sup-s$s/model_best.safetensors \
      --dinov2 $R/tiny-dinov2.safetensors --sa-mode prediction --vit-size 56 --sa-every 2 "$@"
  done
}
