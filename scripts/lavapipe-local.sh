#!/usr/bin/env bash
# Mesa ≥ 24's Vulkan driver (lavapipe) unpacked into .lavapipe/ without installing it: the system's
# Mesa — the OpenGL driver the tests and CI use — stays as it is. For the features only Dawn→Vulkan
# offers on a CPU (shader-f16 for SRASEG_F16's tests, subgroups, timestamps). Debian 12 (bookworm)
# with network access to deb.debian.org; no root needed. Then:
#   source .lavapipe/env.sh && node test/run.mjs f16-staging
# (`bash scripts/setup.sh --vulkan` installs the same driver system-wide instead, upgrading the OpenGL
# driver with it.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=$PWD/.lavapipe
list=$dir/apt/sources.list
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
echo "deb http://deb.debian.org/debian bookworm-backports main" >"$list"
echo "deb http://deb.debian.org/debian bookworm main" >>"$list"
opts=(-o Dir::Etc::SourceList="$list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$dir/apt/lists"
  -o Dir::Cache="$dir/apt/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update -qq
(cd "$dir/debs" && apt-get "${opts[@]}" download -qq mesa-vulkan-drivers/bookworm-backports mesa-libgallium/bookworm-backports \
  libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports libdrm-intel1/bookworm-backports libvulkan1)
for d in "$dir"/debs/*.deb; do dpkg -x "$d" "$dir/root"; done
lib=$dir/root/usr/lib/x86_64-linux-gnu
sed "s#\"library_path\": \".*\"#\"library_path\": \"$lib/libvulkan_lvp.so\"#" "$dir/root/usr/share/vulkan/icd.d/lvp_icd.json" >"$dir/lvp_icd.json"
cat >"$dir/env.sh" <<ENV
# source this: Dawn→Vulkan on the unpacked lavapipe (scripts/lavapipe-local.sh)
export LD_LIBRARY_PATH=$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export VK_DRIVER_FILES=$dir/lvp_icd.json VK_ICD_FILENAMES=$dir/lvp_icd.json
export XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/tmp}
export SRASEG_BACKEND=vulkan
ENV
echo "lavapipe unpacked in $dir ($(ls "$dir"/debs | grep -o 'mesa-vulkan-drivers_[^_]*')); now: source .lavapipe/env.sh"
