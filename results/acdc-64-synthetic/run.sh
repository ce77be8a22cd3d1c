#!/bin/bash
# The synthetic-pool comparison of docs/RESULTS.md ("Synthetic unlabeled pool, three seeds"): the same
# schedule as results/acdc-64-seeds/run.sh, but the unlabeled pool is 1176 StyleGAN2-ADA slices (the
# paper's setting) instead of the real unlabeled slices. Needs that script's runs first (the supervised
# starts sup-s1..3, the tiny ViT, and the continued control cont-s1..3, which reads no unlabeled data).
# Resumable: every step that finished is skipped, a run with a checkpoint continues with --resume.
set -e
source "$(dirname "$0")/../run-lib.sh"
R=${R:-runs/acdc-64-seeds}          # the seeds' supervised starts and the control
S=${S:-runs/acdc-64-synthetic}      # this comparison's generator, slices and runs
# 1. The generator: StyleGAN2-ADA on the 136 labeled slices of the 7 labeled patients, 64², the small
#    network this CPU affords, 2 kimg; FD on the seed-1 supervised UNet's encoder at every snapshot, and
#    G_ema_best is the lowest-FD snapshot (measured against the labeled training slices only).
G=$S/stylegan
if [ ! -f $G/done ]; then
  r=; [ -f $G/checkpoint.safetensors ] && r=--resume
  node bench/train-stylegan.js --data ../shared/data/ACDC --labeled 7 --resolution 64 --batch 8 \
    --channel-base 4096 --channel-max 64 --z-dim 128 --w-dim 128 --kimg 2 --snapshot-kimg 0.25 \
    --ada-kimg 100 --fd-unet $R/sup-s1/model_best.safetensors --fd-images 136 --seed 1 --out $G $r
  touch $G/done
fi
# 2. The unlabeled pool: 1176 slices (the size of the real unlabeled pool) from the best snapshot, and
#    its FD/KID against the 136 labeled reals.
if [ ! -f $S/synthetic.done ]; then
  node bench/generate.js --checkpoint $G/G_ema_best.safetensors --count 1176 --out $S/synthetic
  node bench/fd.js --real ../shared/data/ACDC --synthetic $S/synthetic --unet $R/sup-s1/model_best.safetensors \
    --size 64 --json > $S/fd.json
  touch $S/synthetic.done
fi
# The floor for that FD: the same measurement of the labeled reals against the 1176 real unlabeled slices.
if [ ! -f $S/fd-real-baseline.json ]; then
  /usr/bin/python3 results/acdc-64-synthetic/real-baseline.py ../shared/data/ACDC $S/real-unlabeled-64 64
  node bench/fd.js --real ../shared/data/ACDC --synthetic $S/real-unlabeled-64 --unet $R/sup-s1/model_best.safetensors \
    --size 64 --json > $S/fd-real-baseline.json
fi
# 3. From each seed's supervised best, the same methods as on the real pool (results/run-lib.sh), on
#    the synthetic one.
acdc_methods $R $S --unlabeled $S/synthetic
# 4. A follow-up fixed after seeing seeds 1–3 (docs/RESULTS.md, section C): with SA, SRA-Seg lost
#    nothing on the synthetic pool; without it, 4.7 points. Tested on fresh seeds 4 and 5 (their own
#    supervised starts, then both variants on the synthetic pool), paired by seed.
#    Their supervised starts live beside them, out of section A's seeds 1–3 (they ran in $R; same flags).
F=$S/fresh-seeds
mkdir -p $F && cp -n $R/tiny-dinov2.safetensors $F/
for s in 4 5; do
  acdc_run $F $F sup $s
  acdc_run $F $F sra $s --unlabeled $S/synthetic
  acdc_run $F $F srasa $s --unlabeled $S/synthetic
done
node scripts/evidence-table.mjs --control sra-syn "sra-syn=$F/sra-s*" "srasa-syn=$F/srasa-s*"
node scripts/evidence-table.mjs --control sra-syn "sra-syn=$S/sra-s*,$F/sra-s*" "srasa-syn=$S/srasa-s*,$F/srasa-s*"   # all five seeds
# 5. C′, the budget's best generator: the same run trained on to 5 kimg (resumed from its 2-kimg
#    checkpoint in a copy, so that step 1's generator stays as it was), the pool from its lowest-FD
#    snapshot, and the same three methods on that pool.
G5=$S/stylegan-5k
if [ ! -f $G5/done ]; then
  [ -f $G5/checkpoint.safetensors ] || { mkdir -p $G5 && cp -r $G/. $G5/ && rm -f $G5/done; }
  node bench/train-stylegan.js --data ../shared/data/ACDC --labeled 7 --resolution 64 --batch 8 \
    --channel-base 4096 --channel-max 64 --z-dim 128 --w-dim 128 --kimg 5 --snapshot-kimg 0.25 \
    --ada-kimg 100 --fd-unet $R/sup-s1/model_best.safetensors --fd-images 136 --seed 1 --out $G5 --resume
  touch $G5/done
fi
if [ ! -f $S/synthetic-5k.done ]; then
  node bench/generate.js --checkpoint $G5/G_ema_best.safetensors --count 1176 --out $S/synthetic-5k
  node bench/fd.js --real ../shared/data/ACDC --synthetic $S/synthetic-5k --unet $R/sup-s1/model_best.safetensors \
    --size 64 --json > $S/fd-5k.json
  touch $S/synthetic-5k.done
fi
acdc_methods $R $S/pool-5k --unlabeled $S/synthetic-5k
node scripts/evidence-table.mjs --control cont "cont=$R/cont-s*" "sra-syn=$S/sra-s*" "sra-syn5k=$S/pool-5k/sra-s*" \
  "bcp-syn=$S/bcp-s*" "bcp-syn5k=$S/pool-5k/bcp-s*" "srasa-syn=$S/srasa-s*" "srasa-syn5k=$S/pool-5k/srasa-s*"
# The table: the control and the real-pool runs beside the synthetic-pool runs.
node scripts/evidence-table.mjs --control cont "cont=$R/cont-s*" "sra-real=$R/sra-s*" "sra-syn=$S/sra-s*" \
  "bcp-real=$R/bcp-s*" "bcp-syn=$S/bcp-s*" "srasa-real=$R/srasa-s*" "srasa-syn=$S/srasa-s*"
