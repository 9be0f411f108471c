#!/bin/bash
# The Debian packages, end to end, the way an operator meets them: built by
# scripts/build-debs, installed with apt on a fresh Debian 12 booted with
# systemd (t/lib/vps.sh: systemd-nspawn, no network, clients inside), then
# reinstalled, reloaded, restarted and upgraded under continuous HTTPS load,
# its timers run by hand and made to fail, its log rotated, the guest
# rebooted, the packages removed and purged and the file system compared
# with what it was before the installation. A second guest installs with
# PostgreSQL stopped and masked.
#
# Needs root (mounts, nspawn) and, the first time, the network for apt
# (mmdebstrap's image, cached in /var/tmp/loyalty-vps after that, and the
# build dependencies). Runs from scripts/test (phase "package") or alone:
#   bash t/package.t
set -uo pipefail
T=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$T/.." && pwd)
# shellcheck source=t/lib/tap.sh
. "$T/lib/tap.sh"
# shellcheck source=t/lib/vps.sh
. "$T/lib/vps.sh"
exec </dev/null

START=$SECONDS
G1=lpkg$$-a	# PostgreSQL local: the full life cycle
G2=lpkg$$-b	# PostgreSQL stopped and masked before the installation
# Load: concurrent clients inside the guest, and the least number of
# requests they must have had answered while an operation ran (in flight at
# some moment between its start and its end), so an idle client cannot pass.
# A restart or reload takes 0.2-0.4 s here, with 45-160 such requests; an
# upgrade 3-4 s with 900-1300.
LOAD_THREADS=8
MIN_DURING_RESTART=20
MIN_DURING_UPGRADE=200
# The guest's own copy of the packages and the test's files; removed before
# the file system is compared after the purge.
GDIR=/var/tmp/loyalty-pkgtest

step() { diag "[$((SECONDS - START))s] $*"; }

WORK=$(mktemp -d /tmp/loyalty-package.XXXXXX)
cleanup() {
	local rc=$?
	vps_stop_all
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bail DESC [DIAG]: a prerequisite failed; nothing after it can run.
bail() {
	fail "$@"
	step "stopping here"
	done_testing
	exit 1
}

[ "$(id -u)" = 0 ] || bail "runs as root (it mounts and boots containers)" "uid is $(id -u)"

# --- helpers ---------------------------------------------------------------
G=$G1
g() { vps_exec "$G" "$@"; }
gsh() { vps_exec "$G" sh -c "$1"; }

# code PATH: the HTTP status of a GET over HTTPS through nginx, in the guest.
code() {
	g curl -sk -o /dev/null --max-time 10 -w '%{http_code}' "https://127.0.0.1$1"
}
# wait_code SECS PATH WANT: polls; prints the last status seen.
wait_code() {
	local until=$((SECONDS + $1)) c
	while :; do
		c=$(code "$2")
		[ "$c" = "$3" ] || [ $SECONDS -ge $until ] && break
		sleep 0.5
	done
	printf '%s' "$c"
}
main_pid() { g systemctl show -p MainPID --value loyalty.service; }
workers() { g ps -o pid= --ppid "$1" | tr -d ' ' | sort; }
sha() { g sha256sum /etc/loyalty/secrets.conf | cut -d' ' -f1; }
psql_q() { g runuser -u postgres -- psql -XAtq -d "${2:-postgres}" -c "$1"; }
score() { sed -n 's/.*Overall exposure level for loyalty\.service: \([0-9.]*\).*/\1/p' <<<"$1"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

# evidence: the daemon's recent journal and status, once per failing part.
EVIDENCE_AT=0
evidence() {
	[ "$TAP_FAILED" -gt "$EVIDENCE_AT" ] || return 0
	EVIDENCE_AT=$TAP_FAILED
	diag "--- evidence from $G ---"
	diag "$(g systemctl --no-pager status loyalty.socket loyalty.service 2>&1 | head -n 20)"
	diag "$(g journalctl --no-pager -u loyalty -n 30 2>&1)"
	diag "$(g journalctl --no-pager -t loyalty -t loyalty-nginx -n 10 2>&1)"
	diag "$(g tail -n 5 /var/log/nginx/error.log 2>&1)"
}

# The FS listing: every path with its type, owner, mode and (links) target.
# Left out, and why:
#   /proc /sys /dev /run /tmp   kernel and run-time file systems, emptied
#                               at boot
#   /var/cache /var/lib/apt     apt's caches, lists and own state
#   /var/lib/dpkg               dpkg's own database (whether the packages
#   /var/log/dpkg.log           are purged is checked with dpkg-query)
#   /var/log/apt
#   /var/log/journal            the journal, which grows as the guest runs
#   /var/lib/logrotate          logrotate's state, written by every run of
#                               logrotate (the test runs it)
#   /var/tmp/systemd-private-*  PrivateTmp= of running services (logind),
#                               named anew at every boot
fs_list() {
	g find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run \
		-o -path /tmp -o -path /var/cache -o -path /var/lib/apt \
		-o -path /var/lib/dpkg -o -path /var/log/dpkg.log -o -path /var/log/apt \
		-o -path /var/log/journal -o -path /var/lib/logrotate \
		-o -path '/var/tmp/systemd-private-*' \) -prune \
		-o -printf '%y %u:%g %#m %p %l\n' | sort
}

# The load client: LOAD_THREADS threads, each a new HTTPS connection per
# request (no certificate check: the snakeoil certificate), until a stop
# file appears; one line per request. --summary counts them.
cat >"$WORK/load.py" <<'EOF'
import http.client, os, ssl, sys, threading, time

def run(records, stop, threads, path):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    lock = threading.Lock()
    out = open(records, "w")

    def client():
        while not os.path.exists(stop):
            t0 = time.time()
            try:
                c = http.client.HTTPSConnection("127.0.0.1", 443, context=ctx, timeout=30)
                c.request("GET", path, headers={"Connection": "close"})
                r = c.getresponse()
                r.read()
                c.close()
                res, detail = str(r.status), ""
            except Exception as e:
                res, detail = "ERR", "%s: %s" % (type(e).__name__, e)
            with lock:
                out.write("%.6f %.6f %s %s\n" % (t0, time.time(), res,
                                                 detail.replace("\n", " ")))

    ts = [threading.Thread(target=client) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.close()

def summary(records, t0, t1):
    total = ok = during = 0
    failures, first = {}, []
    lat = 0.0
    for line in open(records):
        a, b, res, detail = line.rstrip("\n").split(" ", 3)
        a, b = float(a), float(b)
        total += 1
        lat = max(lat, b - a)
        if res == "200":
            ok += 1
            if a <= t1 and b >= t0:
                during += 1
        else:
            failures[res] = failures.get(res, 0) + 1
            if len(first) < 5:
                first.append("%.3f %s %s" % (b - t0, res, detail))
    print("total=%d ok=%d failed=%d during=%d op_seconds=%.2f max_latency=%.3f"
          % (total, ok, total - ok, during, t1 - t0, lat))
    for k, v in sorted(failures.items()):
        print("failures %s: %d" % (k, v))
    for f in first:
        print("failure at +%s" % f)

if sys.argv[1] == "--summary":
    summary(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
else:
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
EOF

# under_load LABEL MIN CMD...: runs CMD in the guest while the load client
# runs (2 s before and after it), then checks that no request failed and
# that at least MIN were answered 200 while CMD ran. Sets OP_RC, OP_OUT.
under_load() {
	local label=$1 min=$2 lpid t0 t1 sum total failed during
	shift 2
	g rm -f "$GDIR/load.stop" "$GDIR/load.rec"
	g python3 "$GDIR/load.py" "$GDIR/load.rec" "$GDIR/load.stop" \
		"$LOAD_THREADS" /health/live &
	lpid=$!
	sleep 2
	t0=$(date +%s.%N) # the guest's clock is the host's
	OP_OUT=$(g "$@" 2>&1)
	OP_RC=$?
	t1=$(date +%s.%N)
	sleep 2
	g touch "$GDIR/load.stop"
	wait "$lpid"
	sum=$(g python3 "$GDIR/load.py" --summary "$GDIR/load.rec" "$t0" "$t1")
	diag "load during $label: $sum"
	total=$(sed -n 's/^total=\([0-9]*\).*/\1/p' <<<"$sum")
	failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$sum")
	during=$(sed -n 's/.* during=\([0-9]*\).*/\1/p' <<<"$sum")
	cmp_num "${total:-0}" -gt 0 "$label: the load client ran ($total requests)"
	is "${failed:-missing}" 0 "$label: no request failed under load (non-200 answers and connection errors)"
	cmp_num "${during:-0}" -ge "$min" "$label: at least $min requests answered 200 while it ran ($during)"
}

# --- 1. the unit's exposure, offline on the host -------------------------
step "systemd-analyze security offline on the host"
"$TOP/scripts/deps" systemd >/dev/null || bail "systemd-analyze is installed on the host"
out=$(systemd-analyze security --offline=yes "$TOP/systemd/loyalty.service" 2>&1)
OFFLINE_SCORE=$(score "$out")
if le "$OFFLINE_SCORE" 1.5; then
	pass "offline: loyalty.service exposure $OFFLINE_SCORE <= 1.5"
else
	fail "offline: loyalty.service exposure <= 1.5" "$(tail -n 5 <<<"$out")"
fi
check "offline: systemd-analyze security --threshold=15 passes" \
	systemd-analyze security --offline=yes --threshold=15 "$TOP/systemd/loyalty.service"

# --- 2. the packages: this tree, and a newer build with one more migration -
V1=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$TOP/configure.ac")
V2=$V1+pkgtest1
step "building the packages of $V1 (scripts/build-debs)"
t=$SECONDS
if ! "$TOP/scripts/build-debs" --out "$WORK/v1" >"$WORK/build1.log" 2>&1; then
	bail "scripts/build-debs builds $V1" "$(tail -n 30 "$WORK/build1.log")"
fi
pass "scripts/build-debs builds $V1 ($((SECONDS - t)) s)"

# The newer tree: a copy of this one (what build-debs would take) with
# sql/NNNN_package_test.sql listed in Makefile.am; build-debs --version
# sets AC_INIT in its own copy, which /health/version proves below.
step "building the packages of $V2 from a copy with a new migration"
t=$SECONDS
copy=$WORK/tree
mkdir -p "$copy"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
	grep -zvE '^(build[^/]*/|dist/|autom4te\.cache/)' |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$copy" -xf -
last=$(ls "$copy/sql" | sed -n 's/^\([0-9]\{4\}\)_.*\.sql$/\1/p' | sort -n | tail -n 1)
NEXT=$(printf '%04d' $((10#$last + 1)))
MIG=${NEXT}_package_test.sql
cat >"$copy/sql/$MIG" <<EOF
-- $NEXT: made by t/package.t for the upgrade test only.
CREATE TABLE package_test (
	id	integer PRIMARY KEY,
	note	text NOT NULL
);
EOF
awk -v new="sql/$MIG" '
	/^dist_sql_DATA = / { inlist = 1 }
	inlist && !/\\$/ { print $0 " \\"; print "\t" new; inlist = 0; next }
	{ print }' "$copy/Makefile.am" >"$copy/Makefile.am.new" &&
	mv "$copy/Makefile.am.new" "$copy/Makefile.am"
if ! grep -q "sql/$MIG\$" "$copy/Makefile.am"; then
	bail "the copy lists $MIG in Makefile.am"
fi
if ! DEB_BUILD_OPTIONS=nocheck "$copy/scripts/build-debs" --version "$V2" --out "$WORK/v2" \
	>"$WORK/build2.log" 2>&1; then
	bail "scripts/build-debs builds $V2 from the copy" "$(tail -n 30 "$WORK/build2.log")"
fi
pass "scripts/build-debs builds $V2 with $MIG ($((SECONDS - t)) s)"
DEB1=$(cd "$WORK/v1" && ls loyalty_"$V1"_*.deb) NDEB1=loyalty-nginx_${V1}_all.deb
DEB2=$(cd "$WORK/v2" && ls loyalty_"$V2"_*.deb) NDEB2=loyalty-nginx_${V2}_all.deb
mkdir -p "$WORK/guest"
cp "$WORK/v1/$DEB1" "$WORK/v1/$NDEB1" "$WORK/v2/$DEB2" "$WORK/v2/$NDEB2" "$WORK/load.py" "$WORK/guest/"
chmod -R a+rX "$WORK/guest"

# --- 3. the image: a Debian 12 server, and every dependency of the packages
# (from their Depends, first alternatives), since the guest has no network.
deps=$(for d in "$WORK/guest/"*.deb; do dpkg-deb -f "$d" Depends; done |
	tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^loyalty' | sort -u)
step "the image (cached in $VPS_ROOT); package dependencies: $(tr '\n' ' ' <<<"$deps")"
vps_image systemd systemd-sysv dbus nginx postgresql logrotate ssl-cert curl \
	python3 adduser procps iproute2 $deps || # one package a word
	bail "the Debian 12 image builds"
pass "the Debian 12 image is there (built in ${VPS_IMAGE_SECONDS} s; 0 = cached)"

# install_cmd V DEB NDEB: the unattended installation, as in DEPLOYMENT.md.
install_cmd() {
	printf 'cd %s && DEBIAN_FRONTEND=noninteractive apt-get install -y %s ./%s ./%s' \
		"$GDIR" "${4:-}" "$2" "$3"
}

# --- 4. no local PostgreSQL ------------------------------------------------
G=$G2
step "guest $G2: PostgreSQL stopped and masked, then the installation"
vps_boot "$G2" || bail "guest $G2 boots"
pass "guest $G2 boots"
check "$G2: PostgreSQL stopped and masked" gsh 'systemctl stop postgresql && systemctl mask postgresql'
check "$G2: no PostgreSQL answers" gsh '! runuser -u postgres -- psql -XAtqc "select 1" 2>/dev/null'
vps_copy_in "$G2" "$WORK/guest" "$GDIR"
out=$(gsh "$(install_cmd "$V1" "$DEB1" "$NDEB1")" 2>&1)
is "$?" 0 "$G2: apt-get install succeeds without PostgreSQL" || diag "$(tail -n 20 <<<"$out")"
like "$out" "loyalty: installed, but not started" "$G2: apt shows why the service was not started"
is "$(g dpkg-query -W -f '${db:Status-Abbrev}' loyalty loyalty-nginx)" "ii ii " "$G2: both packages installed"
is "$(g systemctl is-active loyalty.service)" inactive "$G2: loyalty.service is left stopped"
is "$(g stat -c '%a %U:%G' /etc/loyalty/secrets.conf)" "640 root:loyalty" "$G2: the secrets file is generated all the same"
out=$(g journalctl --no-pager -t loyalty -o cat)
like "$out" "installed, but not started: the database is not set up" "$G2: journalctl -t loyalty says the service was not started"
like "$out" "loyaltyctl setup.*systemctl start loyalty" "$G2: and what to do"
out=$(g loyaltyctl check 2>&1)
rc=$?
cmp_num "$rc" -ne 0 "$G2: loyaltyctl check exits non-zero ($rc)"
like "$out" "PROBLEM connectivity: cannot connect" "$G2: loyaltyctl check says it cannot connect" || diag "$out"
evidence
vps_stop "$G2"

# --- 5. the full life cycle with a local PostgreSQL ------------------------
G=$G1
step "guest $G1: a fresh Debian 12 with PostgreSQL"
vps_boot "$G1" || bail "guest $G1 boots"
pass "guest $G1 boots"
check "$G1: nginx and PostgreSQL run" g systemctl is-active nginx postgresql
fs_list >"$WORK/fs.before"
vps_copy_in "$G1" "$WORK/guest" "$GDIR"

step "item 2: unattended installation of $V1"
out=$(gsh "$(install_cmd "$V1" "$DEB1" "$NDEB1")" 2>&1)
is "$?" 0 "apt-get install ./$DEB1 ./$NDEB1 succeeds" || diag "$(tail -n 20 <<<"$out")"
unlike "$out" "loyalty: installed, but not started" "no 'not started' message"
check "/etc/loyalty/loyalty.conf is installed" g test -s /etc/loyalty/loyalty.conf
is "$(g stat -c '%a %U:%G' /etc/loyalty/secrets.conf)" "640 root:loyalty" "secrets file generated: mode 0640, root:loyalty"
check "with a generated password" g grep -qE '^password = [0-9a-f]{64}$' /etc/loyalty/secrets.conf
is "$(psql_q "select rolname from pg_roles where rolname like 'loyalty%' order by 1" | tr '\n' ' ')" \
	"loyalty loyalty_owner " "the database roles loyalty and loyalty_owner exist"
is "$(psql_q "select datname from pg_database where datname = 'loyalty'")" loyalty "the database loyalty exists"
out=$(g loyaltyctl migrate status 2>&1)
nmig=$(ls "$TOP"/sql/*.sql | wc -l)
like "$out" "$nmig applied, 0 pending" "migrations applied (loyaltyctl migrate status)" || diag "$out"
is "$(g grep -cE '^(jwt_key|master_key) = [0-9a-f]{64}$' /etc/loyalty/secrets.conf)" 2 \
	"with the token and sealing keys"
is "$(g systemctl is-active loyalty.socket loyalty.service | tr '\n' ' ')" "active active " \
	"loyalty.socket and loyalty.service are active"
is "$(wait_code 15 /health/ready 200)" 200 "curl -k https://127.0.0.1/health/ready answers 200"
# The first tenant and owner of DEPLOYMENT.md, and a login through nginx.
out=$(gsh "loyaltyctl tenant create --slug pkg-shop --name 'Pkg Shop' &&
	printf 'pkg-owner-password\n' | loyaltyctl user create --tenant pkg-shop \
	--email owner@pkg.example --role owner --password-stdin" 2>&1)
is "$?" 0 "loyaltyctl tenant create and user create work in the installed package" || diag "$out"
is "$(g curl -sk -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-d '{"email":"owner@pkg.example","password":"pkg-owner-password"}' \
	https://127.0.0.1/v1/auth/login)" 200 "and the owner logs in over HTTPS"
evidence

step "reinstall keeps the secrets"
sum1=$(sha)
out=$(gsh "$(install_cmd "$V1" "$DEB1" "$NDEB1" --reinstall)" 2>&1)
is "$?" 0 "apt-get install --reinstall succeeds" || diag "$(tail -n 20 <<<"$out")"
is "$(sha)" "$sum1" "the secrets file is unchanged by the reinstall (sha256)"
is "$(wait_code 15 /health/ready 200)" 200 "/health/ready answers 200 after the reinstall"
evidence

# --- item 3: hardening in the guest, reload checks first, no failed request
step "item 3: exposure in the guest; reload with a broken file"
out=$(g systemd-analyze security loyalty.service 2>&1)
GUEST_SCORE=$(score "$out")
if le "$GUEST_SCORE" 1.5; then
	pass "in the guest: loyalty.service exposure $GUEST_SCORE <= 1.5"
else
	fail "in the guest: loyalty.service exposure <= 1.5" "$(tail -n 5 <<<"$out")"
fi

pid=$(main_pid)
g cp /etc/loyalty/loyalty.conf "$GDIR/loyalty.conf.good"
g sh -c 'printf "this is not a key = value line\n" >>/etc/loyalty/loyalty.conf'
check "the broken file is refused by loyaltyd --check-config" \
	gsh '! loyaltyd -c /etc/loyalty/loyalty.conf --check-config'
out=$(g systemctl reload loyalty 2>&1)
cmp_num "$?" -ne 0 "systemctl reload loyalty fails with the broken file"
is "$(g systemctl is-active loyalty.service)" active "the service keeps running"
is "$(main_pid)" "$pid" "with the same master"
is "$(code /health/live)" 200 "and keeps answering 200"
g cp "$GDIR/loyalty.conf.good" /etc/loyalty/loyalty.conf
check "the restored file reloads" g systemctl reload loyalty
evidence

# nginx answers 429 beyond 50 r/s per address (burst 100); the load client
# is one address going faster. Raised as OPERATIONS.md tells an operator
# ("429 from nginx"): edit the limits file, nginx -t, reload.
step "raising nginx's per-address rate in conf.d/loyalty-limits.conf for the load client"
check "loyalty-limits.conf raised to 100000r/s, nginx -t, reload" gsh \
	'sed -i "s|zone=loyalty_addr:10m rate=50r/s;|zone=loyalty_addr:10m rate=100000r/s;|" /etc/nginx/conf.d/loyalty-limits.conf &&
	 grep -q "zone=loyalty_addr:10m rate=100000r/s;" /etc/nginx/conf.d/loyalty-limits.conf &&
	 nginx -t -q && systemctl reload nginx'
sleep 1

step "restart under load"
pid=$(main_pid)
under_load "systemctl restart loyalty" "$MIN_DURING_RESTART" systemctl restart loyalty
is "$OP_RC" 0 "systemctl restart loyalty succeeds" || diag "$OP_OUT"
new=$(main_pid)
if [ -n "$new" ] && [ "$new" != 0 ] && [ "$new" != "$pid" ]; then
	pass "a new master after the restart ($pid -> $new)"
else
	fail "a new master after the restart" "before $pid, after $new"
fi
evidence

step "reload under load"
pid=$(main_pid)
before=$(workers "$pid")
under_load "systemctl reload loyalty" "$MIN_DURING_RESTART" systemctl reload loyalty
is "$OP_RC" 0 "systemctl reload loyalty succeeds" || diag "$OP_OUT"
is "$(main_pid)" "$pid" "the same master after the reload"
for ((i = 0; i < 50; i++)); do
	after=$(workers "$pid")
	[ -n "$after" ] && [ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ] && break
	sleep 0.2
done
if [ -n "$after" ] && [ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ]; then
	pass "the reload replaced every worker"
else
	fail "the reload replaced every worker" "before: $(tr '\n' ' ' <<<"$before"); after: $(tr '\n' ' ' <<<"$after")"
fi
evidence

# --- item 4: timers ---------------------------------------------------------
step "item 4: timers"
timers=$(g systemctl list-timers --no-pager --plain)
# timer SECONDS-BETWEEN-RUNS
for t in backup:86400 maintenance:604800 check:14400 expire:3600; do
	unit=loyalty-${t%%:*}.timer period=${t#*:}
	like "$timers" "$unit" "$unit is listed by systemctl list-timers"
	is "$(g systemctl is-enabled "$unit") $(g systemctl is-active "$unit")" "enabled active" "$unit enabled and active"
	is "$(g systemctl show -p Persistent --value "$unit")" yes "$unit: Persistent=true"
	cal=$(g systemctl show -p TimersCalendar --value "$unit" | sed -n 's/.*OnCalendar=\(.*\) ; next_elapse.*/\1/p')
	# The next three elapses of its calendar, one period apart.
	gaps=$(g systemd-analyze calendar --iterations=3 "$cal" |
		sed -n 's/^ *\(Next elapse\|Iter\. #[0-9]\): *\(.*\)$/\2/p' |
		while read -r w; do date -d "$w" +%s; done |
		awk 'NR > 1 { printf "%d ", $1 - p } { p = $1 }')
	is "$gaps" "$period $period " "$unit: '$cal' elapses every $period s"
done
check "the timers' stamp files exist (Persistent=true)" g test -e /var/lib/systemd/timers/stamp-loyalty-backup.timer \
	-a -e /var/lib/systemd/timers/stamp-loyalty-check.timer -a -e /var/lib/systemd/timers/stamp-loyalty-maintenance.timer \
	-a -e /var/lib/systemd/timers/stamp-loyalty-expire.timer

check "systemctl start loyalty-backup.service succeeds" g systemctl start loyalty-backup.service
check "a backup and its .sha256 in /var/backups/loyalty, and the sum matches" gsh \
	'cd /var/backups/loyalty && ls loyalty-*.dump >/dev/null && sha256sum -c --strict loyalty-*.sha256'
check "systemctl start loyalty-check.service succeeds" g systemctl start loyalty-check.service
out=$(g loyaltyctl check 2>&1)
is "$?" 0 "loyaltyctl check exits 0 on the healthy installation" || diag "$out"
check "systemctl start loyalty-maintenance.service succeeds" g systemctl start loyalty-maintenance.service
# Something for the expiry to do: pkg-shop's points expire after a day; a
# member's lot of 25 is moved a minute into the past. As postgres, with the
# tenant set as loyaltyd sets it (adjust() reads it).
out=$(psql_q "BEGIN;
	SELECT set_config('loyalty.tenant_id', id::text, true) FROM tenants WHERE slug = 'pkg-shop';
	UPDATE tenants SET expiry_policy = 'days', expiry_days = 1 WHERE id = app_tenant();
	INSERT INTO members (tenant_id, external_id) VALUES (app_tenant(), 'pkg-m1');
	SELECT outcome FROM adjust((SELECT id FROM members WHERE external_id = 'pkg-m1'), 25,
		'package test', 'user', 'package-test', 'pkg');
	UPDATE lots SET expires_at = now() - interval '1 minute' WHERE tenant_id = app_tenant();
	COMMIT;" loyalty 2>&1)
is "$(psql_q "SELECT count(*) FROM lots WHERE remaining = 25 AND expires_at < now()" loyalty)" 1 \
	"a member of pkg-shop has a lot of 25 points past its time" || diag "$out"
# expire_journal [CURSOR]: the service's journal (after CURSOR), once its
# totals line is there: journald may take a moment to read the stream.
expire_journal() {
	local i out
	for ((i = 0; i < 50; i++)); do
		out=$(g journalctl --no-pager -u loyalty-expire.service -o cat ${1:+--after-cursor="$1"})
		grep -q '^expire: ' <<<"$out" && break
		sleep 0.1
	done
	printf '%s' "$out"
}
check "systemctl start loyalty-expire.service succeeds" g systemctl start loyalty-expire.service
is "$(g systemctl is-failed loyalty-expire.service)" inactive "loyalty-expire.service is not failed (inactive, done)"
# Whether this run or the timer's (hourly) expired the lot, exactly one did.
out=$(expire_journal)
like "$out" 'expire pkg-shop: 1 lot \(25 points\), 0 vouchers expired' "the journal shows what the run expired"
like "$out" 'expire: 1 tenant, 1 lot \(25 points\), 0 vouchers expired in [0-9]+ ms' "and its totals"
is "$(psql_q "SELECT string_agg(kind || ' ' || points || ' ' || actor_type || ' ' || actor_id, ',') FROM ledger
	WHERE kind = 'expire'" loyalty) $(psql_q "SELECT balance FROM members WHERE external_id = 'pkg-m1'" loyalty)" \
	"expire -25 cli root 0" "one expire entry of -25 by the timer's service (cli, root); the balance is 0"
is "$(psql_q "SELECT count(*) FROM audit_log WHERE action = 'points.expire'" loyalty)" 1 "and one audit entry"
cursor=$(g journalctl --no-pager -u loyalty-expire.service -n 1 --show-cursor -o cat | sed -n 's/^-- cursor: //p')
check "a second start succeeds" g systemctl start loyalty-expire.service
like "$(expire_journal "$cursor")" 'expire pkg-shop: 0 lots \(0 points\), 0 vouchers expired' \
	"and expires nothing (its own journal lines)"
is "$(psql_q "SELECT count(*) FROM ledger WHERE kind = 'expire'" loyalty)" 1 "no new ledger entry"
is "$(g systemctl show -p ExecMainStatus --value loyalty-backup.service loyalty-check.service loyalty-maintenance.service \
	loyalty-expire.service | grep . | tr '\n' ' ')" "0 0 0 0 " "the four services' ExecMainStatus are 0"

step "a failing run: PostgreSQL stopped"
check "PostgreSQL stopped" g systemctl stop postgresql
g systemctl start loyalty-check.service >/dev/null 2>&1
cmp_num "$?" -ne 0 "systemctl start loyalty-check.service fails"
like "$(g systemctl --failed --no-legend --plain)" "loyalty-check\.service" "systemctl --failed lists it"
st=$(g systemctl show -p ExecMainStatus --value loyalty-check.service)
cmp_num "${st:-0}" -ne 0 "its ExecMainStatus is non-zero ($st)"
diag "$(g journalctl --no-pager -u loyalty-check.service -n 4 -o cat)"
check "PostgreSQL started again" g systemctl start postgresql
check "systemctl reset-failed" g systemctl reset-failed
is "$(g systemctl --failed --no-legend --plain)" "" "nothing failed any more"
is "$(wait_code 30 /health/ready 200)" 200 "/health/ready is 200 again (the workers reconnected)"
evidence

# --- item 8: logrotate ---------------------------------------------------------
step "item 8: logrotate under requests"
N=25
# send N: N requests; prints their X-Request-Id, one a line.
send() {
	gsh "for i in \$(seq $1); do curl -sk -D - -o /dev/null https://127.0.0.1/health/live |
		tr -d '\r' | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p'; done"
}
# logged FILE IDS: how many request lines of FILE carry one of IDS.
logged() {
	g sh -c 'if test -e "$1"; then grep -F "\"event\":\"request\"" "$1" | grep -cFf "$2"; else echo 0; fi; true' \
		sh "$1" "$GDIR/ids"
}
putids() { g sh -c "cat >$GDIR/ids" <<<"$1"; }
log=/var/log/loyalty/loyaltyd.log
ids_before=$(send $N)
is "$(grep -c . <<<"$ids_before")" "$N" "$N requests before the rotation, each with a request id"
putids "$ids_before"
for ((i = 0; i < 50; i++)); do [ "$(logged $log)" = "$N" ] && break; sleep 0.1; done
is "$(logged $log)" "$N" "all $N are in loyaltyd.log before the rotation"
out=$(g logrotate -f /etc/logrotate.d/loyalty 2>&1)
is "$?" 0 "logrotate -f /etc/logrotate.d/loyalty succeeds" || diag "$out"
is "$(g stat -c '%a %U:%G' $log 2>&1)" "640 loyalty:adm" "a new loyaltyd.log, 0640 loyalty:adm"
for ((i = 0; i < 50; i++)); do g grep -qF '"event":"reopen"' $log && break; sleep 0.1; done
check "the daemon reopened its log (a reopen event in the new file)" g grep -qF '"event":"reopen"' $log
sleep 0.5 # the workers reopen when the master's signal interrupts their accept
ids_after=$(send $N)
is "$(grep -c . <<<"$ids_after")" "$N" "$N requests after the rotation"
putids "$ids_after"
for ((i = 0; i < 50; i++)); do [ "$(logged $log)" = "$N" ] && break; sleep 0.1; done
after_new=$(logged $log) after_old=$(logged $log.1)
putids "$ids_before"
before_new=$(logged $log) before_old=$(logged $log.1)
is "$after_new $after_old" "$N 0" "the $N requests after the rotation: all in the new loyaltyd.log, none in loyaltyd.log.1"
is "$before_old $before_new" "$N 0" "the $N before: all in loyaltyd.log.1, none in the new file"
is "$((before_old + before_new + after_old + after_new))" "$((2 * N))" \
	"no line lost: $((2 * N)) request lines for $((2 * N)) requests across both files"
evidence

# --- item 9: upgrade under load ----------------------------------------------
step "item 9: upgrade to $V2 under load"
sum1=$(sha)
pid=$(main_pid)
under_load "the upgrade to $V2" "$MIN_DURING_UPGRADE" sh -c "$(install_cmd "$V2" "$DEB2" "$NDEB2")"
is "$OP_RC" 0 "apt-get install ./$DEB2 ./$NDEB2 succeeds" || diag "$(tail -n 20 <<<"$OP_OUT")"
is "$(g dpkg-query -W -f '${Version} ' loyalty loyalty-nginx)" "$V2 $V2 " "both packages at $V2"
out=$(g loyaltyctl migrate status 2>&1)
like "$out" "$((10#$NEXT)) +${MIG%.sql}(\.sql)? +applied" "the new migration $MIG is applied" || diag "$out"
like "$out" "$((10#$NEXT)) applied, 0 pending" "nothing pending"
out=$(g curl -sk https://127.0.0.1/health/version)
like "$out" "\"version\":\"${V2//+/\\+}\"" "/health/version shows $V2" || diag "$out"
like "$out" "\"schema_version\":$((10#$NEXT))," "and schema version $((10#$NEXT))"
new=$(main_pid)
if [ -n "$new" ] && [ "$new" != 0 ] && [ "$new" != "$pid" ]; then
	pass "the upgrade restarted the daemon ($pid -> $new)"
else
	fail "the upgrade restarted the daemon" "before $pid, after $new"
fi
is "$(wait_code 15 /health/ready 200)" 200 "/health/ready answers 200 on $V2"
is "$(sha)" "$sum1" "the secrets file is unchanged by the upgrade (sha256)"
evidence

# --- item 10: reboot ---------------------------------------------------------
step "item 10: reboot"
vps_reboot "$G1"
is "$?" 0 "the guest reboots"
is "$(g systemctl is-active loyalty.socket loyalty.service nginx postgresql | tr '\n' ' ')" \
	"active active active active " "loyalty, nginx and PostgreSQL are active after the reboot"
is "$(wait_code 30 /health/ready 200)" 200 "/health/ready answers 200 after the reboot"
is "$(g systemctl is-active loyalty-backup.timer loyalty-check.timer loyalty-maintenance.timer \
	loyalty-expire.timer | tr '\n' ' ')" "active active active active " "the timers are active after the reboot"
evidence

# --- item 9: remove, purge, and what is left -----------------------------------
step "remove"
sum1=$(sha)
out=$(g env DEBIAN_FRONTEND=noninteractive apt-get remove -y loyalty loyalty-nginx 2>&1)
is "$?" 0 "apt-get remove succeeds" || diag "$(tail -n 20 <<<"$out")"
is "$(g dpkg-query -W -f '${db:Status-Abbrev}' loyalty loyalty-nginx)" "rc rc " "both removed, configuration kept"
is "$(g systemctl is-active loyalty.socket loyalty.service)" "$(printf 'inactive\ninactive')" "the socket and the service are stopped"
check "remove keeps loyalty.conf" g test -s /etc/loyalty/loyalty.conf
is "$(sha)" "$sum1" "remove keeps the secrets file, unchanged"
check "remove keeps the logs" g test -s /var/log/loyalty/loyaltyd.log
is "$(psql_q "select count(*) from schema_migrations" loyalty)" "$((10#$NEXT))" "remove keeps the database"

step "purge"
out=$(g env DEBIAN_FRONTEND=noninteractive apt-get purge -y loyalty loyalty-nginx 2>&1)
is "$?" 0 "apt-get purge succeeds" || diag "$(tail -n 20 <<<"$out")"
g dpkg-query -W loyalty loyalty-nginx >/dev/null 2>&1
cmp_num "$?" -ne 0 "dpkg knows neither package any more"
check "purge removes /etc/loyalty (configuration and secrets)" g test ! -e /etc/loyalty
check "purge removes /var/log/loyalty" g test ! -e /var/log/loyalty
check "purge removes the user loyalty" gsh '! getent passwd loyalty'
check "purge removes the group loyalty" gsh '! getent group loyalty'
is "$(g sh -c 'ls /var/lib/systemd/timers | grep loyalty')" "" "purge removes the timers' stamp files"
is "$(psql_q "select count(*) from schema_migrations" loyalty)" "$((10#$NEXT))" \
	"purge keeps the database (documented in the postrm and packaging/README.md)"
check "purge keeps the backups (documented)" gsh 'ls /var/backups/loyalty/loyalty-*.dump'

# Everything but the documented data must be as before the installation.
g rm -rf "$GDIR"
fs_list >"$WORK/fs.after"
changes=$(diff "$WORK/fs.before" "$WORK/fs.after" | grep '^[<>]' |
	grep -vE '^[<>] [a-z] [^ ]+ [0-7]+ (/var/lib/postgresql/|/var/backups/loyalty( |/))')
is "$changes" "" "after the purge the file system is as before the installation, but for the database and the backups"
diag "kept data: $(diff "$WORK/fs.before" "$WORK/fs.after" | grep -cE '^> .* /var/lib/postgresql/') new paths under /var/lib/postgresql, $(g ls /var/backups/loyalty | wc -l) files in /var/backups/loyalty"
evidence

step "done: image ${VPS_IMAGE_SECONDS} s (0 = cached); exposure offline $OFFLINE_SCORE, in the guest $GUEST_SCORE"
done_testing
