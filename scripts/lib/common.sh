# Shared by scripts/*: package installation and a private PostgreSQL cluster.
# Sourced, not run. Everything here is idempotent.

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

log() { printf '%s\n' "timbre: $*" >&2; }

APT_PACKAGES=(pkg-config libpq-dev libssl-dev postgresql libsndfile1-dev libfftw3-dev libopenblas-dev libsoxr-dev libpng-dev python3-pip)

# Installs the Debian packages Timbre builds and tests with, when any is missing.
install_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pg_bindir [DATADIR]: the server binaries of the cluster's own major version, else the newest.
pg_bindir() {
    local d
    if [ -n "${1:-}" ] && [ -f "$1/PG_VERSION" ] && [ -d "/usr/lib/postgresql/$(cat "$1/PG_VERSION")/bin" ]; then
        echo "/usr/lib/postgresql/$(cat "$1/PG_VERSION")/bin"
        return 0
    fi
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || { log "PostgreSQL server binaries not found (is the postgresql package installed?)"; return 1; }
    echo "$d"
}

# Runs a PostgreSQL server program; as root it runs as the postgres user, since PostgreSQL refuses root.
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DATADIR SOCKETDIR LOGFILE: creates the cluster if needed (trust auth, superuser
# "timbre", listening only on a Unix socket in SOCKETDIR) and starts it unless it runs.
pg_start() {
    local data=$1 sock=$2 logfile=$3 bin
    bin=$(pg_bindir "$data") || return 1
    mkdir -p "$data" "$sock"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data" "$sock"; touch "$logfile"; chown postgres: "$logfile"; fi
    chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
        pg_as_owner "$bin/initdb" -D "$data" -U timbre --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null \
            || { log "initdb failed for $data"; return 1; }
    fi
    if pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then return 0; fi
    pg_as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$sock' -c fsync=off -c full_page_writes=off" start >/dev/null \
        || { log "PostgreSQL did not start; its log is $logfile:"; tail -n 20 "$logfile" >&2; return 1; }
}

# pg_start_replica PRIMARY_SOCKETDIR DATADIR SOCKETDIR LOGFILE: a streaming hot-standby replica of
# the cluster listening in PRIMARY_SOCKETDIR (pg_basebackup -R over its Unix socket, as its
# superuser "timbre"; initdb's trust setup already allows local replication), listening only on
# a Unix socket in SOCKETDIR. Started unless it runs; an existing DATADIR is reused.
pg_start_replica() {
    local primary=$1 data=$2 sock=$3 logfile=$4 bin
    bin=$(pg_bindir "$data") || return 1
    mkdir -p "$data" "$sock"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data" "$sock"; touch "$logfile"; chown postgres: "$logfile"; fi
    chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
        pg_as_owner "$bin/pg_basebackup" -h "$primary" -U timbre -D "$data" -R -X stream -c fast >/dev/null \
            || { log "pg_basebackup from $primary failed"; return 1; }
    fi
    if pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then return 0; fi
    pg_as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$sock' -c fsync=off -c hot_standby=on" start >/dev/null \
        || { log "the replica did not start; its log is $logfile:"; tail -n 20 "$logfile" >&2; return 1; }
}

pg_stop() {
    local data=$1 bin
    bin=$(pg_bindir "$data") || return 0
    [ -f "$data/PG_VERSION" ] || return 0
    pg_as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# download_wheel SPEC DIR [SHA256]: `pip download`s one pure wheel (no dependencies) from PyPI into
# DIR and prints its path; with SHA256 the wheel must have exactly that checksum.
download_wheel() {
    local spec=$1 dir=$2 want=${3:-} wheel got
    python3 -m pip download --quiet --no-deps --only-binary=:all: "$spec" -d "$dir" >&2
    wheel=$(ls "$dir"/"${spec%%==*}"-"${spec##*==}"-*.whl 2>/dev/null | head -n 1)
    [ -n "$wheel" ] || { log "pip download $spec left no wheel in $dir"; return 1; }
    if [ -n "$want" ]; then
        got=$(sha256sum "$wheel" | cut -d' ' -f1)
        [ "$got" = "$want" ] || { log "$wheel: SHA-256 $got, expected $want"; return 1; }
    fi
    echo "$wheel"
}
