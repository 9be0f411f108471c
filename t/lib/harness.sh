# shellcheck shell=bash
# t/lib/harness.sh — what every black-box test sources: TAP, the stack
# library, and helpers to talk HTTP to the stack through nginx.
#
#   harness_up [section.key=value ...]   PostgreSQL, migrations, loyaltyd
#                                        and nginx in a fresh temp dir;
#                                        everything stops on exit
#   harness_dir                          just the temp dir, its clean-up
#                                        and the sanitizer settings
#   http METHOD PATH [curl args]          sets STATUS, BODY, HEADERS
#   jq_get JSON EXPR                      a value out of a JSON document
#   master_pid / worker_pids              processes of the running daemon
#   log_lines EVENT                       JSON log lines with that event
#
# The daemon under test is $LOYALTYD (scripts/test sets it to the test
# build, then to the sanitizer build). With ASAN_OPTIONS log_path under the
# stack dir, harness_down fails the file if any sanitizer report appeared.

set -uo pipefail
HARNESS_T=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=t/lib/tap.sh
. "$HARNESS_T/lib/tap.sh"
# shellcheck source=scripts/lib/stack.sh
. "$HARNESS_T/../scripts/lib/stack.sh"

# Each file gets its own ports, so a leftover from one cannot answer another.
HARNESS_PORT_BASE=${HARNESS_PORT_BASE:-$((20000 + (RANDOM % 2000) * 4))}
STACK_HTTPS_PORT=$HARNESS_PORT_BASE
STACK_HTTP_PORT=$((HARNESS_PORT_BASE + 1))
STACK_PG_PORT=$((HARNESS_PORT_BASE + 2))

harness_down() {
	local rc=$? reports
	stack_stop_all >/dev/null 2>&1
	if [ -n "${HARNESS_DIR:-}" ]; then
		reports=$(find "$HARNESS_DIR/log" -name 'sanitizer.*' -size +0 2>/dev/null)
		if [ -n "$reports" ]; then
			fail "no sanitizer reports" "$(cat $reports | head -n 60)"
			printf '1..%d\n' "$TAP_N"
			rc=1
		fi
		if [ "$rc" -ne 0 ] || [ "$TAP_FAILED" -ne 0 ]; then
			diag "--- end of loyaltyd.log ---"
			diag "$(tail -n 30 "$HARNESS_DIR/log/loyaltyd.log" 2>/dev/null)"
		fi
		rm -rf "$HARNESS_DIR"
	fi
	exit "$rc"
}

# harness_dir: the temp dir of this file, cleaned up on exit, and the
# sanitizer settings for every program started from here. Tests that build
# their own stack (not harness_up) call it first.
harness_dir() {
	HARNESS_DIR=$(mktemp -d /tmp/loyalty-t.XXXXXX)
	trap harness_down EXIT
	trap 'exit 130' INT TERM
	if [ -n "${LOYALTY_SANITIZE:-}" ]; then
		# Leaks at exit are not reported: the master and workers end by
		# exit() with their one-time allocations still held, on purpose.
		export ASAN_OPTIONS="log_path=$HARNESS_DIR/log/sanitizer:detect_leaks=0:abort_on_error=0"
		export UBSAN_OPTIONS="log_path=$HARNESS_DIR/log/sanitizer:print_stacktrace=1"
	fi
}

harness_up() {
	harness_dir
	stack_init "$HARNESS_DIR" &&
		stack_pg_start &&
		stack_createdb &&
		stack_write_config "$@" &&
		stack_migrate >/dev/null &&
		stack_daemon_start &&
		stack_nginx_start ||
		{ fail "the stack starts" "see the messages above"; exit 1; }
}

# http METHOD PATH [curl args...]: one request through nginx over HTTPS.
http() {
	local method=$1 path=$2 out
	shift 2
	out=$(stack_curl -sS -X "$method" -D - -o "$HARNESS_DIR/body" \
		-w '%{http_code}' "$@" "$(stack_url "$path")" 2>&1)
	STATUS=${out: -3}
	HEADERS=${out%???}
	BODY=$(tr -d '\0' <"$HARNESS_DIR/body" 2>/dev/null)
}

# header NAME: the value of a response header of the last http call.
header() {
	printf '%s\n' "$HEADERS" | tr -d '\r' |
		sed -n "s/^$1: //Ip" | head -n 1
}

# jq_get JSON EXPR: python3 is on every Debian 12; jq may not be.
jq_get() {
	python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
for part in sys.argv[2].split("."):
    if part == "":
        continue
    doc = doc[int(part)] if isinstance(doc, list) else doc.get(part)
print(json.dumps(doc) if isinstance(doc, (dict, list)) else
      ("null" if doc is None else str(doc).lower() if isinstance(doc, bool) else doc))
' "$1" "$2" 2>/dev/null
}

master_pid() {
	printf '%s\n' "$STACK_DAEMON_PID"
}

worker_pids() {
	ps -o pid= --ppid "$STACK_DAEMON_PID" | tr -d ' '
}

log_lines() {
	grep -F "\"event\":\"$1\"" "$STACK_LOG_DIR/loyaltyd.log" 2>/dev/null
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
