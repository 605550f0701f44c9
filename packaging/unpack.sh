#!/bin/sh
# flux-edge, in one file: this script, then a gzip'd tar of the PyInstaller one-directory build.
# The first start of a build unpacks it into a cache directory named after the build; every later
# start runs it from there at once (docs/install.md, "One-file binary"). scripts/build-binary.sh
# fills in the two values below.
set -eu
build=@BUILD@
payload_offset=@OFFSET@

if [ -n "${FLUX_EDGE_UNPACK_DIR:-}" ]; then
    root=$FLUX_EDGE_UNPACK_DIR
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
    root=$XDG_CACHE_HOME/flux-edge
elif [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [ -w "$HOME" ]; then
    root=$HOME/.cache/flux-edge
else
    root=${TMPDIR:-/tmp}/flux-edge-$(id -u)
fi

# Whoever can write to the cache directory chooses the code that runs: it must belong to this user
# (or to root, for an image unpacked at build time) and be writable by no one else.
trusted() {
    ls -ldn -- "$1" | {
        read -r mode _ owner _
        case $mode in ?????w* | ????????w*) exit 1 ;; esac
        [ "$owner" = "$(id -u)" ] || [ "$owner" = 0 ]
    }
}

if [ ! -d "$root" ]; then
    mkdir -p -m 700 "$root"
fi
if ! trusted "$root"; then
    echo "flux-edge: $root is writable by another user; set FLUX_EDGE_UNPACK_DIR to a private directory" >&2
    exit 1
fi

# A running program may still load files from its build folder (Python modules load lazily), so an
# older build is removed only when no process of this user runs from it and it has not been
# started for a while; this runs once per new build, right after its first unpacking.
in_use() {
    for exe in /proc/[0-9]*/exe; do
        case $(readlink "$exe" 2>/dev/null) in "$1"/*) return 0 ;; esac
    done
    return 1
}
remove_unused_builds() {
    for old in "$root"/*; do
        name=${old##*/}
        case $name in "$build" | *[!0-9a-f]*) continue ;; esac
        [ "${#name}" -eq 16 ] && [ -d "$old" ] || continue
        [ -n "$(find "$old" -maxdepth 0 -mmin +10)" ] || continue
        in_use "$old" || rm -rf "$old"
    done
}

dir=$root/$build
if [ ! -x "$dir/flux-edge" ]; then
    unpacking=$(mktemp -d "$root/.unpacking.XXXXXX")
    trap 'rm -rf "$unpacking"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    tail -c +"$((payload_offset + 1))" "$0" | gzip -dc | tar -xf - -C "$unpacking"
    [ -x "$unpacking/flux-edge" ] || { echo "flux-edge: unpacking into $root failed" >&2; exit 1; }
    # A start running at the same time may have moved its copy in first: then mv puts this one
    # inside it, and it goes.
    mv "$unpacking" "$dir" 2>/dev/null || :
    rm -rf "${dir:?}/${unpacking##*/}" "$unpacking"
    trap - EXIT INT TERM
    remove_unused_builds
fi
touch "$dir" 2>/dev/null || :  # recently started: remove_unused_builds of another build spares it
exec "$dir/flux-edge" "$@"
