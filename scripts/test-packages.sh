#!/usr/bin/env bash
# The system packages the tests use beyond the Rust toolchain, installed where this runs
# as root on Debian: lavapipe (a software Vulkan driver, so the GPU backend is tested),
# Chromium (the browser test), and for the Slurm test slurm-wlm, slurmdbd, munge and
# MariaDB, with Snakemake, its Slurm executor and the BIDS validator (the
# specification's schema-based one, packaged on PyPI).
#
# check.sh starts it in the background while the Rust builds take the CPUs: downloads
# and unpacking then cost no time of their own. Each group is best-effort: what could
# not be installed is said on one "note:" line, and the exit status is 1. Without
# lavapipe or the Slurm stack those tests skip, saying why; without Chromium the browser
# test fails. Idempotent: what is installed is not installed again.
# Groups: vulkan, chromium, slurm (default: all).
set -uo pipefail

[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
  { echo "not root with apt-get: no system packages installed"; exit 0; }
export DEBIAN_FRONTEND=noninteractive

updated= failed=0
# Says what could not be installed; the script then exits 1.
missing() { echo "note: could not install $*"; failed=1; }
# apt-get install, with one index update first where a package is not found.
apt_install() {
  apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  [ -n "$updated" ] && return 1
  updated=1
  apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1
}

groups=("$@")
[ $# -gt 0 ] || groups=(vulkan chromium slurm)
for g in "${groups[@]}"; do
  case $g in
    vulkan)
      ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 ||
        apt_install mesa-vulkan-drivers libvulkan1 ||
        missing "lavapipe; the GPU tests stay ignored"
      ;;
    chromium)
      [ -x /usr/bin/chromium ] || apt_install chromium ||
        missing "chromium"
      ;;
    slurm)
      if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null ||
        ! command -v mariadbd >/dev/null; then
        apt_install slurm-wlm slurmdbd munge mariadb-server ||
          missing "slurm-wlm, slurmdbd, munge and mariadb-server"
      fi
      if ! python3 -c 'import snakemake_executor_plugin_slurm' 2>/dev/null ||
        ! command -v bids-validator-deno >/dev/null; then
        python3 -m pip install -q "snakemake>=9,<10" "snakemake-executor-plugin-slurm>=2,<3" \
          "bids-validator-deno>=2.4,<3" >/dev/null 2>&1 ||
          missing "snakemake, its Slurm executor and the BIDS validator from PyPI"
      fi
      ;;
    *) echo "unknown group: $g (vulkan, chromium, slurm)" >&2; exit 2 ;;
  esac
done
echo "system packages for the tests: done"
exit "$failed"
