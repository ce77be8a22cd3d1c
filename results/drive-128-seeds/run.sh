#!/bin/bash
# DRIVE, three seeds (docs/RESULTS.md): 4 labeled training images (21–24), the last 8 (33–40) held
# back for validation — split 4 + 4 into selection and report halves (src/data/val-split.ts) —, the 8
# between them unlabeled; 128², batch 4. One seed per call: results/drive-128-seeds/run.sh SEED
set -e
s=$1
R=${R:-runs/drive-128-seeds}
A="--labeled 4 --validation 8 --size 128 --batch 4 --val-split select --log-every 10 --seed $s"
source "$(dirname "$0")/../run-lib.sh"
run() { # name args...
  local name=$1; shift
  train $R/$name-s$s node bench/train-fundus.js $A "$@"
}
run sup --method supervised --iterations 200 --val-every 40
I="--init $R/sup-s$s/model_best.safetensors"
run cont --method supervised --iterations 60 --val-every 20 $I
run bcp --method bcp --pre-iterations 0 --iterations 60 --val-every 20 $I
run sra --method sra-seg --no-sa --pre-iterations 0 --iterations 60 --val-every 20 $I
# SRA-Seg with the published fundus code's mask smoothing (a 7×7 box) instead of the paper's 3×3 average pool.
run sra-box7 --method sra-seg --no-sa --blend box7 --pre-iterations 0 --iterations 60 --val-every 20 $I
# SRA-Seg with SA, as ACDC's srasa rows (results/run-lib.sh): prediction mode on the random tiny ViT (no
# DINOv2 weights offline), the ViT at 56², SA on every 2nd iteration; otherwise the sra row (3×3 pool).
[ -f $R/tiny-dinov2.safetensors ] || node bench/tiny-dinov2.js --out $R/tiny-dinov2.safetensors --width 64 --depth 2 --seed 5
run srasa --method sra-seg --pre-iterations 0 --iterations 60 --val-every 20 $I \
  --dinov2 $R/tiny-dinov2.safetensors --sa-mode prediction --vit-size 56 --sa-every 2
