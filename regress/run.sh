#!/bin/sh
# The test runner: unit tests, fuzz smoke runs, scenario tests.  Each
# test's output goes to a log; a failure keeps it and says where.  A
# test that could not run (exit 77: no clang, not root, a peer program
# missing) is counted as skipped, never as passed.  The last line is
# "N passed, N failed, N skipped"; with OSTP_CI=1 (.ci/run) a skipped
# test fails the run, since make deps installs everything there.
# With arguments (sh regress/run.sh proxy chain) only those scenario
# tests run, under the same checks.
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

# Reports a sanitizer prints, in any process: the daemon's workers,
# peers, unit tests.
SAN_RE='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer'
SAN_RE="$SAN_RE|ThreadSanitizer|MemorySanitizer|runtime error:"
# A worker that died while its generation served (the monitor logs the
# restart, or gives up during start-up), or crashed at any time; workers
# ended by a drain or a shutdown are logged without "restarting".
DEATH_RE='worker [0-9]+ .*; restarting in [0-9]+ ms'
DEATH_RE="$DEATH_RE|worker [0-9]+ .* during start-up; exiting"
DEATH_RE="$DEATH_RE|worker [0-9]+ .*killed by SIGSYS"
DEATH_RE="$DEATH_RE|worker [0-9]+ .*killed by signal (4|6|7|8|11)\\b"

# post_check NAME LOG SCRIPT: what a test cannot hide from the runner,
# however it ended (fatal, a timeout, a log file outside the lib.sh
# names): the test's output and every file under its LOGDIR are read,
# except reports a test provokes on purpose (NAME.expected-report,
# sanitizer.sh).  Prints the reason and returns 1 when the test must
# fail.
post_check() {
	_files=$(grep -rlaE --exclude='*.expected-report' "$SAN_RE" "$2" \
	    "$LOGROOT/$1" 2>/dev/null)
	if [ -n "$_files" ]; then
		echo "sanitizer report in: $(echo "$_files" | tr '\n' ' ')"
		grep -haE -m 3 "$SAN_RE" $_files | sed 's/^/    /'
		return 1
	fi
	[ -n "$3" ] || return 0
	# A test that kills or crashes workers on purpose says so.
	grep -q '^ALLOW_RESPAWN=1' "$3" && return 0
	_files=$(grep -rlaE "$DEATH_RE" "$2" "$LOGROOT/$1" 2>/dev/null)
	if [ -n "$_files" ]; then
		echo "a worker died (no ALLOW_RESPAWN=1 in $3):" \
		    "$(echo "$_files" | tr '\n' ' ')"
		grep -haE -m 3 "$DEATH_RE" $_files | sed 's/^/    /'
		return 1
	fi
	return 0
}

# run_one NAME SCRIPT|"" COMMAND...: SCRIPT is the scenario script, ""
# for unit tests and fuzzers (no workers to watch).
run_one() {
	name=$1; script=$2; shift 2
	log=$LOGROOT/$name.log
	mkdir -p "$LOGROOT/$name"
	start=$(date +%s)
	LOGDIR=$LOGROOT/$name timeout "${TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1
	rc=$?
	# Also after a failure: the reason may be the real cause.
	if ! why=$(post_check "$name" "$log" "$script"); then
		echo "FAIL run.sh: $why" >>"$log"
		rc=1
	fi
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

ONLY=$*
for t in "$BUILD"/unittests/test_*; do
	[ -z "$ONLY" ] && [ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "" "$t"
done

if [ -n "$ONLY" ]; then
	:
elif [ -n "$FUZZ_CC" ]; then
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		n=$(basename "$f")
		mkdir -p "$BUILD/fuzz/corpus-$n"
		# libFuzzer's own error exit code is 77, our "skipped":
		# a finding must count as a failure.  Reproducers stay
		# in the test's log directory, out of the tree.
		run_one "fuzz/$n" "" "$f" -max_total_time="${FUZZ_SECONDS:-10}" \
		    -error_exitcode=1 -timeout_exitcode=1 \
		    -artifact_prefix="$LOGROOT/fuzz/$n/" \
		    -print_final_stats=1 "$BUILD/fuzz/corpus-$n" \
		    "regress/fuzz/seeds/$n"
	done
else
	skipn=$((skipn + 1))
	skipped_list="$skipped_list fuzz"
	echo "SKIP fuzz smoke: clang with libFuzzer not found"
fi

if [ -n "$ONLY" ]; then
	SCRIPTS=$(for n in $ONLY; do echo "regress/${n%.sh}.sh"; done)
else
	SCRIPTS=$(ls regress/*.sh)
fi
for t in $SCRIPTS; do
	case "$t" in regress/lib.sh|regress/run.sh) continue ;; esac
	[ -f "$t" ] || { echo "run.sh: no test $t"; exit 1; }
	if [ "$(id -u)" -ne 0 ]; then
		skipn=$((skipn + 1))
		skipped_list="$skipped_list $(basename "$t" .sh)"
		printf 'SKIP %-28s       scenario tests need root\n' \
		    "$(basename "$t" .sh)"
		continue
	fi
	run_one "$(basename "$t" .sh)" "$t" sh "$t"
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
