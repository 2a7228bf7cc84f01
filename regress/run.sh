#!/bin/sh
# The test runner: unit tests, fuzz smoke runs, scenario tests.  Each
# test's output goes to a log; a failure keeps it and says where.  A
# test that could not run (exit 77: no clang, not root, a peer program
# missing) is counted as skipped, never as passed.  The last line is
# "N passed, N failed, N skipped"; with OSTP_CI=1 (.ci/run) a skipped
# test fails the run, since make deps installs everything there.
cd "$(dirname "$0")/.." || exit 1
: "${BUILD:=build}"
export BUILD
LOGROOT=$PWD/$BUILD/regress-logs
rm -rf "$LOGROOT"
mkdir -p "$LOGROOT"
pass=0
failn=0
skipn=0
failed_list=""
skipped_list=""

run_one() {
	name=$1; shift
	log=$LOGROOT/$name.log
	mkdir -p "$LOGROOT/$name"
	start=$(date +%s)
	LOGDIR=$LOGROOT/$name timeout "${TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'ok   %-28s %3ss\n' "$name" $(( $(date +%s) - start ))
		rm -rf "$LOGROOT/$name"
	elif [ "$rc" -eq 77 ]; then
		skipn=$((skipn + 1))
		skipped_list="$skipped_list $name"
		printf 'SKIP %-28s %3ss  %s\n' "$name" \
		    $(( $(date +%s) - start )) \
		    "$(grep -h '^SKIP' "$log" | head -n 3 | tr '\n' ' ')"
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
	skipn=$((skipn + 1))
	skipped_list="$skipped_list fuzz"
	echo "SKIP fuzz smoke: clang with libFuzzer not found"
fi

for t in regress/*.sh; do
	case "$t" in regress/lib.sh|regress/run.sh) continue ;; esac
	if [ "$(id -u)" -ne 0 ]; then
		skipn=$((skipn + 1))
		skipped_list="$skipped_list $(basename "$t" .sh)"
		printf 'SKIP %-28s       scenario tests need root\n' \
		    "$(basename "$t" .sh)"
		continue
	fi
	run_one "$(basename "$t" .sh)" sh "$t"
done

[ -n "$failed_list" ] && echo "failed:$failed_list"
[ -n "$skipped_list" ] && echo "skipped:$skipped_list"
echo "$pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ] || exit 1
if [ "$skipn" -ne 0 ] && [ -n "$OSTP_CI" ]; then
	echo "run.sh: OSTP_CI is set and $skipn test(s) were skipped"
	exit 1
fi
exit 0
