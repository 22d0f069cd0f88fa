#!/usr/bin/env bash
# Instructions per record for each bench_filter scenario, from callgrind:
# (instructions at 2N records - instructions at N) / (REPS+1) / N.
#   tests/bench/filter_instructions.sh path/to/bench_filter
set -euo pipefail
bin=${1:?usage: filter_instructions.sh path/to/bench_filter}
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --only "$1" \
        --scale "$2" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for s in record_plain record_redact5_nomatch record_redact5_onematch \
         record_sampling_kept record_sampled_away; do
    a=$(count "$s" 0.01)   # 2,000 records a round
    b=$(count "$s" 0.02)   # 4,000
    # 10 rounds (warm-up + 9) of 2,000 extra records
    echo "{\"bench\":\"$s\",\"instructions_per_record\":$(( (b - a) / 20000 ))}"
done
