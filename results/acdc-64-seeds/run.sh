#!/bin/bash
# The runs behind docs/RESULTS.md, "Seeds and honest selection" — as they were run (resumable: a run
# whose folder holds a checkpoint continues with --resume). From the repository root, with the data
# beside it (../shared/data/ACDC). Each engine run takes 6–25 minutes on 2 CPU cores (llvmpipe).
set -e
R=${R:-runs/acdc-64-seeds}
source "$(dirname "$0")/../run-lib.sh"   # acdc_run: each run's flags
# A. The common supervised start: 400 iterations from random weights, seeds 1–3.
for s in 1 2 3; do acdc_run $R $R sup $s; done
# A'. Its PyTorch twin (same schedule, data order, augmentation, loss, SGD; validation on all 20 volumes,
#     re-scored on the halves from the per-volume rows of its log).
for s in 1 2 3; do
  [ -f $R/torch-sup-s$s/done ] || { /usr/bin/python3 bench/pytorch_train_acdc.py --data ../shared/data/ACDC --labeled 7 \
    --size 64 --batch 8 --iterations 400 --val-every 50 --seed $s --threads 1 --out $R/torch-sup-s$s && touch $R/torch-sup-s$s/done; }
done
# B. From each seed's supervised best (chosen on the selection half), 100 more iterations of each method.
[ -f $R/tiny-dinov2.safetensors ] || node bench/tiny-dinov2.js --out $R/tiny-dinov2.safetensors --width 64 --depth 2 --seed 5
for s in 1 2 3; do acdc_run $R $R cont $s; done
acdc_methods $R $R   # results/run-lib.sh: SRA-Seg without SA, BCP, SRA-Seg with SA, on the real unlabeled slices
# The tables:
node scripts/evidence-table.mjs --unpaired --control sup "sup=$R/sup-s*" "torch=$R/torch-sup-s*"
node scripts/evidence-table.mjs --control cont "cont=$R/cont-s*" "sra=$R/sra-s*" "bcp=$R/bcp-s*" "srasa=$R/srasa-s*"
