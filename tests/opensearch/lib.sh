# Shell helpers shared by opensearch.sh and nginx.sh (sourced; SCRIPT names the caller,
# USAGE_LINES is the last line of its header comment).

usage() {
    sed -n "2,${USAGE_LINES}p" "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

die() {
    echo "$SCRIPT: $*" >&2
    exit 1
}

# A free TCP port on 127.0.0.1.
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
        return
    fi
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        if ! port_in_use "$p"; then
            echo "$p"
            return
        fi
    done
    die "could not find a free port"
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# alive and not a zombie (a process started by the script is its child until the script exits)
alive() {
    local st
    st="$(ps -o stat= -p "$1" 2>/dev/null || true)"
    [[ -n "$st" && "$st" != Z* ]]
}

# running_pid DIR PATTERN: the pid in DIR/pid if that process is alive and its command line
# holds PATTERN (so a reused pid is not taken for ours), or nothing
running_pid() {
    local dir="$1" pattern="$2" pid
    [[ -f "$dir/pid" ]] || return 1
    pid="$(cat "$dir/pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$pattern" || return 1
    echo "$pid"
}

# dispatch COMMAND ARGS…: runs cmd_COMMAND with the rest, or prints the usage.
dispatch() {
    local command="${1:-}"
    [[ -n "$command" ]] && declare -F "cmd_$command" >/dev/null || usage
    shift
    "cmd_$command" "$@"
}
