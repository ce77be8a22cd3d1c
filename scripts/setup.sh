#!/usr/bin/env bash
# Prepares a machine to build, test and run the engine; meant for a fresh Debian 12 run as root, and
# safe to run again (it installs only what is missing).
#
#   bash scripts/setup.sh            Node ≥ 20, npm packages, build, and a WebGPU adapter
#   bash scripts/setup.sh --vulkan   also Mesa's Vulkan driver (lavapipe, Mesa ≥ 24); same as SETUP_VULKAN=1
#
# On a machine without a GPU the engine runs on Mesa's CPU drivers: Dawn→OpenGL on llvmpipe (stock
# Debian Mesa is enough, and it is the faster of the two here) or Dawn→Vulkan on lavapipe, which needs
# Mesa ≥ 24 (bookworm-backports; bookworm's own 22.3 lacks a feature Dawn requires) and is only worth
# it for shader-f16, subgroups or timestamp queries. See docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
want_vulkan="${SETUP_VULKAN:-0}"
for arg in "$@"; do
  case "$arg" in
    --vulkan) want_vulkan=1 ;;
    *) echo "setup: unknown argument '$arg' (known: --vulkan)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*"; }
warn() { echo "setup: WARNING: $*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

need_root() {
  [ "$(id -u)" = 0 ] && return 0
  echo "setup: $1 needs root; run this script as root." >&2
  exit 1
}

apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  apt-get update -qq
  apt_updated=1
}

# apt_get [-t SUITE] PKG… — installs (or upgrades) the packages, quietly.
apt_get() {
  if ! command -v apt-get >/dev/null; then
    warn "no apt-get here; install these yourself: $*"
    return 1
  fi
  need_root "installing $*"
  say "installing $*"
  apt_update
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# apt_install PKG… — installs those of the packages not yet installed.
apt_install() {
  local missing=()
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] || apt_get "${missing[@]}"
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# --- Node ≥ 20 and npm -----------------------------------------------------------------------------
command -v node >/dev/null || apt_install nodejs
# Debian packages npm separately; NodeSource's nodejs includes it (and conflicts with Debian's npm).
command -v npm >/dev/null || apt_install npm
if [ "$(node_major)" -lt 20 ]; then
  warn "node $(node --version) is older than the required 20 (Debian 12 ships 18); install Node 20+"
  warn "e.g. from https://nodejs.org or NodeSource, then run this script again."
fi

# --- npm packages and build ----------------------------------------------------------------------
# npm records what it installed in node_modules/.package-lock.json; when that is newer than the
# lockfile nothing changed, and skipping `npm ci` keeps a re-run fast.
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "node_modules up to date"
else
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

# --- A WebGPU adapter ----------------------------------------------------------------------------
# Dawn writes warnings to stderr on every start (backends it could not load, reduced limits); show
# them only when no adapter is found.
probe() {
  local log status=0
  log=$(mktemp)
  timeout 120 node scripts/probe-adapter.mjs "$@" 2>"$log" || status=$?
  [ "$status" = 0 ] || [ "${1:-}" = --quiet ] || cat "$log" >&2
  rm -f "$log"
  return "$status"
}

install_opengl() {
  # Dawn→OpenGL without a display: EGL (surfaceless) on Mesa's llvmpipe.
  apt_install libegl1 libegl-mesa0 libgl1-mesa-dri libgles2
}

install_vulkan() {
  local codename version
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if installed mesa-vulkan-drivers && [ "${version%%.*}" -ge 24 ] 2>/dev/null && installed libvulkan1; then
    return 0
  fi
  if [ "$codename" = bookworm ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      need_root "adding bookworm-backports to the apt sources"
      say "adding bookworm-backports to the apt sources"
      cat >/etc/apt/sources.list.d/backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
      apt_updated=0
    fi
    # Also upgrades an old (22.x) driver already installed from bookworm itself. Backports' Mesa
    # brings its own libgl1-mesa-dri/libegl-mesa0 along, so the OpenGL driver moves up with it.
    apt_get -t bookworm-backports mesa-vulkan-drivers libvulkan1
  else
    apt_install mesa-vulkan-drivers libvulkan1
  fi
  version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ "${version%%.*}" -ge 24 ] 2>/dev/null || warn "mesa-vulkan-drivers $version < 24: Dawn→Vulkan on lavapipe may not work."
}

if [ "$want_vulkan" = 1 ]; then
  install_vulkan
fi
if ! probe --quiet; then
  say "no WebGPU adapter found; installing Mesa's CPU drivers (OpenGL/EGL)"
  install_opengl
fi
if [ "$want_vulkan" = 1 ]; then
  SRASEG_BACKEND=vulkan probe || warn "Vulkan was asked for but Dawn→Vulkan gives no adapter."
fi
probe
