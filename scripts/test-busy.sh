#!/usr/bin/env bash
# `npm run test:busy [-- RUNS]`: the vitest suite on a busy machine, as CI machines are:
# two CPU-burning processes and a disk writer (1 MiB writes, each flushed) run beside it.
# Runs the suite RUNS times (default 1) and prints how many passed; exits non-zero if any
# run failed. Needs a built tree (npm run build).
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
scratch=$(mktemp -d)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$scratch"
}
trap stop EXIT
for _ in 1 2; do
  node -e 'for (;;) {}' &
  pids+=($!)
done
# shellcheck disable=SC2016 # expanded by the inner shell
bash -c 'while :; do dd if=/dev/zero of="$0/disk" bs=1M count=64 oflag=dsync status=none; done' "$scratch" &
pids+=($!)
passed=0
for run in $(seq "$runs"); do
  echo "== busy run $run/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
  if npx vitest run --reporter=dot; then passed=$((passed + 1)); fi
done
echo "test:busy: $passed of $runs runs passed"
[ "$passed" = "$runs" ]
