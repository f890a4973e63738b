# Shared by the scripts: the project's virtualenv (.venv), quiet installs into it, and the
# Python extension built into it with cargo's progress shown. Sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv .venv" >&2
  "$PYTHON" -m venv .venv
fi
export VIRTUAL_ENV="$PWD/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"

# `pip install` into .venv, printing only warnings and errors (a pip config's
# `Looking in links: ...` and the like are informational).
pip_install() {
  python -m pip install --quiet --disable-pip-version-check "$@"
}

# The maturin requirement, from the one list of tools (requirements-dev.txt).
maturin_requirement() {
  grep -E '^maturin\b' requirements-dev.txt
}

# Drops maturin's emoji-led status lines, keeping cargo's progress, warnings and errors.
without_chatter() {
  LC_ALL=C grep --line-buffered -v $'^[\x80-\xff]' || true
}

# Exit hooks: every script's cleanups run when it exits, in order.
exit_hooks=()
at_exit() { exit_hooks+=("$1"); }
run_exit_hooks() { local hook; for hook in "${exit_hooks[@]}"; do eval "$hook" || true; done; }
trap run_exit_hooks EXIT

# Starts `$1 -m grantex.testing serve --demo --port 0` (any Python with the module) in the
# background, stops it when the script exits, and sets DEMO_URL to the URL it prints.
start_demo_server() {
  local python=$1 log
  log=$(mktemp)
  "$python" -m grantex.testing serve --demo --port 0 >"$log" 2>&1 &
  local server=$!
  at_exit "kill $server 2>/dev/null; rm -f '$log'"
  DEMO_URL=""
  for _ in $(seq 1 100); do
    DEMO_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)
    [ -n "$DEMO_URL" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  echo "the local server did not start:" >&2
  cat "$log" >&2
  exit 1
}

# A debug build: quick to compile, and it shares the one target dir with `cargo test`.
# PIP_QUIET: the pip that maturin runs to install the package's requirements prints
# nothing but warnings (no `Ignoring pytest: markers 'extra == "test"' ...` for the
# optional test extra, which is not installed).
build_extension() {
  echo "Building the Python module into .venv (maturin develop)" >&2
  PIP_QUIET=1 maturin develop 2>&1 | without_chatter >&2
}
