#!/usr/bin/env bash
# Runs bun with npm's global bin folder on PATH: right after `npm install -g bun` in the same
# npm script, the shell has not picked it up yet.
set -eu
PATH="$(npm prefix -g 2>/dev/null)/bin:$PATH"
exec bun "$@"
