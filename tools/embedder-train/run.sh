#!/usr/bin/env bash
# Trains our own embedder and checks it (README, "Train our own embedder").
#   tools/embedder-train/run.sh <out dir> [held-out fold]
# <out dir> must be outside the repository (the network is ~64 MB). With a fold (0-4), the products of that fold
# are left out of training and both networks are then scored on it with today's evaluation, side by side. Without a
# fold it trains on every photo (the shipped model) and writes its committable form into <out dir>: the delta, its
# card and reference (train.py delta), to be copied into models/ (README, "Train our own embedder").
# STAGE=layer4 (default) trains the network's last stage on the served views' pixels; STAGE=projection trains only a
# projection on the cached vectors (fast, weaker).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:?usage: run.sh <out dir> [held-out fold]}" && cd "$1" && pwd)
fold=${2:-}
stage=${STAGE:-layer4}
data=${OTCHATSA_DATA:-$(cd "$repo/.." && pwd)/shared/data}
cli="$repo/src/Otchatsa.Cli/bin/Release/net10.0/linux-x64/otchatsa"
# The network is trained on, and compared with, the package's fp32 ResNet18.
export OTCHATSA_EMBEDDER=fp32
py() { OMP_NUM_THREADS=${THREADS:-2} nice -n 19 /usr/bin/python3 -u "$here/train.py" --threads "${THREADS:-2}" "$@"; }
# The data descriptions (labels, keys) and the new network's vectors are derived from K-Fashion: temporary, deleted
# on exit; only the network, its card, the probe outputs and the (aggregate) evaluation reports stay in <out dir>.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dotnet build "$repo/src/Otchatsa.Cli" -c Release -v q -nologo
# Labels, folds (as `eval --folds 5` assigns them over both manifests) and cache keys; fills the embedding cache where
# vectors are missing. With STAGE=layer4 also the views' pixels (about 1 GB, in the temporary folder).
pixels=()
[ "$stage" = layer4 ] && pixels=(--pixels)
nice -n 19 "$cli" embedder data --data "$data/kfashion/manifest.csv" --data "$data/kfashion23/manifest.csv" --out "$work" "${pixels[@]}"
# Before training: the package's weights in torchvision give what ONNX Runtime gives on the original file.
py reference --out "$out/resnet18.reference.json"
"$cli" embedder check --reference "$out/resnet18.reference.json"
stage_args=(--stage "$stage")
# layer4: 500 steps of 16 malls (or products) x 4 photos, about 15 minutes on two cores after 5 for the frozen maps.
[ "$stage" = layer4 ] && stage_args+=(--pixels "$work/kfashion.px" "$work/kfashion23.px" --steps 500 --ids-per-batch 16 --per-id 4)
py train --data "$work/kfashion.json" "$work/kfashion23.json" "${stage_args[@]}" ${fold:+--holdout-fold "$fold"} --out "$out"
# After: ONNX Runtime on the exported file gives what PyTorch gave.
"$cli" embedder check --embedder "$out/embedder.onnx" --reference "$out/embedder.reference.json"
if [ -z "$fold" ] && [ "$stage" = layer4 ]; then
  # The committable form: the change of the package's weights (int8 per output channel, ~13 MB) + card + reference.
  # Then: copy $out/fashion_embedder.* into models/, and check the engine's package + delta against PyTorch's with
  # `otchatsa embedder check --embedder fashion --reference models/fashion_embedder.reference.json`.
  py delta --embedder "$out" --out "$out"
fi
if [ -n "$fold" ]; then
  for which in imagenet embedder; do
    extra=(--embedder-model imagenet)
    [ "$which" = embedder ] && extra=(--embedder-model "$out/embedder.onnx" --cache "$work/cache")
    nice -n 19 "$cli" eval --folds 5 --fold "$fold" --queries "$data/kfashion/manifest.csv" \
      --queries "$data/kfashion23/manifest.csv" --background-every 3 \
      --latency 0 "${extra[@]}" --report "$out/$which-fold$fold.md" --json > "$out/$which-fold$fold.json"
  done
fi
