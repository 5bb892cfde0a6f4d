#!/usr/bin/env bash
# Installs what twinrouter needs on Debian bookworm: system packages, the
# project venv (.venv) and its Python packages. Idempotent and quick when
# everything is already there (a stamp keyed on pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    python3 python3-venv python3-dev build-essential
    iverilog
    mininet bridge-utils iproute2 iputils-ping traceroute tcpdump ethtool
    frr
    python3-pyasn
)

# Runs a noisy install step; shows its output only when it fails.
quiet() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "setup: failed: $*" >&2
        return 1
    fi
    rm -f "$log"
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's Python: it ships libpython as a shared library, which cocotb's
# simulator plug-ins link against.
PYTHON=/usr/bin/python3
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "setup: creating .venv and installing Python packages"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    quiet .venv/bin/pip install --upgrade pip
    quiet .venv/bin/pip install -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# p4runtime-shell pins protobuf < 3.21, which cannot share .venv with finsy
# (protobuf 6): it gets a tool venv of its own, used as an independent
# P4Runtime client in the conformance tests.
shell_stamp=".venv-p4rt-shell/.installed-p4runtime-shell-0.0.6"
if [ ! -f "$shell_stamp" ]; then
    echo "setup: creating .venv-p4rt-shell (p4runtime-shell)"
    [ -x .venv-p4rt-shell/bin/python ] || "$PYTHON" -m venv .venv-p4rt-shell
    quiet .venv-p4rt-shell/bin/pip install p4runtime-shell==0.0.6
    touch "$shell_stamp"
fi
