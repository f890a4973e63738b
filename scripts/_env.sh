# Shared by scripts/test and scripts/demo: the project's virtualenv with the Python tools,
# and the Python extension built into it. Sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
export VIRTUAL_ENV="$PWD/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# A debug build: quick to compile, and it shares the one target dir with `cargo test`.
build_extension() {
  maturin develop --quiet
}
