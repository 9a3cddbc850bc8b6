#!/usr/bin/env bash
# examples/prepare-notes.sh — installs and builds the MCP servers in other
# languages (examples/notes-mcp-ts: npm ci + tsc; examples/notes-mcp-py: a
# venv with requirements.txt), for the end-to-end suite (e2e/run.sh) and
# the benchmark (bench/run).
#
#   bash examples/prepare-notes.sh [ts] [py]     (default: both)
#
# Installs only when a lock file changed since the last install (a stamp
# holds its hash) and runs tsc only when a source is newer than the build,
# so a second run is fast. Exits non-zero with the reason on any failure.
set -euo pipefail
examples="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf '\n== notes examples: %s\n' "$*"; }
die() { printf '\n!! notes examples: %s\n' "$*" >&2; exit 1; }
stamp_ok() { [[ -f "$2" ]] && [[ "$(cat "$2")" == "$(sha256sum "$1" | cut -d' ' -f1)" ]]; }
stamp() { sha256sum "$1" | cut -d' ' -f1 >"$2"; }

langs=("$@")
((${#langs[@]})) || langs=(ts py)
for lang in "${langs[@]}"; do
  case "$lang" in
    ts)
      command -v npm >/dev/null || die "npm is missing (Node.js 20 or newer is needed for examples/notes-mcp-ts)"
      notes_ts="$examples/notes-mcp-ts"
      if ! stamp_ok "$notes_ts/package-lock.json" "$notes_ts/node_modules/.e2e-stamp"; then
        say "npm ci in examples/notes-mcp-ts"
        ( cd "$notes_ts" && timeout 600 npm ci --no-audit --no-fund ) || die "npm ci in examples/notes-mcp-ts failed"
        stamp "$notes_ts/package-lock.json" "$notes_ts/node_modules/.e2e-stamp"
      fi
      if [[ ! -f "$notes_ts/dist/main.js" ]] || [[ -n "$(find "$notes_ts/src" "$notes_ts/tsconfig.json" "$notes_ts/node_modules/.e2e-stamp" -newer "$notes_ts/dist/main.js" -print -quit)" ]]; then
        say "building examples/notes-mcp-ts (tsc)"
        ( cd "$notes_ts" && timeout 300 npm run --silent build ) || die "building examples/notes-mcp-ts (tsc) failed"
      fi
      ;;
    py)
      notes_py="$examples/notes-mcp-py"
      if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        say "installing python3 and python3-venv"
        command -v apt-get >/dev/null || die "python3 with venv is missing and apt-get is not available"
        export DEBIAN_FRONTEND=noninteractive
        timeout 600 apt-get update -q && timeout 900 apt-get install -y -q --no-install-recommends python3 python3-venv \
          || die "apt-get install python3 python3-venv failed"
      fi
      if ! stamp_ok "$notes_py/requirements.txt" "$notes_py/.venv/.e2e-stamp"; then
        say "Python venv for examples/notes-mcp-py (pip install -r requirements.txt)"
        rm -rf "$notes_py/.venv"
        timeout 300 python3 -m venv "$notes_py/.venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
        timeout 900 "$notes_py/.venv/bin/pip" install --disable-pip-version-check -q -r "$notes_py/requirements.txt" \
          || die "pip install -r examples/notes-mcp-py/requirements.txt failed"
        stamp "$notes_py/requirements.txt" "$notes_py/.venv/.e2e-stamp"
      fi
      "$notes_py/.venv/bin/python" -c 'import mcp, jwt, uvicorn, cryptography' \
        || die "the notes-mcp-py venv lacks a package (remove examples/notes-mcp-py/.venv and run again)"
      ;;
    *) die "unknown example language '$lang' (ts or py)" ;;
  esac
done
