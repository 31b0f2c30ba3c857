#!/usr/bin/env bash
# The dlib embedder stored as fp32, fp16 and int8: size, speed and the genuine/impostor margins of each,
# measured in one run. Reproduces the table in docs/decisions/0003-default-model-set.md.
#
# Needs the fp32 original (not in the repo: 22.4 MB), by default the workplace's shared copy; override
# with DLIB_FP32=path. Makes fp16 and int8 with tools/models/compress_weights.py, checks that the int8 it
# makes is byte-identical to the one in models/ (the converter is deterministic), then runs the real-face
# embedding tests and the per-model criterion bench against each variant.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
cache="${SMARTID_CACHE:-/var/cache/smartid}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
fp32="${DLIB_FP32:-$repo/../shared/models/dlib/dlib_face_recognition_resnet_model_v1.onnx}"
[ -f "$fp32" ] || { echo "fp32 dlib model not found at $fp32 (set DLIB_FP32)" >&2; exit 1; }

venv="$cache/pyenv-models"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import onnx, numpy" 2>/dev/null \
  || "$venv/bin/pip" install --quiet -r tools/models/requirements.txt

out="$cache/model-variants"
rm -rf "$out" && mkdir -p "$out/dlib"
for d in mediapipe faceplugin; do ln -s "$repo/models/$d" "$out/$d"; done
name=dlib_face_recognition_resnet_model_v1
cp "$fp32" "$out/dlib/$name.fp32.onnx"
for q in fp16 int8; do
  "$venv/bin/python" tools/models/compress_weights.py "$q" "$fp32" "$out/dlib/$name.$q.onnx" >/dev/null
done
shipped="$repo/models/dlib/$name.int8.onnx"
cmp -s "$out/dlib/$name.int8.onnx" "$shipped" \
  || { echo "compress_weights.py no longer reproduces $shipped" >&2; exit 1; }
echo "int8 rebuilt from the fp32 original: byte-identical to models/dlib/$name.int8.onnx"

manifests=()
for q in fp32 fp16 int8; do
  sum=$(sha256sum "$out/dlib/$name.$q.onnx" | cut -d' ' -f1)
  sed -e "s/^name = \"clean\"/name = \"clean-$q\"/" \
      -e "s/@int8\"/@$q\"/" \
      -e "s/$name\.int8\.onnx/$name.$q.onnx/" \
      -e "s/^sha256 = \"$(sha256sum "$shipped" | cut -d' ' -f1)\"/sha256 = \"$sum\"/" \
      models/manifest.toml >"$out/manifest-$q.toml"
  grep -q "$name.$q.onnx" "$out/manifest-$q.toml" && grep -q "$sum" "$out/manifest-$q.toml"
  manifests+=("$out/manifest-$q.toml")
done

ws=(--workspace --all-targets --features smartid-ffi/testing --locked)
cargo build -q "${ws[@]}"
bin=$(ls -t "$CARGO_TARGET_DIR"/debug/deps/vision_real-* | grep -v '\.d$' | head -1)
declare -A margins
for q in fp32 fp16 int8; do
  margins[$q]=$(SMARTID_MODELS="$out/manifest-$q.toml" "$bin" --nocapture --test-threads 1 embeddings 2>&1 \
    | grep 'genuine pairs' | sed 's/.*: //' | paste -sd ';')
done

list=$(IFS=,; echo "${manifests[*]}")
bench_log="$out/bench.log"
SMARTID_BENCH_MANIFESTS="$list" cargo bench -q -p smartid-core --bench models --locked -- "model/embedder" \
  2>&1 | tee "$bench_log" | grep -E '^clean-|time:' || true

printf '\n| variant | file bytes | vs fp32 | embedder median (criterion, incl. alignment) | genuine / impostor margins at 0.6 (carphone frames + stills; stills only) |\n|---|---|---|---|---|\n'
base=$(stat -c %s "$out/dlib/$name.fp32.onnx")
for q in fp32 fp16 int8; do
  size=$(stat -c %s "$out/dlib/$name.$q.onnx")
  med=$(grep -A2 "^clean-$q/model/embedder" "$bench_log" | grep -o 'time: *\[[^]]*\]' | awk '{print $4, $5}')
  printf '| %s | %s | %.2fx | %s | %s |\n' "$q" "$size" "$(echo "$size / $base" | bc -l)" "${med:-?}" "${margins[$q]}"
done
