#!/usr/bin/env bash
# Installs everything ivcbench needs on a fresh Debian 12 machine (run as root, or with sudo available).
#   - QEMU 10 from bookworm-backports: 7.2 hangs in icount mode with more than one vCPU (docs/testbed.md).
#   - device-tree-compiler, fonts-dejavu-core, chromium: Xen's device tree, the report's figures
#     and the check of the report's HTML in a headless browser.
#   - the aarch64-unknown-none Rust target: RUSTUP_AUTO_INSTALL=0 here, so rust-toolchain.toml alone
#     installs nothing.
#   - Debian's Xen 4.17 arm64 hypervisor, downloaded and unpacked under .cache/xen (never committed),
#     selectable with `run --xen`; and the testbed's default Xen, built from Debian's Xen source
#     package with ivcbench's static partitioning configuration (scripts/build-xen.sh).
#   - Debian's busybox-static for arm64, unpacked under .cache/busybox (the Jailhouse run's root file system).
#   - LAVA's lava-common and lava-dispatcher (docs/lava.md).
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_update=1
apt_update() {
  if [ "$need_update" = 1 ]; then $SUDO apt-get update -q; need_update=0; fi
}

if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup: adding bookworm-backports to apt sources"
  echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/ivcbench-backports.list >/dev/null
fi

if ! qemu-system-aarch64 --version 2>/dev/null | grep -qE 'version (9|1[0-9])\.'; then
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports qemu-system-arm
fi

# dtc: the Xen testbed edits QEMU's device tree. fonts-dejavu-core: the report's figures name
# DejaVu Sans. chromium: the report's HTML is checked in a headless browser.
missing=""
command -v dtc >/dev/null || missing="$missing device-tree-compiler"
[ -d /usr/share/fonts/truetype/dejavu ] || missing="$missing fonts-dejavu-core"
command -v chromium >/dev/null || missing="$missing chromium"
if [ -n "$missing" ]; then
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if ! rustup target list --installed | grep -qx aarch64-unknown-none; then
  rustup target add aarch64-unknown-none
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

# Unpacks Debian's arm64 package $1 under $2: its files are used by path, never installed on the
# host, never committed.
unpack_arm64_deb() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    need_update=1
  fi
  apt_update
  mkdir -p "$2/deb"
  (cd "$2/deb" && apt-get download -q "$1:arm64")
  dpkg-deb -x "$2"/deb/"$1"_*_arm64.deb "$2"
}

XEN_DIR=.cache/xen
[ -f "$XEN_DIR/boot/xen-4.17-arm64" ] || unpack_arm64_deb xen-hypervisor-4.17-arm64 "$XEN_DIR"
# Debian's static busybox for arm64: the root file system `ivcbench run --hypervisor jailhouse`
# makes for the root cell's Linux (unpacked under .cache/busybox, never committed).
BUSYBOX_DIR=.cache/busybox
[ -x "$BUSYBOX_DIR/bin/busybox" ] || unpack_arm64_deb busybox-static "$BUSYBOX_DIR"
# LAVA (docs/lava.md): lava-common's schema checks every job ivcbench writes; lava-dispatcher's
# lava-run boots the qemu job in tests/lava.rs (it needs libguestfs, hence qemu-system-x86 from
# backports to match QEMU 10). Its device-type templates ship in lava-server's package, which
# is unpacked (not installed) under .cache/lava.
if ! command -v lava-run >/dev/null || ! /usr/bin/python3 -c 'import lava_common.schemas' 2>/dev/null; then
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    lava-common lava-dispatcher qemu-system-x86/bookworm-backports
fi
LAVA_DIR=.cache/lava
if [ ! -f "$LAVA_DIR/device-types/qemu.jinja2" ]; then
  apt_update
  rm -rf "$LAVA_DIR/deb" && mkdir -p "$LAVA_DIR/deb"
  (cd "$LAVA_DIR/deb" && apt-get download -q lava-server)
  dpkg-deb -x "$LAVA_DIR"/deb/lava-server_*.deb "$LAVA_DIR/deb/x"
  rm -rf "$LAVA_DIR/device-types"
  cp -r "$LAVA_DIR/deb/x/usr/share/lava-server/device-types" "$LAVA_DIR/device-types"
  rm -rf "$LAVA_DIR/deb"
fi
# The static partitioning Xen (scripts/build-xen.sh): Debian's cross compiler and Xen's build tools.
missing=""
command -v aarch64-linux-gnu-gcc >/dev/null || missing="$missing gcc-aarch64-linux-gnu"
command -v dpkg-source >/dev/null || missing="$missing dpkg-dev"
for t in make gcc flex bison python3; do command -v $t >/dev/null || missing="$missing $t"; done
if [ -n "$missing" ]; then
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
bash scripts/build-xen.sh
echo "setup: done (qemu: $(qemu-system-aarch64 --version | head -1); xen: $XEN_DIR/boot/xen-4.17-arm64-static, Debian's $XEN_DIR/boot/xen-4.17-arm64)"
