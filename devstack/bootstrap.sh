#!/usr/bin/env bash
# Create the project's virtual environments (.venv for the services and tests, .venv-store for the
# nx-27017 store) with the pinned dependencies. Re-installs only when a requirements file changed.
# As root, installs a missing python3-venv with apt; otherwise says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[lapor] $*"; }
die() { echo "[lapor] error: $*" >&2; exit 1; }

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || die "Python 3.11 is needed (python3.11 on PATH, or PYTHON=/path/to/python3.11)."

if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing python3-venv with apt-get"
    apt-get update -q && apt-get install -y -q python3-venv
  else
    die "Python's venv module is missing: sudo apt-get install python3-venv (or python3.11-venv)"
  fi
fi

make_venv() {  # make_venv DIR REQUIREMENTS...
  local dir=$1; shift
  local stamp="$dir/.requirements.sha256"
  local want; want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  say "preparing $dir"
  [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"
  local args=()
  for requirements in "$@"; do args+=(-r "$requirements"); done
  # pip's notes about local index folders that do not exist are noise; its exit status is what counts.
  "$dir/bin/python" -m pip install -q "${args[@]}" 2> >(grep -v "is ignored" >&2) \
    || die "pip could not install ${*} into $dir (see above); fix that and run again"
  "$dir/bin/python" -m pip check >/dev/null || { "$dir/bin/python" -m pip check; die "$dir has conflicting packages (see above)"; }
  echo "$want" > "$stamp"
}

make_venv .venv requirements.txt requirements-dev.txt
make_venv .venv-store requirements-store.txt
.venv/bin/python -c 'import nameko, pymongo, lokal' || die ".venv is incomplete; remove it and run again"
[ -x .venv-store/bin/nx-27017 ] || die ".venv-store has no nx-27017; remove it and run again"
