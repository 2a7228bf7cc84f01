# Sanitizer builds (make check-asan): a memory error in a confined
# worker must reach the log as a whole report, not be cut short by the
# seccomp filter and pass unseen as a respawn.  Every build: the filter
# stays as strict as before, an ioctl other than FIONREAD and FIONBIO
# kills the worker.  Workers crash here on purpose.
ALLOW_RESPAWN=1
. regress/lib.sh
OSTPD=$OSTPD_T

E=$(free_port)
start_echo "$E"

if "$OSTPD" -V | grep -q 'fsanitize=address'; then
	SAN=1
else
	SAN=0
fi

# The filter names a forbidden ioctl (-DD) and the worker comes back.
# TCGETS, which the sanitizer runtimes ask, passes in their builds only.
for hook in ioctl tcgets; do
	L=$LOGDIR/sanitizer-$hook.log
	P=$(free_port)
	OSTP_TESTHOOK=$hook start_ostpd "sanitizer-$hook" -DD \
	    -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
	wait_port "$P" || { fail "$hook: no listener"; continue; }
	W1=$(worker_of "$OPID") || fatal "no worker"
	kill -USR2 "$W1"
	if [ "$hook" = tcgets ] && [ "$SAN" = 1 ]; then
		wait_log "$L" 'test hook "tcgets" triggered' 5 ||
			fail "tcgets: hook not run"
		$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null ||
			fail "tcgets: forwarding after the ioctl"
		grep -q 'forbidden system call' "$L" &&
			fail "tcgets: the sanitizer build's filter stopped TCGETS"
		[ "$(worker_of "$OPID")" = "$W1" ] ||
			fail "tcgets: the worker did not survive TCGETS"
		kill "$OPID"
		continue
	fi
	wait_log "$L" 'forbidden system call ioctl' 5 ||
		fail "$hook: an ioctl outside the allow-list was not stopped"
	wait_log "$L" 'restarting in' 5 || fail "$hook: no respawn"
	$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null ||
		fail "$hook: forwarding after the respawn"
	kill "$OPID"
done

if [ "$SAN" = 0 ]; then
	log "not a sanitizer build: checked the release filter only"
	finish
fi

# The reports are expected: their logs are named *.expected-report so
# that neither finish nor the runner takes them for real findings.
for hook in asan ubsan; do
	case $hook in
	asan) want='SUMMARY: AddressSanitizer: heap-use-after-free' ;;
	ubsan) want='runtime error: signed integer overflow' ;;
	esac
	R=$LOGDIR/sanitizer-$hook.expected-report
	P=$(free_port)
	OSTP_TESTHOOK=$hook "$OSTPD" -w 1 -L "tcp://127.0.0.1:$P/127.0.0.1:$E" \
	    >"$R" 2>&1 &
	OPID=$!
	PIDS="$PIDS $OPID"
	wait_port "$P" || { fail "$hook: no listener"; continue; }
	W1=$(worker_of "$OPID")
	kill -USR2 "$W1"
	wait_log "$R" "$want" 10 || fail "$hook: no report in the log"
	wait_log "$R" 'worker 0 (generation 1) exited with status [1-9]' 10 ||
		fail "$hook: the worker did not die of its report"
	grep -q 'killed by SIGSYS' "$R" &&
		fail "$hook: the seccomp filter killed the reporting worker"
	wait_log "$R" 'restarting in' 5 || fail "$hook: no respawn"
	$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null ||
		fail "$hook: forwarding after the respawn"
	W2=$(worker_of "$OPID")
	[ -n "$W2" ] && [ "$W2" != "$W1" ] ||
		fail "$hook: worker was not replaced"
	kill "$OPID"
done
finish
