#!/bin/bash
# The documentation cannot drift from the code: man pages lint clean,
# loyalty.conf(5) lists exactly the keys of the configuration table, every
# migration is installed, the README keeps its two commands.
. "$(dirname "$0")/lib/tap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
LOYALTYD=${LOYALTYD:-$top/build/loyaltyd}

for page in "$top"/man/*.[0-9]; do
	out=$(mandoc -Tlint -Wall "$page" 2>&1)
	is "$out" "" "mandoc -Tlint is clean on $(basename "$page")"
done

# The table, as loyaltyd --print-config prints it: "section.key" lines.
table=$("$LOYALTYD" -c /dev/null --print-config | awk '
	/^\[/ { gsub(/[][]/, ""); s = $0; next }
	/^# [a-z_]+ = / { print s "." $2; next }
	/^[a-z_]+ = / { print s "." $1 }' | sort)
page=$(awk '
	/^\.Ss \[/ { s = $2; gsub(/[][]/, "", s); next }
	/^\.Sh / { s = "" }
	/^\.It Cm / && s != "" { print s "." $3 }' "$top/man/loyalty.conf.5" | sort)
cmp_num "$(printf '%s\n' "$table" | grep -c .)" -ge 20 "the table has its keys"
is "$page" "$table" "loyalty.conf(5) documents exactly the keys of the table"

example=$(grep -E '^#?[a-z_]+ = ' "$top/etc/loyalty.conf" | sed 's/^#//' | cut -d' ' -f1 | sort -u)
for k in $example; do
	printf '%s\n' "$table" | grep -q "\.$k\$" || fail "etc/loyalty.conf key $k is in the table"
done
pass "every key of etc/loyalty.conf is in the table"

listed=$(sed -n '/^dist_sql_DATA/,/^$/p' "$top/Makefile.am" | grep -o 'sql/[^ \\]*\.sql' | sort)
present=$(cd "$top" && ls sql/*.sql | sort)
is "$listed" "$present" "Makefile.am installs every file in sql/"

quick=$(sed -n '/^## Quick start/,/^## /p' "$top/README.md" | grep -E '^(sudo )?scripts/' )
is "$(printf '%s\n' "$quick" | grep -c .)" 2 "the README's quick start has exactly two commands"
like "$quick" 'scripts/run' "one runs the service"
like "$quick" 'scripts/test' "one runs every test"

for f in docs/ARCHITECTURE.md docs/API.md docs/PERFORMANCE.md docs/openapi.yaml; do
	check "$f exists" test -s "$top/$f"
done
check "docs/openapi.yaml is valid YAML" python3 -c \
	'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$top/docs/openapi.yaml"
for path in /health/live /health/ready /health/startup /health/version /metrics /status; do
	check "openapi.yaml documents $path" grep -q "^  $path:" "$top/docs/openapi.yaml"
done

done_testing
