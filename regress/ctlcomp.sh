# bash completion of ostpctl (contrib/bash-completion/ostpctl): commands,
# log levels, sysproxy's words, after options.
. regress/lib.sh
BC=/usr/share/bash-completion/bash_completion
[ -f "$BC" ] || skip "bash-completion not installed"

# comp WORD...: what completing the last word offers
comp() {
	bash -c '. "$1"; . contrib/bash-completion/ostpctl; shift
	COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
	COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
	_ostpctl ostpctl "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}"
	echo "${COMPREPLY[*]}"' sh "$BC" "$@" 2>&1
}
check() {
	_want=$1; shift
	_got=$(comp "$@")
	[ "$_got" = "$_want" ] || fail "ostpctl $*<TAB>: \"$_got\", want \"$_want\""
}
check "status stop sysproxy" ostpctl s
check "status stop sysproxy" ostpctl -j -S /run/x.sock s
check "connections" ostpctl co
check "debug debug2 debug3" ostpctl log-level d
check "" ostpctl log-level debug ""
check "on off" ostpctl sysproxy o
check "-w" ostpctl sysproxy on -
check "-h -j -S" ostpctl -
finish
