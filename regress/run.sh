#!/bin/sh
# The test runner: unit tests, fuzz smoke runs, scenario tests.  Each
# test's output goes to a log; a failure keeps it and says where.  The
# last line is "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
: "${BUILD:=build}"
export BUILD
LOGROOT=$PWD/$BUILD/regress-logs
rm -rf "$LOGROOT"
mkdir -p "$LOGROOT"
pass=0
failn=0
failed_list=""

run_one() {
	name=$1; shift
	log=$LOGROOT/$name.log
	mkdir -p "$LOGROOT/$name"
	start=$(date +%s)
	if LOGDIR=$LOGROOT/$name timeout "${TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf 'ok   %-28s %3ss\n' "$name" $(( $(date +%s) - start ))
		rm -rf "$LOGROOT/$name"
	else
		failn=$((failn + 1))
		failed_list="$failed_list $name"
		printf 'FAIL %-28s %3ss  (logs: %s, %s/)\n' "$name" \
		    $(( $(date +%s) - start )) "$log" "$LOGROOT/$name"
		tail -n 15 "$log" | sed 's/^/     | /'
	fi
}

for t in "$BUILD"/unittests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done

if [ -n "$FUZZ_CC" ]; then
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		n=$(basename "$f")
		mkdir -p "$BUILD/fuzz/corpus-$n"
		run_one "fuzz/$n" "$f" -max_total_time="${FUZZ_SECONDS:-10}" \
		    -print_final_stats=1 "$BUILD/fuzz/corpus-$n" \
		    "regress/fuzz/seeds/$n"
	done
else
	echo "skip fuzz smoke: clang with libFuzzer not found"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "skip scenario tests: they need root"
else
	for t in regress/*.sh; do
		case "$t" in regress/lib.sh|regress/run.sh) continue ;; esac
		run_one "$(basename "$t" .sh)" sh "$t"
	done
fi

[ -n "$failed_list" ] && echo "failed:$failed_list"
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
