#!/usr/bin/env bash
# The whole fast test tier: formatting, lints, dependency policy, and every test.
# This is what CI runs (.ci/run); the minutes-long tier is .ci/heavy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
test -d ../shared/wazuh || { echo "../shared (Wazuh's ruleset and docs) must sit beside the repository" >&2; exit 1; }

command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny@0.20.2

# A clean checkout builds once: incremental state would only take disk and time.
[ -n "${CI:-}" ] && export CARGO_INCREMENTAL=0
# The NATS server the cluster tests start (scripts/deps.sh installs it).
export NATS_SERVER="${NATS_SERVER:-$(go env GOPATH)/bin/nats-server}"

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo deny --locked check bans licenses sources
# The real OpenSearch node tests/indexer.rs starts (built from Maven Central once, cached).
bash tests/opensearch/opensearch.sh build
cargo test --locked
# Wazuh's own way of running the ruleset tests, through the real command line: one
# `vigil logtest -U` process per ini case, with and without a server (release binary).
df -h . | tail -n 1
cargo build --locked --release
python3 tests/logtest_runtests.py --binary target/release/vigil --local 20
# Enrollment over real TLS with Python's ssl module and openssl s_client.
python3 tests/enroll_tls.py --binary target/release/vigil
# The API against Wazuh's own spec (schemathesis, a few examples per operation here; more in
# .ci/heavy).
python3 -m pip install --quiet --disable-pip-version-check schemathesis==4.32.5 pyyaml 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages schemathesis==4.32.5 pyyaml
python3 tests/api_conformance.py --binary target/release/vigil --examples 5
