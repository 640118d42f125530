#!/usr/bin/env bash
# tests/pg/server.sh: a throwaway PostgreSQL server for the gridsync test suite.
#   bash tests/pg/server.sh start DIR    # new cluster in DIR; prints its URL on stdout
#   bash tests/pg/server.sh restart DIR  # fast restart, same port and socket; prints the URL
#   bash tests/pg/server.sh stop DIR     # fast stop; fine if it is not running
# The server listens only on the Unix socket directory DIR/sock. Diagnostics go to stderr.
set -euo pipefail

PG_OS_USER=gridsync-pg # the system user the server runs as when we are root

log() { echo "server.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 2 ] || die "usage: $0 start|stop|restart DIR"
cmd=$1
case $cmd in
start) mkdir -p "$2" ;;
stop) [ -d "$2/data" ] || { log "no cluster in $2; nothing to stop"; exit 0; } ;;
restart) [ -d "$2/data" ] || die "no cluster in $2 (run start first)" ;;
*) die "unknown command '$cmd' (start, stop or restart)" ;;
esac
DIR=$(cd "$2" && pwd -P) # absolute: it goes into the socket path and the URL
cd /                     # no server process keeps a cwd its user may not be able to read

# as_pg CMD...: runs CMD as the server's user (PostgreSQL refuses to run as root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

# find_bindir: prints the directory holding initdb, pg_ctl and friends: initdb from PATH
# (symlinks resolved), else the newest /usr/lib/postgresql/VERSION/bin.
find_bindir() {
    local c dirs
    if c=$(command -v initdb); then dirname "$(readlink -f "$c")"; return 0; fi
    mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
    for c in "${dirs[@]}"; do
        [ -x "$c/initdb" ] && { echo "$c"; return 0; }
    done
    return 1
}

# install_pg: installs Debian's postgresql package (apt-get update only if needed).
install_pg() {
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
    local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends postgresql)
    log "no initdb found; installing Debian's postgresql package"
    if ! "${install[@]}" >&2; then
        log "install failed; running apt-get update and trying again"
        "${sudo[@]}" apt-get update >&2
        "${install[@]}" >&2
    fi
}

# port_in_use PORT: true when something listens on TCP PORT (ss, else a python3 bind).
port_in_use() {
    if command -v ss >/dev/null; then
        [ -n "$(ss -Hltn "sport = :$1")" ]
    elif command -v python3 >/dev/null; then
        if python3 -c 'import socket, sys; socket.socket().bind(("", int(sys.argv[1])))' \
            "$1" 2>/dev/null; then return 1; fi
    else
        return 1
    fi
}

# pick_port: prints a random free port in 20000-40000 (it names the socket file).
pick_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 20001))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free port found in 20000-40000"
}

# fail_with_log MSG: prints MSG and the server log, then exits non-zero.
fail_with_log() {
    log "$1; server log $DIR/log follows:"
    cat "$DIR/log" >&2 2>/dev/null || true
    exit 1
}

# wait_ready: waits up to 30 s for pg_isready to report the server up.
wait_ready() {
    for _ in $(seq 60); do
        "$BIN/pg_isready" -q -h "$DIR/sock" -p "$PORT" -U gridsync -d postgres && return 0
        sleep 0.5
    done
    fail_with_log "PostgreSQL not ready after 30 s"
}

url() { echo "postgres://gridsync@/gridsync?host=$DIR/sock&port=$PORT"; }

# stop and restart reuse what start recorded in DIR.
if [ "$cmd" != start ]; then
    BIN=$(cat "$DIR/bindir")
    PORT=$(cat "$DIR/port")
    if [ "$cmd" = stop ]; then
        if ! as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
            log "not running"; exit 0
        fi
        as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2
        exit 0
    fi
    # -l keeps the new server's output in the log and off the caller's stdout/stderr.
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -m fast -w -t 30 restart >&2 ||
        fail_with_log "pg_ctl restart failed"
    wait_ready
    url
    exit 0
fi

# start: find (or install) PostgreSQL.
[ ! -e "$DIR/data" ] || die "$DIR/data already exists (stop it and remove $DIR first)"
BIN=$(find_bindir) || { install_pg; BIN=$(find_bindir) || die "no initdb after installing"; }
log "using $("$BIN/initdb" --version) from $BIN"

# start: when root, a system user owns DIR and runs the server; DIR and the socket dir
# stay world-readable so root (and other) test processes can reach the socket.
mkdir -p "$DIR/sock"
chmod 755 "$DIR" "$DIR/sock"
if [ "$(id -u)" -eq 0 ]; then
    id -u "$PG_OS_USER" >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$PG_OS_USER"
    chown -R "$PG_OS_USER:" "$DIR"
    as_pg test -w "$DIR" || die "$PG_OS_USER cannot write $DIR (is a parent dir closed?)"
fi

# start: a free port; the socket path must fit in sun_path (107 bytes).
PORT=$(pick_port)
sockfile="$DIR/sock/.s.PGSQL.$PORT"
[ ${#sockfile} -le 107 ] || die "socket path $sockfile is too long; use a shorter DIR"
echo "$BIN" >"$DIR/bindir"
echo "$PORT" >"$DIR/port"

# start: the cluster (trust auth, UTF8, locale C, superuser gridsync) and its settings.
as_pg "$BIN/initdb" -D "$DIR/data" -A trust -E UTF8 --locale=C -U gridsync >&2
cat >>"$DIR/data/postgresql.conf" <<EOF

# gridsync test server (tests/pg/server.sh): Unix socket only, fsync left on.
listen_addresses = ''
port = $PORT
unix_socket_directories = '$DIR/sock'
unix_socket_permissions = 0777
max_connections = 200
shared_buffers = 128MB
fsync = on
EOF

# start: run it, wait for it, create the database and print the URL.
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 30 start >&2 ||
    fail_with_log "pg_ctl start failed"
wait_ready
"$BIN/createdb" -h "$DIR/sock" -p "$PORT" -U gridsync gridsync >&2
url
