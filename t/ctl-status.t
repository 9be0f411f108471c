#!/bin/bash
# loyaltyctl status: loyaltyd's scoreboard, asked over FastCGI without nginx;
# exit 1 at once, naming the socket, when loyaltyd is not there; whatever a
# server on the socket answers, no crash and no hang.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb &&
	stack_write_config && stack_migrate && stack_daemon_start ||
	{ fail "the stack starts"; exit 1; }
ctl() { timeout 10 "$LOYALTYCTL" -c "$STACK_CONF" "$@"; }

out=$(ctl status --socket "$STACK_SOCKET" 2>&1)
is "$?" 0 "status exits 0 with loyaltyd up"
like "$out" "^loyaltyd master pid $(master_pid), up [0-9]+s; $STACK_WORKERS workers: " \
	"the master's pid, its uptime and the workers by state"
like "$out" 'SLOT +PID +STATE +REQUESTS +LAST +DB +UP +ROUTE +FOR' "a table of the slots"
pids=$(worker_pids)
is "$(printf '%s\n' "$pids" | wc -l)" "$STACK_WORKERS" "the master has $STACK_WORKERS workers"
for pid in $pids; do
	like "$out" "
[0-9]+ +$pid +(idle|busy) +[0-9]+ " "worker $pid is listed with its state and requests"
done
like "$out" 'busy +[0-9]+ +[-0-9]+ +ok +[0-9a-z]+ +GET /status +[0-9]+\.[0-9]{3}s' \
	"the worker answering shows its route and for how long"

# A worker busy with a slow request.
env -i REQUEST_METHOD=GET REQUEST_URI='/_test/sleep?ms=4000' REMOTE_ADDR=127.0.0.1 \
	timeout 10 cgi-fcgi -bind -connect "$STACK_SOCKET" >/dev/null 2>&1 &
slow=$!
sleeping() { ctl status --socket "$STACK_SOCKET" | grep -qE 'GET /_test/sleep +[1-9]\.[0-9]{3}s'; }
check "a slow request shows with its route and elapsed time" wait_for 5 sleeping
wait "$slow"

out=$(ctl status --socket "$STACK_SOCKET" --json 2>&1)
is "$?" 0 "--json exits 0"
is "$(printf '%s\n' "$out" | wc -l)" 1 "--json: one line of JSON"
is "$(jq_get "$out" total)" "$STACK_WORKERS" "--json: total is the worker count"
is "$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])["workers"]))' "$out" 2>&1)" \
	"$STACK_WORKERS" "--json: one slot per worker"
is "$(python3 -c 'import json, sys; print(" ".join(sorted(str(w["pid"]) for w in json.loads(sys.argv[1])["workers"])))' "$out" 2>&1)" \
	"$(printf '%s\n' $pids | sort | tr '\n' ' ' | sed 's/ $//')" "--json: the same pids as ps"
is "$(jq_get "$out" master_pid)" "$(master_pid)" "--json: the master's pid"

# The default address is server.listen.
stack_write_config server.listen="$STACK_SOCKET"
out=$(ctl status 2>&1)
is "$?" 0 "without --socket, server.listen is asked"
stack_write_config

out=$(ctl status --socket 2>&1)
is "$?" 2 "--socket without an address is a usage error"
out=$(ctl status --socket host: 2>&1)
is "$?" 2 "so is an address that is neither path nor HOST:PORT"
like "$out" '"host:" is neither a socket path nor HOST:PORT' "and says so"

stack_daemon_stop
start=$SECONDS
out=$(ctl status --socket "$STACK_SOCKET" 2>&1)
is "$?" 1 "loyaltyd stopped: exit 1"
cmp_num $((SECONDS - start)) -le 2 "at once"
like "$out" "loyaltyd at $STACK_SOCKET: cannot connect: " "the message names the socket"
like "$out" 'systemctl status loyalty.socket loyalty.service' "and says what to look at"
out=$(ctl status --socket "$HARNESS_DIR/none.sock" 2>&1)
is "$?" 1 "no socket at all: exit 1"
like "$out" 'none.sock: cannot connect: No such file or directory' "with the reason"
out=$(ctl status --socket 127.0.0.1:1 2>&1)
is "$?" 1 "nothing on a TCP port: exit 1"
like "$out" 'loyaltyd at 127.0.0.1:1: cannot connect: Connection refused' "names the address"

# Servers that answer badly, one connection each.
cat >"$HARNESS_DIR/fake.py" <<'PY'
import os, socket, struct, sys, time
path, mode = sys.argv[1], sys.argv[2]
def rec(t, c, rid=1):
    return struct.pack("!BBHHBx", 1, t, rid, len(c), 0) + c
def answer(body, status=b"200 OK"):
    return (rec(6, b"Status: " + status + b"\r\nContent-Type: application/json\r\n\r\n" + body)
            + rec(6, b"") + rec(3, b"\0" * 8))
hostile = (b'{"master_pid":1,"uptime_seconds":"x","workers":[{"slot":0,"pid":42,'
           b'"state":"\\u001b[2Jbusy","route":"/x\\u0007","method":"GET\\u001b",'
           b'"requests":1e400,"elapsed_ms":-5,"db":"maybe"},7,null,[]]}')
answers = {
    "random": os.urandom(4096),
    "truncated": struct.pack("!BBHHBx", 1, 6, 1, 100, 0) + b"Status: 200",
    "noend": rec(6, b"Status: 200\r\n\r\n{}"),
    "badtype": rec(9, b"abcdefgh"),
    "badid": rec(6, b"Status: 200\r\n\r\n{}", rid=7),
    "badend": rec(3, b"\0\0\0\0\3\0\0\0"),
    "notjson": answer(b"{not json"),
    "trailing": answer(b'{"workers":[]} and more'),
    "badstatus": answer(b"{}", b"2000000000000000000000 OK"),
    "deep": answer(b"[" * 60000),
    "notfound": answer(b'{"detail":"no resource"}', b"404 Not Found"),
    "hostile": answer(hostile),
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
c, _ = s.accept()
c.settimeout(5)
try:
    c.recv(65536)
    if mode == "silent":
        time.sleep(30)
    elif mode == "huge":
        while True:
            c.sendall(rec(6, b"x" * 65535))
    elif mode == "noheaders":
        c.sendall(struct.pack("!BBHHBx", 1, 6, 1, 50, 0) + b"x" * 50 + rec(3, b"\0" * 8))
    else:
        c.sendall(answers[mode])
except OSError:
    pass
c.close()
PY
# fake MODE: the status command against a fake server; sets out and rc.
fake() {
	local sock=$HARNESS_DIR/fake.sock pid
	rm -f "$sock"
	python3 "$HARNESS_DIR/fake.py" "$sock" "$1" &
	pid=$!
	wait_for 5 test -S "$sock" || fail "the fake server listens ($1)"
	start=$SECONDS
	out=$(ctl status --socket "$sock" 2>&1)
	rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
for mode in random truncated noend badtype badid badend noheaders notjson trailing deep badstatus notfound huge; do
	fake "$mode"
	is "$rc" 1 "a server answering $mode: exit 1"
	case $mode in
	truncated) like "$out" 'truncated FastCGI record \(type 6, 100 bytes announced\)' "truncated: said so" ;;
	noend) like "$out" 'closed the connection before the end of the response' "noend: said so" ;;
	badtype) like "$out" "malformed FastCGI answer: record type 9 \\(is that loyaltyd's socket\\?\\)" "badtype: said so" ;;
	badid) like "$out" 'malformed FastCGI answer: request id 7' "badid: said so" ;;
	badend) like "$out" 'malformed FastCGI answer: protocol status 3' "badend: said so" ;;
	noheaders) like "$out" 'no end of the CGI headers' "noheaders: said so" ;;
	notjson | trailing | deep) like "$out" '/status did not answer a JSON object' "$mode: said so" ;;
	badstatus) like "$out" 'malformed Status header' "badstatus: said so" ;;
	notfound)
		like "$out" 'GET /status answered 404: \{"detail":"no resource"\}' "notfound: the status and body"
		unlike "$out" 'systemctl' "notfound: no hint that loyaltyd is down"
		;;
	huge) like "$out" 'answer larger than 1048576 bytes' "huge: bounded" ;;
	random) like "$out" "loyaltyd at $HARNESS_DIR/fake.sock: " "random: names the socket" ;;
	esac
done

fake silent
is "$rc" 1 "a server that never answers: exit 1"
cmp_num $((SECONDS - start)) -le 7 "after the 5 s timeout, not a hang"
like "$out" 'no answer within 5 seconds' "and says so"

fake hostile
is "$rc" 0 "a well-formed document with wrong types and control bytes: exit 0"
like "$out" 'loyaltyd master pid 1, up -; 4 workers: 4 in another state' \
	"fields of the wrong type show as -"
like "$out" '0 +42 +\?\[2Jbusy +- +- +- +- +GET\? /x\? +-' "control bytes are replaced"
is "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C tr -d '[:print:]' | wc -c)" 0 \
	"nothing but printable text reaches the terminal"

done_testing
