#!/usr/bin/env bash
# Real single-node OpenSearch 2.19.6 for integration tests, built from Maven
# Central artifacts (no distribution tarball needed). See README.md.
#
#   opensearch.sh build               build the launcher (fast when up to date)
#   opensearch.sh start DIR [PORT]    start in the background, data under DIR;
#                                     prints the HTTP port (also in DIR/port)
#   opensearch.sh stop DIR            stop it (SIGTERM, then SIGKILL); idempotent
#
# Environment: JAVA (default: java), OPENSEARCH_HEAP (default: 512m),
# OPENSEARCH_START_TIMEOUT seconds (default: 120), OPENSEARCH_CDS=0 to not
# make/use the class-data-sharing archive (it cuts startup by ~40%).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT=opensearch.sh
USAGE_LINES=11
# shellcheck source=lib.sh
. "$HERE/lib.sh"
JAVA="${JAVA:-java}"
HEAP="${OPENSEARCH_HEAP:-512m}"
START_TIMEOUT="${OPENSEARCH_START_TIMEOUT:-120}"
MAIN_CLASS="vigil.opensearch.Launcher"
JAR="$HERE/target/opensearch-launcher.jar"
# only jars on the class path: CDS refuses directories
CLASSPATH_ARG="$JAR:$HERE/target/lib/*"
JSA="$HERE/target/opensearch.jsa"
USE_CDS="${OPENSEARCH_CDS:-1}"


jar_built() {
    [[ -f "$JAR" && -f "$HERE/target/lib/.complete" ]] || return 1
    [[ "$JAR" -nt "$HERE/pom.xml" ]] || return 1
    local src
    while IFS= read -r src; do
        [[ "$JAR" -nt "$src" ]] || return 1
    done < <(find "$HERE/src" -name '*.java')
    return 0
}

cds_done() {
    [[ "$USE_CDS" == 0 || -f "$JSA" || -f "$JSA.failed" ]]
}

is_built() {
    jar_built && cds_done
}

cmd_build() {
    is_built && return 0
    mkdir -p "$HERE/target"
    # Several tests may ask for a build at once: one build at a time.
    exec 9>"$HERE/target/.build.lock"
    flock 9
    if ! jar_built; then
        command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
        rm -f "$HERE/target/lib/.complete" "$JSA" "$JSA.failed"
        local log="$HERE/target/build.log"
        if ! mvn -q -B -f "$HERE/pom.xml" package >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            die "maven build failed (full log: $log)"
        fi
        touch "$HERE/target/lib/.complete"
    fi
    cds_done || make_cds
    flock -u 9
    exec 9>&-
}

# One training start+stop that records the loaded classes into a dynamic CDS
# archive (-XX:ArchiveClassesAtExit). Optional: on failure starts just go
# without it (a stale or foreign archive is ignored by the JVM with a warning).
make_cds() {
    local tmp port pid ok=0
    tmp="$(mktemp -d)"
    port="$(free_port)"
    rm -f "$JSA.tmp"
    "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:ArchiveClassesAtExit="$JSA.tmp" \
        -Djava.io.tmpdir="$tmp" -cp "$CLASSPATH_ARG" "$MAIN_CLASS" "$tmp/node" "$port" \
        </dev/null >"$HERE/target/cds.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 240); do
        alive "$pid" || break
        if curl -fsS --max-time 2 "http://127.0.0.1:$port/_cluster/health" 2>/dev/null |
            grep -q '"cluster_name":"vigil-test"'; then
            ok=1
            break
        fi
        sleep 0.5
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$tmp"
    if [[ "$ok" == 1 && -s "$JSA.tmp" ]]; then
        mv -f "$JSA.tmp" "$JSA"
    else
        rm -f "$JSA.tmp"
        touch "$JSA.failed"
        echo "opensearch.sh: could not make the CDS archive (see $HERE/target/cds.log); going on without" >&2
    fi
}





show_logs() {
    local dir="$1"
    {
        echo "---- $dir/opensearch.out (tail) ----"
        tail -n 40 "$dir/opensearch.out" 2>/dev/null || true
        echo "---- $dir/logs/vigil-test.log (tail) ----"
        tail -n 40 "$dir/logs/vigil-test.log" 2>/dev/null || true
    } >&2
}

cmd_start() {
    [[ $# -ge 1 && $# -le 2 ]] || usage
    local dir="$1" port="${2:-}" pid
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"

    if pid="$(running_pid "$dir" "$MAIN_CLASS")"; then
        local old
        old="$(cat "$dir/port" 2>/dev/null || true)"
        if [[ -z "$port" || "$port" == "$old" ]]; then
            echo "$old"
            return 0
        fi
        die "already running in $dir (pid $pid) on port $old, not $port"
    fi

    cmd_build

    if [[ -z "$port" ]]; then
        port="$(free_port)"
    elif port_in_use "$port"; then
        die "port $port on 127.0.0.1 is already in use"
    fi
    [[ "$port" =~ ^[0-9]+$ ]] || die "bad port: $port"
    echo "$port" >"$dir/port"

    local t0 now
    t0=$(date +%s)
    mkdir -p "$dir/tmp"
    # stdin/stdout/stderr away from the caller, so `PORT=$(opensearch.sh start ...)` returns
    local cds=()
    [[ "$USE_CDS" != 0 && -f "$JSA" ]] && cds=(-XX:SharedArchiveFile="$JSA")
    "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" "${cds[@]}" \
        -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
        -Djava.locale.providers=SPI,COMPAT \
        -Djava.io.tmpdir="$dir/tmp" \
        -cp "$CLASSPATH_ARG" \
        "$MAIN_CLASS" "$dir" "$port" \
        </dev/null >"$dir/opensearch.out" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"

    local url="http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=2s"
    while :; do
        if ! alive "$pid"; then
            show_logs "$dir"
            rm -f "$dir/pid"
            die "OpenSearch exited during startup"
        fi
        if curl -fsS --max-time 5 "$url" 2>/dev/null | grep -q '"cluster_name":"vigil-test"'; then
            break
        fi
        now=$(date +%s)
        if ((now - t0 >= START_TIMEOUT)); then
            show_logs "$dir"
            cmd_stop "$dir" >/dev/null 2>&1 || true
            die "OpenSearch did not become ready within ${START_TIMEOUT}s"
        fi
        sleep 0.5
    done
    echo "$port"
}

cmd_stop() {
    [[ $# -eq 1 ]] || usage
    local dir="$1" pid
    if pid="$(running_pid "$dir" "$MAIN_CLASS")"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 120); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "opensearch.sh: pid $pid did not stop in 30s, killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
        fi
    fi
    rm -f "$dir/pid"
}

dispatch "$@"
