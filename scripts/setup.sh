#!/usr/bin/env bash
# Installs what Courier needs and is missing, on a fresh Debian/Ubuntu machine with Node and npm:
# Bun (through npm), redis-server (through apt), then the JS dependencies; with --with-browser
# Chromium, with --with-bench RQ (both through apt). Safe to run again: it only acts on what is
# missing, and says nothing when nothing is.
set -eu

cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# Root runs commands as is; anyone else goes through sudo when there is one.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

ensure_bun() {
  command -v bun >/dev/null 2>&1 && return 0
  command -v npm >/dev/null 2>&1 ||
    fail 'bun and npm are both missing: install Node.js and npm, or Bun from https://bun.sh'
  prefix="$(npm prefix -g)"
  if [ ! -x "$prefix/bin/bun" ]; then
    # A global prefix such as /usr belongs to root: use sudo only when we cannot write there.
    run=""
    if [ ! -w "$prefix/lib" ] && [ ! -w "$prefix" ]; then run=as_root; fi
    $run npm install -g --silent --no-fund --no-audit bun >/dev/null 2>&1 ||
      fail "could not install Bun: run \"${run:+sudo }npm install -g bun\""
    say "installed bun $("$prefix/bin/bun" --version) (npm install -g bun)"
  fi
  # The rest of this script needs bun; tell the user to add its folder only when PATH lacks it
  # (npm's global folder is often /usr/bin or /usr/local/bin, on PATH already).
  case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *)
      PATH="$prefix/bin:$PATH"
      export PATH
      say "bun is in $prefix/bin, not on your PATH: add it, e.g. export PATH=\"$prefix/bin:\$PATH\""
      ;;
  esac
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    install_redis
  fi
  # Courier needs XAUTOCLAIM (6.2); Debian 11's package is 6.0.
  version="$(redis-server --version | sed -n 's/.* v=\([0-9]*\.[0-9]*\).*/\1/p')"
  case "$version" in
    [0-5].* | 6.[01]) say "redis-server $version is too old (Courier needs 6.2+): set REDIS_URL" ;;
  esac
}

install_redis() {
  command -v apt-get >/dev/null 2>&1 ||
    fail "redis-server is missing and there is no apt-get: install Redis 6.2+, or set REDIS_URL"
  cmd='sudo apt-get update && sudo apt-get install -y redis-server'
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq redis-server; } >/dev/null 2>&1 ||
    fail "could not install redis-server: run \"$cmd\""
  say "installed $(redis-server --version | cut -d' ' -f1-3) (apt-get install redis-server)"
  # Debian starts the packaged service on 6379, the port `bun run stack` wants, without the
  # AOF the stack turns on. We just installed it for Courier, so it holds nothing yet: stop it
  # and leave the port to the stack (start it again with: systemctl enable --now redis-server).
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    as_root systemctl disable --now redis-server >/dev/null 2>&1 &&
      say 'stopped the packaged redis-server service so "bun run stack" can use port 6379'
  fi
}

# Browser tests (text extraction against a real browser, the dashboard) drive Debian's
# Chromium; only `npm test` asks for it (--with-browser).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    fail "chromium is missing and there is no apt-get: install Debian's chromium package"
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq chromium; } >/dev/null 2>&1 ||
    fail 'could not install chromium: run "sudo apt-get install -y chromium"'
  say "installed $(/usr/bin/chromium --version 2>/dev/null | head -n 1) (apt-get install chromium)"
}

# The benchmark's RQ contender (tests/load/bench.load.ts runs it) needs Debian's python3 with rq
# and requests; only `bun run test:load` asks for them (--with-bench). Without them the bench
# skips RQ and says why, so a failed install is a warning, not a failure.
ensure_rq() {
  [ -x /usr/bin/rq ] && /usr/bin/python3 -c 'import redis, requests, rq' >/dev/null 2>&1 && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get: the benchmark will skip RQ (it needs Debian's python3-rq and python3-requests)"
    return 0
  fi
  if { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq python3-rq python3-requests; } >/dev/null 2>&1; then
    say "installed python3-rq and python3-requests (apt-get install), for the benchmark's RQ"
  else
    say 'could not install python3-rq python3-requests: the benchmark will skip RQ' \
      '(run "sudo apt-get install -y python3-rq python3-requests")'
  fi
}

# The TLS tests make their certificates with openssl; without it they are skipped, saying so.
ensure_openssl() {
  command -v openssl >/dev/null 2>&1 && return 0
  if { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq openssl; } >/dev/null 2>&1; then
    say "installed openssl (apt-get install), for the TLS tests' certificates"
  else
    say 'could not install openssl: the TLS tests will be skipped (run "sudo apt-get install -y openssl")'
  fi
}

ensure_deps() {
  if ! out="$(bun install --frozen-lockfile 2>&1)"; then
    printf '%s\n' "$out" >&2
    fail 'bun install --frozen-lockfile failed (see above)'
  fi
  case "$out" in
    *"no changes"*) ;;
    *) say "installed JS dependencies (bun install --frozen-lockfile)" ;;
  esac
}

with_browser=no
with_bench=no
for arg in "$@"; do
  case "$arg" in
    --with-browser) with_browser=yes ;;
    --with-bench) with_bench=yes ;;
    *) fail "unknown option $arg (known: --with-browser, --with-bench)" ;;
  esac
done

ensure_bun
ensure_redis
if [ "$with_browser" = yes ]; then ensure_chromium; ensure_openssl; fi
if [ "$with_bench" = yes ]; then ensure_rq; fi
ensure_deps
