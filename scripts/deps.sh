#!/usr/bin/env bash
# Installs what building and testing vigil needs on Debian 12: system packages and, when no Rust
# toolchain is present, rustup with the pinned toolchain (rust-toolchain.toml). Idempotent.
set -euo pipefail

# nginx: the TLS + basic-auth proxy in front of the test OpenSearch node.
packages=(build-essential pkg-config libsqlite3-dev libpcre2-dev libvectorscan-dev ca-certificates curl procps util-linux openssl python3 python3-pip nginx nftables iproute2)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Java 17 and Maven build the test OpenSearch node (tests/opensearch); the machines have them.
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# rustup, even where a distribution cargo exists: rust-toolchain.toml pins a newer toolchain.
if ! command -v rustup >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/rustup" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
# The pinned toolchain and its components (a no-op when present).
rustup show active-toolchain >/dev/null

# The GeoLite2 City database the GeoIP tests read (MaxMind's site is unreachable; PyPI ships one).
python3 -c "import _maxminddb_geolite2" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check maxminddb-geolite2==2018.703 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages maxminddb-geolite2==2018.703

# The SMTP server (STARTTLS, AUTH) the e-mail test sends to.
python3 -c "import aiosmtpd" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages aiosmtpd==1.4.6

# nats-server with JetStream for the cluster tests. Debian's (2.9) is older than async-nats
# expects; Go (on the machines) builds the pinned release from the module proxy (~1 min).
NATS_SERVER_VERSION=v2.15.2
nats_server="$(go env GOPATH)/bin/nats-server"
"$nats_server" --version 2>/dev/null | grep -q "${NATS_SERVER_VERSION#v}" \
    || go install "github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}"
