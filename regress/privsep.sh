# Privilege separation, read from /proc of a running daemon.
. regress/lib.sh

P=$(free_port); E=$(free_port)
start_echo "$E"
start_ostpd privsep -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
wait_port "$P" || fatal "no listener"
W=$(worker_of "$OPID") || fatal "no worker"

uid=$(id -u _ostpd 2>/dev/null || id -u nobody)
set -- $(grep '^Uid:' /proc/$W/status)
[ "$2 $3 $4 $5" = "$uid $uid $uid $uid" ] || fail "worker uids: $2 $3 $4 $5, want $uid"
set -- $(grep '^Gid:' /proc/$W/status)
[ "$2" != 0 ] && [ "$2" = "$3" ] && [ "$3" = "$4" ] && [ "$4" = "$5" ] || fail "worker gids: $*"
[ "$(grep '^Groups:' /proc/$W/status | awk '{print NF}')" -le 2 ] || fail "worker keeps supplementary groups"
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
	v=$(status_field "$W" $f)
	case $f in
	CapBnd) ;;	# bounded by the monitor's set; empty permitted matters
	*) [ "$v" = 0000000000000000 ] || fail "worker $f = $v" ;;
	esac
done
[ "$(status_field "$W" Seccomp)" = 2 ] || fail "worker Seccomp: $(status_field "$W" Seccomp)"
[ "$(status_field "$W" NoNewPrivs)" = 1 ] || fail "worker NoNewPrivs: $(status_field "$W" NoNewPrivs)"
root=$(readlink /proc/$W/root)
[ "$root" = /var/empty ] || fail "worker root is $root"
[ -z "$(ls -A /var/empty)" ] || fail "/var/empty is not empty"
# No file from the host is open in the worker.
for fd in /proc/$W/fd/*; do
	t=$(readlink "$fd")
	case $t in
	socket:*|pipe:*|anon_inode:*|/dev/null|/dev/pts/*|/dev/tty*) ;;
	*) case $(basename "$fd") in 0|1|2) ;; *) fail "worker has $t open" ;; esac ;;
	esac
done

# Monitor: exactly the listed capabilities, effective and bounding.
# NET_ADMIN NET_RAW NET_BIND_SERVICE SETUID SETGID SYS_CHROOT KILL, and
# BPF (39) where this shell has it (the OSTP ports' steering)
want=00000000000434e0
bnd=$(status_field $$ CapBnd)
[ $(( 0x$bnd >> 39 & 1 )) = 1 ] && want=00000080000434e0
[ "$(status_field "$OPID" CapEff)" = $want ] || fail "monitor CapEff $(status_field "$OPID" CapEff), want $want"
[ "$(status_field "$OPID" CapPrm)" = $want ] || fail "monitor CapPrm $(status_field "$OPID" CapPrm)"
[ "$(status_field "$OPID" CapBnd)" = $want ] || fail "monitor CapBnd $(status_field "$OPID" CapBnd)"
[ "$(status_field "$OPID" Uid | head -c 1)" = 0 ] || fail "monitor is not uid 0"

# The worker really cannot do privileged things: a low port bind.
$NETTOOL xfer 127.0.0.1 "$P" 10000 1 >/dev/null || fail "forwarding through the sandboxed worker"
finish
