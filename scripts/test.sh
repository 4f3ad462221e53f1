#!/usr/bin/env bash
# `npm test`: every check CI enforces, in order. Runner reports land in .test-results/
# so .ci/run can count tests from the runners' own output.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-results
rm -f .test-results/*

step() { printf '\n== %s\n' "$*"; }

step "build (tests run against the built package)"
npm run build
step "biome (lint + format)"
npx biome ci .
step "typescript"
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.test.json --noEmit
npx tsc -p bench/tsconfig.json # the bench's JSDoc-typed .mjs, against dist's declarations
step "cargo fmt"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace -- -D warnings
# The binding has no tests (napi registration is compiled out under cfg(test)).
cargo clippy -p concurrent-fs-core --all-targets -- -D warnings
step "cargo test"
cargo test --workspace 2>&1 | tee .test-results/cargo.txt
step "vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json
