# Sourced by the recorders that build network namespaces of their own
# (fragments.sh, lossy.sh, fastopen.sh): their checks, the processes and
# namespaces they start (PIDS, NAMESPACES), removed by ns_cleanup on exit,
# and the Python websockets server each one records.

PIDS=()
NAMESPACES=()

# ns_require SCRIPT PACKAGE:COMMAND...: root, each COMMAND (its Debian
# PACKAGE installed when missing), and Python websockets.
ns_require() {
    local script=$1 need=() spec
    shift
    if [ "$(id -u)" -ne 0 ]; then
        echo "$script: run as root (network namespaces and tcpdump need it)" >&2
        exit 1
    fi
    for spec in "$@"; do
        command -v "${spec#*:}" >/dev/null || need+=("${spec%%:*}")
    done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
    python3 -c 'import websockets' 2>/dev/null || python3 -m pip install -q -r "$HERE/requirements.txt"
}

ns_cleanup() {
    local pid ns
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

at_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

# ns_spawn NS COMMAND...: COMMAND in the background in NS, its output
# discarded, its PID (the command's own: `ip netns exec` replaces itself
# with it) kept for ns_cleanup. Through a function, `at_ns ... &` would
# keep only the PID of a subshell, and the command would outlive the kill.
ns_spawn() {
    local ns="$1"
    shift
    ip netns exec "$ns" "$@" >/dev/null 2>&1 &
    PIDS+=($!)
}

# ns_websockets_server SERVER_NS CLIENT_NS IP PORT: server_websockets.py
# listening on IP:PORT in SERVER_NS, once CLIENT_NS can connect to it.
ns_websockets_server() {
    local server_ns=$1 client_ns=$2 ip=$3 port=$4
    ns_spawn "$server_ns" python3 "$HERE/server_websockets.py" "$port" "$ip"
    for _ in $(seq 1 50); do
        at_ns "$client_ns" python3 -c "import socket; socket.create_connection(('$ip', $port), 0.2).close()" \
            2>/dev/null && break
        sleep 0.1
    done
}
