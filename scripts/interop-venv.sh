#!/usr/bin/env bash
# A Python virtualenv with py-filelock, for the interop tests (__test__/interop.spec.ts).
# Usage: scripts/interop-venv.sh [DIR]   (default .cache/interop-venv, git-ignored)
# Prints the venv's python on stdout. Idempotent: an existing venv with the pinned
# version costs one import. Fails (status 1, reason on stderr) when python3, its venv
# module or PyPI is not available.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.cache/interop-venv}"
requirements="__test__/fixtures/interop-requirements.txt"
want="$(sed -n 's/^filelock==//p' "$requirements")"
python="$dir/bin/python"

if [ -x "$python" ] && [ "$("$python" -c 'import filelock; print(filelock.__version__)' 2>/dev/null)" = "$want" ]; then
  echo "$python"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 is not installed" >&2; exit 1; }
rm -rf "$dir"
python3 -m venv "$dir" >&2 || { echo "python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
"$python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 ||
  { echo "pip install -r $requirements failed (is PyPI reachable?)" >&2; exit 1; }
echo "$python"
