#!/usr/bin/env bash
# Fresh Debian 12 → vigil serving on its embedded defaults in ./vigil-home.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --locked
home="${VIGIL_HOME:-$PWD/vigil-home}"
echo "Starting vigil on $home (Ctrl-C to stop; logs in $home/logs/ossec.log)"
exec ./target/release/vigil serve --home "$home"
