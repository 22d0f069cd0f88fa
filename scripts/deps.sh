#!/usr/bin/env bash
# Installs what spanlog needs to build, test and benchmark on Debian 12.
# Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config git ca-certificates
    libjansson-dev libcmocka-dev libcurl4-openssl-dev zlib1g-dev
    libmicrohttpd-dev libssl-dev rsyslog rsyslog-openssl openssl python3 curl
    clang clang-format libclang-rt-14-dev
    # messaging/: libspanlog-nats and libspanlog-kafka, and their brokers for the tests
    nats-server libnats-dev librdkafka-dev
)
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(libspdlog-dev g++ gnuplot-nox valgrind golang-go golang-github-rs-zerolog-dev)
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
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
