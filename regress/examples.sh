# The examples (examples/*.sh) as a user runs them: each starts what it
# needs on loopback, checks its result and cleans up after itself.
. regress/lib.sh

for e in examples/*.sh; do
	n=$(basename "$e" .sh)
	[ "$n" = common ] && continue	# their shared part
	OSTPD=$PWD/$BUILD/ostpd timeout 60 sh "$e" >"$LOGDIR/$n.out" 2>&1
	rc=$?
	case $rc in
	0)	log "$n: $(grep -c '^ok' "$LOGDIR/$n.out") checks" ;;
	77)	skip_part "$n: $(tail -n 1 "$LOGDIR/$n.out")" ;;
	*)	fail "$n (exit $rc): $(tail -n 8 "$LOGDIR/$n.out" | tr '\n' '|')" ;;
	esac
done
finish
