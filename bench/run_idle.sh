#!/usr/bin/env bash
# Runs bench/idle_connections.ts with a raised open-file limit. The limit is
# set on this shell, so the Deno harness and every server it starts inherit
# it (each side holds one socket per idle connection).
# Usage: bench/run_idle.sh [--connections=10000] [--targets=...] [--no-write]
set -euo pipefail

want=65536
if ! ulimit -n "$want" 2>/dev/null; then
  # Without CAP_SYS_RESOURCE the hard limit is the ceiling; take all of it.
  ulimit -n "$(ulimit -Hn)"
fi
echo "ulimit -n: $(ulimit -n)"

here=$(cd "$(dirname "$0")" && pwd)
if command -v deno >/dev/null 2>&1; then
  deno=(deno)
else
  deno=(npx -y deno@2.9.6)
fi
exec "${deno[@]}" run --allow-run --allow-read --allow-write="$here/RESULTS.md" \
  --allow-net=127.0.0.1 "$here/idle_connections.ts" "$@"
