# Requests outside the configuration, and garbage on the channel, are
# refused: the monitor logs them, kills the worker and respawns it.
. regress/lib.sh
# workers are killed on purpose: run.sh must not fail the test for it
ALLOW_RESPAWN=1
OSTPD=$OSTPD_T

E=$(free_port)
start_echo "$E"
for hook in badtun badsocket badfile badicmp badrawtcp badsign garbage; do
	P=$(free_port)
	OSTP_TESTHOOK=$hook start_ostpd "ipc-$hook" -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
	wait_port "$P" || { fail "$hook: no listener"; continue; }
	W1=$(worker_of "$OPID")
	kill -USR2 "$W1"
	L=$LOGDIR/ipc-$hook.log
	case $hook in
	badtun) want='asked for device "ostpbogus0", which is not in the configuration' ;;
	badsocket) want='SOCKET request .* is outside the configuration' ;;
	badfile) want='asked for file "/etc/shadow", which the configuration does not name' ;;
	badicmp) want='ICMP_SOCKET request (listener 0, family 2) is outside the configuration' ;;
	badrawtcp) want='RAW_TCP_SOCKET request (listener 0, family 2) is outside the configuration' ;;
	badsign) want='TLS_SIGN for listener 0, which is not a TLS listener' ;;
	garbage) want='killing worker 0' ;;
	esac
	wait_log "$L" "$want" 5 || fail "$hook: refusal not logged"
	wait_log "$L" "killing worker 0 (pid $W1)" 5 || fail "$hook: worker not killed"
	wait_log "$L" 'restarting in' 5 || fail "$hook: no respawn"
	ip link show ostpbogus0 >/dev/null 2>&1 && fail "$hook: a device was created"
	$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null || fail "$hook: forwarding after respawn"
	W2=$(worker_of "$OPID")
	[ "$W2" != "$W1" ] || fail "$hook: same worker still running"
	kill "$OPID"
done
finish
