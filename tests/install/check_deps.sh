#!/usr/bin/env bash
# What the library links is what the build options say, and the installed
# descriptions (spanlog.pc, spanlogConfig.cmake, spanlog/features.h) say
# exactly that: with -DSPANLOG_WITH_LOKI=OFF and -DSPANLOG_WITH_OTLP=OFF no
# libcurl or zlib, with -DSPANLOG_WITH_SYSLOG_TLS=OFF no OpenSSL, neither
# directly (readelf) nor through another library (ldd).
# Usage: check_deps.sh BUILD_DIR WITH_LOKI(0|1) WITH_SYSLOG_TLS(0|1) WITH_OTLP(0|1)
set -euo pipefail
build=${1:?build dir} loki=${2:?} tls=${3:?} otlp=${4:?}
http=0 # libcurl and zlib: for Loki or OTLP
{ [ "$loki" = 1 ] || [ "$otlp" = 1 ]; } && http=1
lib=$build/libspanlog.so
fail=0
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
resolved=$(ldd "$lib" "$build/spanlog-pipe" | awk '{print $1}')
expect() { # expect NAME-REGEX WANTED(0|1) WHAT
    local re=$1 want=$2 what=$3 have=0
    if grep -Eq "$re" <<<"$needed"; then have=1; fi
    if [ "$have" != "$want" ]; then
        echo "libspanlog.so: $what: NEEDED is $have, the build options say $want" >&2
        fail=1
    fi
    if [ "$want" = 0 ] && grep -Eq "$re" <<<"$resolved"; then
        echo "libspanlog.so or spanlog-pipe loads $what through another library" >&2
        fail=1
    fi
}
expect '^libcurl' "$http" libcurl
expect '^libz\.' "$http" zlib
expect '^libssl' "$tls" libssl
expect '^libcrypto' "$tls" libcrypto
expect '^libjansson' 1 jansson

want_pc="jansson"
[ "$http" = 1 ] && want_pc="$want_pc libcurl zlib"
[ "$tls" = 1 ] && want_pc="$want_pc libssl libcrypto"
sorted() { tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'; }
want_pc=$(sorted <<<"$want_pc")
have_pc=$(sed -n 's/^Requires.private: //p' "$build/spanlog.pc" | sorted)
if [ "$have_pc" != "$want_pc" ]; then
    echo "spanlog.pc Requires.private: \"$have_pc\", expected \"$want_pc\"" >&2
    fail=1
fi

want_cfg="Threads"
[ "$http" = 1 ] && want_cfg="$want_cfg CURL ZLIB"
[ "$tls" = 1 ] && want_cfg="$want_cfg OpenSSL"
want_cfg="$want_cfg PkgConfig"
want_cfg=$(sorted <<<"$want_cfg")
have_cfg=$(sed -n 's/^find_dependency(\([A-Za-z]*\)).*/\1/p' "$build/spanlogConfig.cmake" | tr '\n' ' ' | sorted)
if [ "$have_cfg" != "$want_cfg" ]; then
    echo "spanlogConfig.cmake find_dependency: \"$have_cfg\", expected \"$want_cfg\"" >&2
    fail=1
fi

for f in "LOKI $loki" "SYSLOG_TLS $tls" "OTLP $otlp" "GZIP $http"; do
    set -- $f
    if ! grep -Eq "^#define SPANLOG_WITH_$1 +$2\$" "$build/include/spanlog/features.h"; then
        echo "features.h: SPANLOG_WITH_$1 is not $2" >&2
        fail=1
    fi
done
[ "$fail" = 0 ] && echo "deps: loki=$loki syslog_tls=$tls otlp=$otlp: NEEDED, ldd, spanlog.pc, spanlogConfig.cmake and features.h agree"
exit "$fail"
