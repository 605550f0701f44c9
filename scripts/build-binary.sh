#!/usr/bin/env bash
# Build dist/flux-edge: one self-contained Linux executable (Python, every dependency, V8 and its
# ICU data, our JavaScript) made by PyInstaller from packaging/flux-edge.spec. The Dockerfile runs
# this same script, so the binary the tests run is the binary the image ships.
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

stage 4 "freezing with PyInstaller (packaging/flux-edge.spec; the longest stage)"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/flux-edge.spec

stage 5 "checking that dist/flux-edge starts"
# The binary must at least start, load V8 and find its ICU data.
dist/flux-edge --version
ls -l dist/flux-edge
echo "build-binary: built dist/flux-edge in $((SECONDS - STARTED))s" >&2
