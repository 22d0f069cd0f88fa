#!/usr/bin/env bash
# Installs what spanlog needs to build, test and benchmark on Debian 12.
# Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

# Another apt or dpkg (unattended-upgrades on a fresh machine) may hold the
# dpkg lock: wait for it, up to DEPS_LOCK_TIMEOUT seconds (default 300),
# rather than failing at once; apt-get's own lock timeout covers the window
# between our check and its start. `deps.sh --wait-lock` only waits (tests:
# DEPS_LOCK_FILES replaces the dpkg lock files).
lock_timeout=${DEPS_LOCK_TIMEOUT:-300}
read -r -a locks <<<"${DEPS_LOCK_FILES:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
wait_for_dpkg() {
    local waited=0
    while command -v fuser >/dev/null && $SUDO fuser "${locks[@]}" >/dev/null 2>&1; do
        if [ "$waited" -ge "$lock_timeout" ]; then
            echo "deps: the dpkg lock is still held after ${lock_timeout}s; giving up" >&2
            exit 1
        fi
        [ "$waited" -eq 0 ] && echo "deps: waiting for another apt/dpkg to finish" >&2
        sleep 1
        waited=$((waited + 1))
    done
}
if [ "${1:-}" = "--wait-lock" ]; then
    wait_for_dpkg
    exit 0
fi

pkgs=(
    build-essential cmake pkg-config git ca-certificates
    libjansson-dev libcmocka-dev libcurl4-openssl-dev zlib1g-dev
    libmicrohttpd-dev libssl-dev rsyslog rsyslog-openssl openssl python3 curl
    clang clang-format libclang-rt-14-dev g++ psmisc
    # messaging/: libspanlog-nats and libspanlog-kafka, and their brokers for the tests
    nats-server libnats-dev librdkafka-dev
    # the OTLP tests decode with protoc-generated classes (tests/integration/otlp)
    python3-protobuf protobuf-compiler
)
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(libspdlog-dev gnuplot-nox valgrind golang-go golang-github-rs-zerolog-dev)
    # Node.js for the pino peers: keep whatever node/npm the machine has (a
    # NodeSource nodejs bundles npm, and Debian's npm package conflicts with it).
    command -v node >/dev/null || pkgs+=(nodejs)
    command -v npm >/dev/null || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o "DPkg::Lock::Timeout=$lock_timeout")
wait_for_dpkg
$SUDO apt-get "${apt_opts[@]}" update -qq
wait_for_dpkg
$SUDO apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
