#!/bin/sh
# make fuzz-long FUZZ_SECONDS=N [FUZZERS="fuzz_a fuzz_b"]: every harness
# in turn (one at a time: the machine has two cores) for N seconds under
# ASan/UBSan, its corpus kept in $BUILD/fuzz/corpus-NAME between runs.
# Inputs that add coverage over regress/fuzz/seeds/NAME are then merged
# into it (libFuzzer -merge=1 keeps only those), ready to commit.  A
# crash stops the run and leaves the reproducer in $BUILD/fuzz/.
# Prints one line per harness: executions, coverage, features, seeds.
cd "$(dirname "$0")/../.." || exit 1
: "${BUILD:=build}" "${FUZZ_SECONDS:=600}"
: "${FUZZERS:=$(cd "$BUILD/fuzz" && ls fuzz_* 2>/dev/null | grep -v '\.')}"
[ -n "$FUZZERS" ] || { echo "fuzz-long: no harnesses in $BUILD/fuzz"; exit 1; }
status=0
printf '%-14s %12s %8s %8s %7s %7s\n' harness execs cov ft seeds +added
for n in $FUZZERS; do
	f=$BUILD/fuzz/$n
	corpus=$BUILD/fuzz/corpus-$n
	seeds=regress/fuzz/seeds/$n
	log=$BUILD/fuzz/$n.long.log
	mkdir -p "$corpus" "$seeds"
	if ! "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
	    -artifact_prefix="$BUILD/fuzz/$n-" -timeout=10 -rss_limit_mb=2048 \
	    -error_exitcode=1 -timeout_exitcode=1 \
	    "$corpus" "$seeds" >"$log" 2>&1; then
		echo "fuzz-long: $n FAILED, see $log and $BUILD/fuzz/$n-*"
		status=1
		continue
	fi
	before=$(ls "$seeds" | wc -l)
	"$f" -merge=1 "$seeds" "$corpus" >"$log.merge" 2>&1 ||
	    echo "fuzz-long: $n: merge failed, see $log.merge"
	after=$(ls "$seeds" | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	printf '%-14s %12s %8s %8s %7s %7s\n' "$n" "${execs:-?}" "${cov:-?}" \
	    "${ft:-?}" "$after" "$((after - before))"
done
exit $status
