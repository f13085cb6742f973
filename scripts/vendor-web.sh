#!/usr/bin/env bash
# Refreshes the vendored front-end files from the npm registry, at the
# versions pinned below, and checks each tarball against its pinned SHA-1
# (npm's dist.shasum) before unpacking:
#   - Pico CSS, the web kit's style sheet (internal/webkit/assets);
#   - uPlot, the charts of the back office's home page (its figures are a
#     table first; the chart draws over it where JavaScript runs);
#   - axe-core, the accessibility checker the browser tests run on every
#     page (internal/browsertest; tests only, not in the binary).
#
#   scripts/vendor-web.sh
#
# To move to a new version: change the version and shasum (npm view
# PACKAGE@VERSION dist.shasum), run this script, look at the pages (the
# portal's browser test writes screenshots, see README) and update
# internal/webkit/assets/LICENSES.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PICO_VERSION=2.1.1
PICO_SHASUM=f2c4573b0332758b6d9c3caf4ee8b24cf3819f8e
UPLOT_VERSION=1.6.32
UPLOT_SHASUM=c800a63b432bad692d6d746f44f0882aa73a49ae
AXE_VERSION=4.14.1
AXE_SHASUM=14d8a6f3f085afd126b8b5ca1e42e50e17fb1d99
dest=internal/webkit/assets

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package version shasum -> path of the unpacked package
  local pkg=$1 version=$2 want=$3 tgz got
  tgz=$(cd "$tmp" && npm pack --silent "$pkg@$version")
  got=$(sha1sum "$tmp/$tgz" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    echo "vendor-web.sh: $pkg@$version: sha1 $got, want $want" >&2
    exit 1
  fi
  mkdir -p "$tmp/$pkg"
  tar -xzf "$tmp/$tgz" -C "$tmp/$pkg"
  echo "$tmp/$pkg/package"
}

pico=$(fetch @picocss/pico "$PICO_VERSION" "$PICO_SHASUM")
cp "$pico/css/pico.min.css" "$dest/pico.min.css"
cp "$pico/LICENSE.md" "$dest/pico.LICENSE.md"
echo "vendor-web.sh: @picocss/pico@$PICO_VERSION -> $dest/pico.min.css"

uplot=$(fetch uplot "$UPLOT_VERSION" "$UPLOT_SHASUM")
cp "$uplot/dist/uPlot.iife.min.js" "$dest/uplot.iife.min.js"
cp "$uplot/dist/uPlot.min.css" "$dest/uplot.min.css"
cp "$uplot/LICENSE" "$dest/uplot.LICENSE"
echo "vendor-web.sh: uplot@$UPLOT_VERSION -> $dest/uplot.iife.min.js, $dest/uplot.min.css"

axe=$(fetch axe-core "$AXE_VERSION" "$AXE_SHASUM")
cp "$axe/axe.min.js" internal/browsertest/axe.min.js
cp "$axe/LICENSE" internal/browsertest/axe.LICENSE
echo "vendor-web.sh: axe-core@$AXE_VERSION -> internal/browsertest/axe.min.js"
