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

# The ACDC 64² runs of docs/RESULTS.md, defined once for every script that makes them.
ACDC_64="--data ../shared/data/ACDC --labeled 7 --size 64 --batch 8 --val-split select --log-every 10"

# acdc_run R OUT METHOD SEED [ARGS…] — one run into OUT/METHOD-sSEED. METHOD: sup (the common start:
# 400 supervised iterations from random weights, validation every 50), or, from R/sup-sSEED's best,
# 100 iterations (validation every 25) of cont (supervised, continued: the control), sra (SRA-Seg
# without SA), bcp, srasa (SRA-Seg with SA on the random tiny ViT R/tiny-dinov2.safetensors). ARGS go
# to the run (e.g. `--unlabeled DIR`, the pool), so that two comparisons differ only in what ARGS says.
acdc_run() {
  local R=$1 out=$2 method=$3 s=$4
  shift 4
  local from="--init $R/sup-s$s/model_best.safetensors --iterations 100 --val-every 25"
  local semi="--pre-iterations 0 $from"
  local how
  case $method in
    sup) how="--method supervised --iterations 400 --val-every 50" ;;
    cont) how="--method supervised $from" ;;
    sra) how="--method sra-seg --no-sa $semi" ;;
    bcp) how="--method bcp $semi" ;;
    srasa) how="--method sra-seg $semi --dinov2 $R/tiny-dinov2.safetensors --sa-mode prediction --vit-size 56 --sa-every 2" ;;
    *) echo "acdc_run: unknown method '$method'" >&2; return 2 ;;
  esac
  train "$out/$method-s$s" node bench/train-acdc.js $ACDC_64 --seed $s $how "$@"
}

# acdc_methods R OUT [ARGS…] — sra, bcp and srasa for seeds 1–3 (section B's semi-supervised methods).
acdc_methods() {
  local R=$1 out=$2 s
  shift 2
  for s in 1 2 3; do
    acdc_run $R $out sra $s "$@"
    acdc_run $R $out bcp $s "$@"
  done
  for s in 1 2 3; do acdc_run $R $out srasa $s "$@"; done
}
