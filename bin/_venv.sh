# Sourced by bin/run and bin/test: make sure .venv exists and holds requirements-dev.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON_BIN="${PYTHON_BIN:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))'; then
  echo "Python 3.11 or newer is needed (found $("$PYTHON_BIN" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv ..."
  "$PYTHON_BIN" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ]; then
  echo "Installing requirements into .venv ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var/staticfiles
