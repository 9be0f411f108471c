# shellcheck shell=bash
# t/lib/tap.sh — Test Anything Protocol for the black-box tests.
#
#   pass DESC / fail DESC [DIAG]
#   check DESC CMD...            passes when CMD exits 0
#   is GOT WANT DESC             string equality
#   like GOT REGEX DESC          extended regular expression match
#   unlike GOT REGEX DESC
#   cmp_num GOT OP WANT DESC     numeric comparison: -eq -le -ge -lt -gt
#   diag MSG...                  a "# " line on stdout
#   done_testing                 prints the plan; exit status = failures > 0
#
# A test file runs its checks in order and ends with done_testing. A file
# that dies before done_testing has no plan, which the driver counts as a
# failure: nothing fails silently.

TAP_N=0
TAP_FAILED=0

diag() {
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

pass() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	[ $# -lt 2 ] || diag "$2"
	return 1
}

check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "command failed ($?): $* ${out:+
$out}"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:  '$1'
want: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "got '$1' both times"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3" "got:  '${1:0:2000}'
want match of: $2"
	fi
}

unlike() {
	if [[ $1 =~ $2 ]]; then
		fail "$3" "got:  '${1:0:2000}'
want no match of: $2"
	else
		pass "$3"
	fi
}

cmp_num() {
	if [ "$1" "$2" "$3" ] 2>/dev/null; then
		pass "$4"
	else
		fail "$4" "got: '$1', want $2 $3"
	fi
}

done_testing() {
	printf '1..%d\n' "$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
