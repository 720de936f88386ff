# Shared set-up for scripts/test and scripts/demo: installs what kiln needs on a fresh Debian
# machine (system packages, then a virtual environment in .venv) and builds kiln into it.
# Sourced, not run. Idempotent: a second run only checks.

KILN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KILN_VENV="$KILN_ROOT/.venv"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Debian packages: GoogleTest for the C++ tests, clang + its runtime for the libFuzzer target.
kiln_install_system_packages() {
  local missing=()
  [ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
  command -v clang++ >/dev/null 2>&1 || missing+=(clang)
  ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || missing+=(libclang-rt-14-dev)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# .venv with the build and test tools and PyTorch (all from PyPI or the local wheel store).
kiln_setup_venv() {
  if [ ! -x "$KILN_VENV/bin/python" ]; then
    log "creating $KILN_VENV"
    python3 -m venv "$KILN_VENV"
  fi
  # shellcheck disable=SC1091
  source "$KILN_VENV/bin/activate"
  if ! python -c "import scikit_build_core, nanobind, numpy, pytest, lit, filecheck" 2>/dev/null; then
    log "installing Python build and test tools into .venv"
    python -m pip install -q --upgrade pip
    python -m pip install -q "scikit-build-core>=0.10" "nanobind>=2.0" cmake ninja numpy pytest lit filecheck
  fi
  # PyTorch for the frontends and their tests (CI's pinned versions), transformers for model tests.
  if ! python -c "import torch, torchvision, transformers" 2>/dev/null; then
    log "installing torch, torchvision and transformers into .venv"
    python -m pip install -q torch==2.14.1 torchvision==0.29.1
    python -m pip install -q transformers
  fi
  # The header-only cudnn-frontend for the cuDNN kernels (cmake/cudnn.cmake finds its headers in
  # site-packages/include; cuDNN itself comes with torch as nvidia-cudnn-cu13).
  if [ ! -f "$(python -c "import sysconfig; print(sysconfig.get_paths()['platlib'])")/include/cudnn_frontend.h" ]; then
    log "installing nvidia-cudnn-frontend into .venv"
    python -m pip install -q --no-deps nvidia-cudnn-frontend==1.32.0  # headers only: no cutlass DSL
  fi
}

# Builds kiln into .venv (editable). $1: build dir under build/, $2...: extra CMake defines.
kiln_build_into_venv() {
  local build_dir="$1"
  shift
  local defines=()
  for d in "$@"; do defines+=("-Ccmake.define.$d"); done
  log "building kiln (build/$build_dir)"
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    python -m pip install -q --no-build-isolation -e "$KILN_ROOT" \
    -Cbuild-dir="build/$build_dir" "${defines[@]}"
}
