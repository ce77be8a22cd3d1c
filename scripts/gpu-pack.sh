#!/usr/bin/env bash
# Builds the payload that scripts/gpu-check.sh runs on a lent GPU machine (the `device` tool: Python
# 3.12 + PyTorch CUDA there, but no Node and no network). Run it here, in the checkout that the tool
# sends, after the build you want to measure:
#
#   bash scripts/gpu-pack.sh          → .device/payload/sraseg-gpu.tar.xz (git-ignored; carry `.device/payload`)
#
# What goes in (docs/BENCHMARKS.md, "On a lent GPU"): this machine's Node binary, stripped; of the npm
# packages only what dist/ loads at run time — webgpu's index.js and its linux-x64 dawn.node, h5wasm's
# ESM build, pngjs, uvu with its dependencies — plus @tensorflow/tfjs-core + -backend-webgpu bundled into
# one file for bench/kernels.js's comparison; dist/ (library, commands, built tests; no source maps
# unless GPU_PACK_MAPS=1); Debian 12's Vulkan loader and the X libraries NVIDIA's libGLX_nvidia needs
# (apt-get download + dpkg -x, nothing installed); and this machine's libstdc++ as a fallback for a
# machine whose own lacks GLIBCXX_3.4.30 (dawn.node needs it). gpu-check.sh unpacks it with Python's
# tarfile (the device may have no xz binary).
#
# GPU_PACK_NO_BUILD=1 packs the existing dist/ without rebuilding. Needs: node, npm packages installed,
# apt-get with network access to Debian (first run; the .deb files stay in .device/debs), xz, strip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
say() { echo "gpu-pack: $*"; }
die() { echo "gpu-pack: $*" >&2; exit 1; }

out=.device/payload
stage=.device/stage
debs=.device/debs
# Libraries taken from Debian 12 (bookworm) packages, by package: the Vulkan loader; the X libraries
# that NVIDIA's libGLX_nvidia.so.0 (the library its nvidia_icd.json names) links against, and theirs;
# libglvnd's dispatch library and EGL for the libEGL_nvidia fallback.
deb_packages=(libvulkan1 libx11-6 libx11-xcb1 libxcb1 libxext6 libxau6 libxdmcp6 libbsd0 libmd0 libglvnd0 libegl1)

[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || die "node_modules/webgpu/dist/linux-x64/dawn.node is missing: run 'npm ci' (or bash scripts/setup.sh) first"
[ "$(uname -m)" = x86_64 ] || die "the GPU machine is x86-64; this machine is $(uname -m), and its node binary would not run there"
command -v xz >/dev/null || die "xz is missing here: apt-get install xz-utils"

if [ "${GPU_PACK_NO_BUILD:-0}" != 1 ]; then
  say "building dist/"
  node build.mjs
fi
[ -f dist/index.js ] && [ -d dist/test ] || die "dist/ is not built: run 'node build.mjs' first"

# --- Debian packages (downloaded once, with apt state kept outside /var so nothing here changes) ----
mkdir -p "$debs"
missing=()
for p in "${deb_packages[@]}"; do ls "$debs/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "downloading Debian 12 packages: ${missing[*]}"
  state=/tmp/sraseg-gpu-pack-apt
  mkdir -p "$state/lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$state/lists" -oAPT::Sandbox::User=root)
  apt-get "${o[@]}" update -qq || die "apt-get update failed (no network to deb.debian.org?)"
  (cd "$debs" && apt-get "${o[@]}" download "${missing[@]}") || die "apt-get download ${missing[*]} failed"
fi

# --- stage --------------------------------------------------------------------------------------
rm -rf "$stage"
mkdir -p "$stage"/{bin,lib/debian,lib/stdcxx,node_modules}

node_bin=$(readlink -f "$(command -v node)")
node_version=$(node --version)
case "$node_version" in v2[0-9].*|v[3-9][0-9].*) ;; *) die "node $node_version here; the engine needs Node ≥ 20" ;; esac
cp "$node_bin" "$stage/bin/node"
strip --strip-all "$stage/bin/node" 2>/dev/null || say "strip failed; packing node unstripped"

copy() { # copy SRC-RELATIVE-PATH… from node_modules into the stage, keeping the layout
  for f in "$@"; do
    mkdir -p "$stage/node_modules/$(dirname "$f")"
    cp -r "node_modules/$f" "$stage/node_modules/$f"
  done
}
# webgpu: index.js loads dist/<platform>-<arch>/dawn.node; the other four platforms stay behind.
copy webgpu/package.json webgpu/index.js webgpu/LICENSE.md webgpu/dist/linux-x64/dawn.node
# h5wasm: `import 'h5wasm'` resolves to dist/esm/hdf5_hl.js (package.json exports), which imports hdf5_util.js.
copy h5wasm/package.json h5wasm/LICENSE.txt h5wasm/dist/esm
copy pngjs/package.json pngjs/LICENSE pngjs/lib
# uvu (the test runner and assertions) and its run-time dependencies.
for p in uvu dequal diff kleur sade mri; do [ -d "node_modules/$p" ] && copy "$p"; done

# tfjs for bench/kernels.js's comparison: the ESM builds of core + webgpu backend (+ cpu, which the
# webgpu backend imports) bundled into one module, so one copy of tfjs-core's engine registers the
# backend; tfjs-backend-webgpu becomes a stub that imports it. ~0.2 MB xz instead of ~70 MB of files.
if [ -d node_modules/@tensorflow/tfjs-core ] && [ -d node_modules/@tensorflow/tfjs-backend-webgpu ]; then
  tf="$stage/node_modules/@tensorflow"
  mkdir -p "$tf/tfjs-core" "$tf/tfjs-backend-webgpu"
  node --input-type=module -e "
    import * as esbuild from 'esbuild';
    await esbuild.build({
      stdin: { contents: \"export * from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-webgpu';\", resolveDir: '$root', loader: 'js' },
      bundle: true, platform: 'node', format: 'esm', mainFields: ['module', 'main'], logLevel: 'warning',
      outfile: '$tf/tfjs-core/tfjs.mjs',
      // tfjs-core's Node platform calls require('util'); an ESM bundle has no require of its own.
      banner: { js: \"import { createRequire as __tfjsRequire } from 'node:module'; const require = __tfjsRequire(import.meta.url);\" },
    });"
  v=$(node -p "require('./node_modules/@tensorflow/tfjs-core/package.json').version")
  echo "{\"name\":\"@tensorflow/tfjs-core\",\"version\":\"$v\",\"type\":\"module\",\"main\":\"tfjs.mjs\",\"exports\":\"./tfjs.mjs\"}" >"$tf/tfjs-core/package.json"
  echo "{\"name\":\"@tensorflow/tfjs-backend-webgpu\",\"version\":\"$v\",\"type\":\"module\",\"main\":\"index.mjs\",\"exports\":\"./index.mjs\"}" >"$tf/tfjs-backend-webgpu/package.json"
  echo "// The backend is inside tfjs-core's bundle (scripts/gpu-pack.sh); importing it registers 'webgpu'." >"$tf/tfjs-backend-webgpu/index.mjs"
  echo "import '@tensorflow/tfjs-core';" >>"$tf/tfjs-backend-webgpu/index.mjs"
else
  say "no @tensorflow packages here: bench/kernels.js will run without its tfjs column"
fi

# dist/: the library, the commands and the built tests (test/run.mjs runs dist/test/*.test.js).
mkdir -p "$stage/dist"
(cd dist && find . -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.json' -o -name '*.wasm' \) -print0 |
  xargs -0 -I{} cp --parents {} "$root/$stage/dist/")
[ "${GPU_PACK_MAPS:-0}" = 1 ] && (cd dist && find . -name '*.map' -print0 | xargs -0 -I{} cp --parents {} "$root/$stage/dist/")

# Debian libraries: every shared object of the packages, under its soname (links resolved).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in "${deb_packages[@]}"; do dpkg -x "$(ls "$debs/${p}_"*.deb | head -1)" "$tmp"; done
for f in "$tmp"/usr/lib/x86_64-linux-gnu/*.so.* "$tmp"/lib/x86_64-linux-gnu/*.so.*; do
  [ -e "$f" ] || continue
  soname=$(objdump -p "$f" 2>/dev/null | awk '/SONAME/ {print $2}')
  [ -n "$soname" ] && [ ! -e "$stage/lib/debian/$soname" ] && cp -L "$f" "$stage/lib/debian/$soname"
done
# libstdc++: used there only if the machine's own lacks what dawn.node needs (gpu-check.sh decides).
cp -L /usr/lib/x86_64-linux-gnu/libstdc++.so.6 "$stage/lib/stdcxx/libstdc++.so.6"

{
  echo "payload for scripts/gpu-check.sh, made $(date -u +%FT%TZ) by scripts/gpu-pack.sh"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "node $node_version ($node_bin, stripped)"
  echo "webgpu $(node -p "require('./node_modules/webgpu/package.json').version") (dawn.node linux-x64)"
  echo "dawn.node needs: $(objdump -T node_modules/webgpu/dist/linux-x64/dawn.node | grep -o 'GLIBCXX_[0-9.]*\|GLIBC_[0-9.]*' | sort -uV | awk -F_ '{m[$1]=$0} END {print m["GLIBC"], m["GLIBCXX"]}')"
  echo "libstdc++ fallback: $(readlink -f /usr/lib/x86_64-linux-gnu/libstdc++.so.6 | xargs basename)"
  echo "Debian packages: $(cd "$debs" && ls *.deb | sed 's/_amd64.deb//' | tr '\n' ' ')"
} >"$stage/MANIFEST.txt"

# --- archive ------------------------------------------------------------------------------------
mkdir -p "$out"
say "compressing (xz -9; a minute or two)"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -cf - . | nice xz -9 -T2 >"$out/sraseg-gpu.tar.xz.tmp"
mv "$out/sraseg-gpu.tar.xz.tmp" "$out/sraseg-gpu.tar.xz"

# --- sizes --------------------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
bytes() { du -sb "$@" | awk '{s += $1} END {print s}'; }
say "staged (uncompressed):"
for part in bin/node node_modules/webgpu node_modules/h5wasm node_modules/@tensorflow dist lib/debian lib/stdcxx; do
  [ -e "$stage/$part" ] && printf '  %-28s %s\n' "$part" "$(mib "$(bytes "$stage/$part")")"
done
printf '  %-28s %s\n' "other npm (pngjs, uvu…)" "$(mib $(( $(bytes "$stage/node_modules") - $(bytes "$stage/node_modules/webgpu" "$stage/node_modules/h5wasm") - $( [ -d "$stage/node_modules/@tensorflow" ] && bytes "$stage/node_modules/@tensorflow" || echo 0) )))"
payload=$(stat -c %s "$out/sraseg-gpu.tar.xz")
tree=$(git ls-files -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
untracked=$(git ls-files -z --others --exclude-standard | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
say "payload $out/sraseg-gpu.tar.xz: $(mib "$payload"); with the working tree ($(mib $((tree + ${untracked:-0})))) $(mib $((payload + tree + ${untracked:-0}))) of the 64 MiB that may travel"
# The limit is the device tool's (64 MiB in all), kept 4 MiB clear. The trained checkpoints in weights/
# (~30 MiB) are not needed on the GPU: where only they make it too big, the call goes with weights/
# moved out of the checkout for its duration (a path outside the checkout does not travel).
total=$((payload + tree + ${untracked:-0}))
limit=$((60 * 1048576))
if [ "$total" -ge "$limit" ]; then
  aside=$(git ls-files -z weights | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  [ $((total - ${aside:-0})) -lt "$limit" ] || die "too big to travel with the working tree (limit 64 MiB, kept under 60), even without weights/"
  say "with weights/ ($(mib "$aside")) it is too big to travel (limit 64 MiB, kept under 60); without it $(mib $((total - aside))). For the device call:"
  say "  mv weights ../weights.aside   # then run(command = \"bash scripts/gpu-check.sh\", carry = [\".device/payload\"]), then:"
  say "  mv ../weights.aside weights"
fi
rm -rf "$stage"
say "done: carry [\".device/payload\"] and run 'bash scripts/gpu-check.sh' there (docs/BENCHMARKS.md)"
