# Shared by the bench scripts: rounds, medians, CPU of a process.
# Each figure is the median of ROUNDS runs; the subjects of a row take
# turns within each round, so a slow spell of the machine (this kind of
# VM drifts by up to 3x) weighs on all of them alike.
ROUNDS=${ROUNDS:-3}
TCK=$(getconf CLK_TCK)

median() {	# median of the arguments; "-" ignored
	printf '%s\n' "$@" | grep -v '^-$' | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.5g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }

tree_ticks() {	# ticks of a process and all its descendants; $2=u: user only
	_t=0
	for _p in $1 $(pgrep -P "$1" 2>/dev/null); do
		if [ "$_p" = "$1" ]; then
			_t=$((_t + $(awk -v u="$2" '{ print u == "u" ? $14 : $14 + $15 }' \
			    "/proc/$_p/stat" 2>/dev/null || echo 0)))
		else
			_t=$((_t + $(tree_ticks "$_p" "$2")))
		fi
	done
	echo "$_t"
}
