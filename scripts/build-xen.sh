#!/usr/bin/env bash
# Builds the testbed's default Xen: Xen 4.17 from Debian 12's source package, hypervisor only, for
# arm64, with Debian's own configuration plus scripts/xen-static.config (null scheduler, boot-time
# cpupools, static shared memory). Output: .cache/xen/boot/xen-4.17-arm64-static (and its .config).
# Rebuilt only when the fragment, this script or the source version changes (a stamp beside it).
# Called by scripts/setup.sh, which installs the build's packages first.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.17.5+72-g01140da4e8-1
OUT=.cache/xen/boot/xen-4.17-arm64-static
SRC=.cache/xen-src
want="$VERSION $(cat scripts/xen-static.config scripts/build-xen.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$OUT" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup: building Xen $VERSION from Debian's source package (hypervisor only, arm64)"
t0=$(date +%s)

# apt-get source needs a deb-src line; a private one (deb822, hence the .sources name) (own sources and lists under .cache) leaves the
# system's apt configuration alone, whatever form it takes there.
apt_dir="$PWD/$SRC/apt"
mkdir -p "$apt_dir/lists/partial"
cat >"$apt_dir/deb-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/deb-src.sources" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt_dir/lists")
dsc="$SRC/xen_${VERSION}.dsc"
if [ ! -f "$dsc" ]; then
  apt-get "${apt_opts[@]}" update -q
  (cd "$SRC" && apt-get "${apt_opts[@]}" source -q --download-only "xen=$VERSION")
fi

# A fresh tree every time: the configuration changed, and a stale object must not survive.
tree="$SRC/xen-$VERSION"
rm -rf "$tree"
dpkg-source -q -x "$dsc" "$tree"
cat "$tree/debian/xen-kconfig" scripts/xen-static.config >"$tree/xen/.config"
make_args=(-C "$tree/xen" XEN_TARGET_ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
make "${make_args[@]}" olddefconfig >/dev/null
# Every option of the fragment must have survived olddefconfig (a dependency it lacks drops it).
grep '^CONFIG_' scripts/xen-static.config | while read -r opt; do
  grep -qx "$opt" "$tree/xen/.config" || { echo "setup: $opt did not take in Xen's configuration" >&2; exit 1; }
done
make "${make_args[@]}" -j"$(nproc)" >"$SRC/build.log" 2>&1 || { tail -30 "$SRC/build.log" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
cp "$tree/xen/xen" "$OUT"
cp "$tree/xen/.config" "$OUT.config"
echo "$want" >"$OUT.stamp"
rm -rf "$tree"
echo "setup: built $OUT in $(($(date +%s) - t0)) s"
