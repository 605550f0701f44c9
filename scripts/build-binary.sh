#!/usr/bin/env bash
# Build dist/flux-edge: one self-contained Linux executable (Python, every dependency, V8 and its
# ICU data, our JavaScript): PyInstaller's one-directory build of packaging/flux-edge.spec, packed
# behind packaging/unpack.sh, which unpacks it on a build's first start. The Dockerfile runs this
# same script, so the binary the tests run is the binary the image ships.
#
#   scripts/build-binary.sh            # builds dist/flux-edge, then prints its --version
#   PYTHON=python3.11 scripts/build-binary.sh
#
# Needs: CPython 3.11 built with a shared libpython (pyenv, python.org, Debian's and Docker's
# python images are), binutils (objdump, strip) and PyPI. The build tools go into a throwaway venv
# under build/, so the caller's site-packages stay as they were.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=build/binary-venv
# Pinned so that one commit always builds the same way; bump them together.
PYINSTALLER="pyinstaller==6.22.3"
HOOKS="pyinstaller-hooks-contrib==2026.9"

STARTED=$SECONDS
# One line per stage on stderr, so a terminal (and a build log) shows where a 1-2 minute build is.
stage() { echo "build-binary [$1/5] $2 (${SECONDS}s)" >&2; }

stage 1 "checking the tools and $PYTHON"
for tool in objdump strip; do
    command -v "$tool" >/dev/null || { echo "build-binary: '$tool' not found (install binutils)" >&2; exit 1; }
done
"$PYTHON" - <<'PY' || { echo "build-binary: $PYTHON must be CPython 3.11" >&2; exit 1; }
import sys
sys.exit(sys.version_info[:2] != (3, 11))
PY

stage 2 "preparing the build venv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
stage 3 "installing $PYINSTALLER, $HOOKS and flux-edge (constraints.txt)"
# Editable, so a rebuild always takes the working tree's flux_edge; the dependencies are the exact
# versions CI tests (constraints.txt), re-checked on every run.
"$VENV/bin/python" -m pip install --quiet -c constraints.txt "$PYINSTALLER" "$HOOKS" -e .

stage 4 "freezing with PyInstaller (packaging/flux-edge.spec; the longest stage), then packing"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath build/frozen --workpath build/pyinstaller packaging/flux-edge.spec
# dist/flux-edge = packaging/unpack.sh with the build's id and the payload's byte offset filled
# in, then the folder as a gzip'd tar. The id names the payload's content, so a new build unpacks
# anew and the same file never unpacks twice.
tar -C build/frozen/flux-edge -cf - . | gzip -6 > build/payload.tar.gz
build_id=$(sha256sum build/payload.tar.gz | cut -c1-16)
template=$(cat packaging/unpack.sh)
offset=0
for _ in 1 2 3; do  # the offset's own digits count towards it: settles in two rounds
    stub=${template//@BUILD@/$build_id}
    stub=${stub//@OFFSET@/$offset}
    offset=$(printf '%s\n' "$stub" | wc -c)
done
stub=${template//@BUILD@/$build_id}
stub=${stub//@OFFSET@/$offset}
mkdir -p dist
{ printf '%s\n' "$stub"; cat build/payload.tar.gz; } > dist/flux-edge.new
chmod 755 dist/flux-edge.new
mv dist/flux-edge.new dist/flux-edge

stage 5 "checking that dist/flux-edge starts"
# The binary must at least unpack, start, load V8 and find its ICU data.
rm -rf build/unpack-check
FLUX_EDGE_UNPACK_DIR=build/unpack-check dist/flux-edge --version
ls -l dist/flux-edge
echo "build-binary: built dist/flux-edge in $((SECONDS - STARTED))s" >&2
