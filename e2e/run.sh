#!/usr/bin/env bash
# The end-to-end suite in one command: installs what a fresh machine lacks
# (Debian's Chromium, the pinned npm packages, the examples' npm packages and
# Python venv), builds the binaries, and runs
# every test in e2e/tests with node's test runner. Exits non-zero, loudly, if
# anything is missing or any test fails; nothing is skipped.
#
#   bash e2e/run.sh                 # everything
#   bash e2e/run.sh --no-build      # use the binaries already in target/debug
#   bash e2e/run.sh tests/browser-flow.test.mjs   # one file (relative to e2e/)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
build=1
files=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) files+=("$a") ;;
  esac
done

say() { printf '\n== e2e: %s\n' "$*"; }
die() { printf '\n!! e2e: %s\n' "$*" >&2; exit 1; }

# --- Chromium (Debian's; never a browser download) ---------------------------
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  say "installing Debian's chromium ($chromium is missing)"
  command -v apt-get >/dev/null || die "$chromium is missing and apt-get is not available"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q || die "apt-get update failed"
  timeout 900 apt-get install -y -q --no-install-recommends chromium || die "apt-get install chromium failed"
fi
[[ -x "$chromium" ]] || die "$chromium is still missing after the install"
"$chromium" --version || die "$chromium does not run"

# --- openssl (the CIMD test makes its own loopback CA) -------------------------
if ! command -v openssl >/dev/null; then
  say "installing openssl"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q && timeout 600 apt-get install -y -q openssl || die "apt-get install openssl failed"
fi

# --- Node packages (pinned by package-lock.json) -------------------------------
command -v node >/dev/null || die "node is missing"
command -v npm >/dev/null || die "npm is missing"
say "npm ci (node $(node --version), npm $(npm --version))"
( cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm ci --no-audit --no-fund ) || die "npm ci failed"

# Python venvs and node packages are installed only when their lock file
# changed since the last install (a stamp holds the lock file's hash), so a
# second run is fast.
stamp_ok() { [[ -f "$2" ]] && [[ "$(cat "$2")" == "$(sha256sum "$1" | cut -d' ' -f1)" ]]; }
stamp() { sha256sum "$1" | cut -d' ' -f1 >"$2"; }

# --- The MCP servers in other languages (examples/notes-mcp-{ts,py}) -------------
bash "$repo/examples/prepare-notes.sh" ts py || die "preparing examples/notes-mcp-ts and examples/notes-mcp-py failed"

# The SMTP server the email tests send to (aiosmtpd); the Rust tests make
# the same venv on first use (stamp .installed).
smtp_sink="$repo/e2e/smtp-sink"
if [[ ! -f "$smtp_sink/.venv/.installed" ]]; then
  say "Python venv for e2e/smtp-sink (pip install -r requirements.txt)"
  rm -rf "$smtp_sink/.venv"
  timeout 300 python3 -m venv "$smtp_sink/.venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  timeout 900 "$smtp_sink/.venv/bin/pip" install --disable-pip-version-check -q -r "$smtp_sink/requirements.txt" \
    || die "pip install -r e2e/smtp-sink/requirements.txt failed"
  touch "$smtp_sink/.venv/.installed"
fi

# --- pysaml2 (e2e/upstream-saml): the real SAML identity provider -----------
# xmlsec1 signs for it; the Rust tests make the same venv on first use
# (stamp .installed).
if ! command -v xmlsec1 >/dev/null; then
  say "installing xmlsec1 (pysaml2 signs with it)"
  command -v apt-get >/dev/null || die "xmlsec1 is missing and apt-get is not available"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q && timeout 600 apt-get install -y -q --no-install-recommends xmlsec1 \
    || die "apt-get install xmlsec1 failed"
fi
saml_idp="$here/upstream-saml"
if ! stamp_ok "$saml_idp/requirements.txt" "$saml_idp/.venv/.e2e-stamp" || [[ ! -f "$saml_idp/.venv/.installed" ]]; then
  say "Python venv for e2e/upstream-saml (pip install -r requirements.txt)"
  rm -rf "$saml_idp/.venv"
  timeout 300 python3 -m venv "$saml_idp/.venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  timeout 900 "$saml_idp/.venv/bin/pip" install --disable-pip-version-check -q -r "$saml_idp/requirements.txt" \
    || die "pip install -r e2e/upstream-saml/requirements.txt failed"
  stamp "$saml_idp/requirements.txt" "$saml_idp/.venv/.e2e-stamp"
  touch "$saml_idp/.venv/.installed"
fi
"$saml_idp/.venv/bin/python" -c 'import saml2, cryptography' || die "the e2e/upstream-saml venv lacks pysaml2 (remove e2e/upstream-saml/.venv and run again)"

# --- pyotp (e2e/totp): TOTP codes computed independently of authgate ---------
totp_dir="$here/totp"
if ! stamp_ok "$totp_dir/requirements.txt" "$totp_dir/.venv/.e2e-stamp"; then
  say "Python venv for e2e/totp (pip install -r requirements.txt)"
  rm -rf "$totp_dir/.venv"
  timeout 300 python3 -m venv "$totp_dir/.venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  timeout 600 "$totp_dir/.venv/bin/pip" install --disable-pip-version-check -q -r "$totp_dir/requirements.txt" \
    || die "pip install -r e2e/totp/requirements.txt failed"
  stamp "$totp_dir/requirements.txt" "$totp_dir/.venv/.e2e-stamp"
fi
"$totp_dir/.venv/bin/python" -c 'import pyotp' || die "the e2e/totp venv lacks pyotp (remove e2e/totp/.venv and run again)"

# --- Binaries ------------------------------------------------------------------
if [[ $build == 1 ]]; then
  say "cargo build -p authgate-server --bin authgate -p weather-mcp"
  ( cd "$repo" && timeout 2400 cargo build -p authgate-server --bin authgate -p weather-mcp ) || die "cargo build failed"
fi
target="${CARGO_TARGET_DIR:-$repo/target}"
[[ "$target" = /* ]] || target="$repo/$target"
for b in authgate weather-mcp; do
  [[ -x "$target/debug/$b" ]] || die "$target/debug/$b is missing (build failed or --no-build without a build)"
done

# --- Tests -----------------------------------------------------------------------
rm -rf "$here/artifacts"
mkdir -p "$here/artifacts"
if [[ ${#files[@]} -eq 0 ]]; then
  mapfile -t files < <(cd "$here" && ls tests/*.test.mjs)
fi
[[ ${#files[@]} -gt 0 ]] || die "no test files found in $here/tests"
say "node --test ${files[*]}"
cd "$here"
set +e
timeout 1200 node --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=artifacts/results.tap \
  "${files[@]}"
rc=$?
set -e
say "screenshots and server logs: $here/artifacts/"
# node's own summary, and the plain closing line CI reads.
count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" artifacts/results.tap | tail -1; }
pass="$(count pass)"; fail="$(count fail)"; cancelled="$(count cancelled)"; skipped="$(count skipped)"
pass="${pass:-0}"; fail=$(( ${fail:-0} + ${cancelled:-0} ))
[[ $rc -eq 0 || $fail -gt 0 ]] || fail=1
if [[ $rc -eq 0 && $pass -eq 0 ]]; then
  printf '\n!! e2e: no test ran\n' >&2
  rc=1
fi
if [[ $rc -ne 0 ]]; then
  printf '\n!! e2e: end-to-end tests failed (node --test exit %s)\n' "$rc" >&2
else
  say "all end-to-end tests passed"
fi
echo "e2e: $pass passed, $fail failed, ${skipped:-0} skipped"
[[ $rc -eq 0 ]] || exit 1
