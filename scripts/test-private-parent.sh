#!/usr/bin/env bash
# The tests that run children as another user (uid 65534), from a copy of this checkout
# under a private directory (mode 0700), as a user meets it who clones into /root, a home
# directory or a `mktemp -d`. Those children must not need to reach the checkout.
# Needs a built tree (npm run build). Its vitest report lands in .test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "not root: the tests that change user skip anyway; nothing to run from a private parent"
  exit 0
fi
here=$(pwd)
private=$(mktemp -d) # mode 0700
trap 'rm -rf "$private"' EXIT
mkdir "$private/checkout"
tar --exclude=./target --exclude=./node_modules --exclude=./.git --exclude=./.cache --exclude=./.test-results -cf - . |
  tar -xf - -C "$private/checkout"
ln -s "$here/node_modules" "$private/checkout/node_modules"
mkdir -p .test-results
# Every spec that runs children as another user imports helpers/as-nobody.
specs=$(grep -l "from './helpers/as-nobody'" __test__/*.spec.ts)
echo "from $private/checkout (mode $(stat -c %a "$private")): $specs"
cd "$private/checkout"
# shellcheck disable=SC2086 # one argument per spec file
npx vitest run $specs --reporter=default --reporter=json --outputFile.json="$here/.test-results/vitest-private-parent.json"
