# shellcheck shell=bash
# t/lib/vps.sh — throwaway Debian 12 machines with systemd as PID 1, for the
# package test (t/package.t): a cached root file system made by mmdebstrap,
# booted with systemd-nspawn on an overlay, so each guest starts clean and
# everything it writes is deleted when it stops.
#
#   vps_image PKG...        the root file system with these packages baked in
#                           (the guest has no network), cached under
#                           $VPS_ROOT keyed by suite + package list; sets
#                           VPS_IMAGE and VPS_IMAGE_SECONDS (0 when cached)
#   vps_boot NAME           boots a fresh guest on the image, waits until
#                           `systemctl is-system-running` says running or
#                           degraded
#   vps_exec NAME CMD...    runs CMD as root inside (all of the guest's
#                           namespaces, a clean environment); exit status and
#                           output are CMD's
#   vps_copy_in NAME SRC DIR  a file or directory into DIR of the guest
#   vps_reboot NAME         `systemctl reboot` inside, waits for the new boot
#   vps_stop NAME           shuts the guest down (SIGKILL after 60 s),
#                           unmounts and deletes it
#   vps_stop_all            every guest this shell booted (for an EXIT trap)
#
# What systemd-nspawn needs on these machines (PID 1 of the host is not
# systemd, cgroups are a v1/hybrid layout); learnt from the shared harness
# (../shared/harness/vps/README.md):
#   --register=no --keep-unit  nothing to register with, no scope to make;
#                              without both, nspawn fails to open the bus
#   SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1  a pure cgroup2 tree inside, like a
#                              real Debian 12
#   a cgroup of its own        per guest, made here, or two guests would share
#                              nspawn's payload/ cgroup
#   --private-network          only a loopback inside: every guest has its own
#                              :80, :443, :5432 and no traffic leaves it, so
#                              clients run inside (vps_exec NAME curl ...)
#   exit status 133            the guest rebooted: start nspawn again on the
#                              same disk (the supervisor below does)
# Clock, kernel and sysctls are the host's.
#
# Settings: LOYALTY_VPS_ROOT (default /var/tmp/loyalty-vps, apart from the
# shared harness's /var/tmp/vps), LOYALTY_VPS_BOOT_TIMEOUT (s, default 180),
# VPS_TIMEOUT=SECONDS for one vps_exec. A guest left by a run that was
# SIGKILLed: its files are in $VPS_ROOT/guests/NAME; vps_stop NAME ends it.

VPS_ROOT=${LOYALTY_VPS_ROOT:-/var/tmp/loyalty-vps}
VPS_SUITE=bookworm
VPS_BOOT_TIMEOUT=${LOYALTY_VPS_BOOT_TIMEOUT:-180}
VPS_LIB=$(readlink -f "${BASH_SOURCE[0]}")
VPS_TOP=$(cd "$(dirname "$VPS_LIB")/../.." && pwd)
VPS_BOOTED=()

vps_say() { printf '# vps: %s\n' "$*" >&2; }

# _vps_pid FILE: the PID recorded in FILE as "pid starttime", if that very
# process still runs (a reused PID has another start time).
_vps_starttime() { sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
_vps_pid() {
	local pid st
	[ -s "$1" ] || return 0
	read -r pid st <"$1" || return 0
	[ -n "$pid" ] && [ "$(_vps_starttime "$pid")" = "$st" ] &&
		! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && printf '%s' "$pid"
	return 0
}
_vps_dir() { printf '%s/guests/%s' "$VPS_ROOT" "$1"; }

# _vps_children PID: its child processes.
_vps_children() { cat /proc/"$1"/task/*/children 2>/dev/null; }

# _vps_nspawn NAME: PID of the running systemd-nspawn (a child of the
# supervisor); _vps_leader NAME: the guest's PID 1 (nspawn's child in another
# PID namespace).
_vps_nspawn() {
	local sp c
	sp=$(_vps_pid "$(_vps_dir "$1")/supervisor")
	[ -n "$sp" ] || return 0
	for c in $(_vps_children "$sp"); do
		if [ "$(readlink "/proc/$c/exe" 2>/dev/null)" = "$(command -v systemd-nspawn)" ]; then
			printf '%s' "$c"
			return 0
		fi
	done
}
_vps_leader() {
	local np c
	np=$(_vps_nspawn "$1")
	[ -n "$np" ] || return 0
	for c in $(_vps_children "$np"); do
		if [ "$(readlink "/proc/$c/ns/pid")" != "$(readlink "/proc/$np/ns/pid")" ]; then
			printf '%s' "$c"
			return 0
		fi
	done
}

# --- the image -------------------------------------------------------------
vps_image() {
	local pkgs key dir src start=$SECONDS
	pkgs=$(printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' ')
	key=$(printf 'suite=%s variant=important packages=%s\n' "$VPS_SUITE" "$pkgs" |
		sha256sum | cut -c1-16)
	dir=$VPS_ROOT/image-$key
	VPS_IMAGE=$dir/rootfs
	VPS_IMAGE_SECONDS=0
	"$VPS_TOP/scripts/deps" mmdebstrap systemd-container util-linux || return 1
	mkdir -p "$VPS_ROOT"
	rm -f "$VPS_ROOT/built.$$"
	(
		flock 9
		[ -f "$dir/done" ] && exit 0
		if [ -f /etc/apt/sources.list.d/debian.sources ]; then
			src=/etc/apt/sources.list.d/debian.sources
		else
			src=/etc/apt/sources.list
		fi
		vps_say "building the image with mmdebstrap into $dir: $pkgs"
		rm -rf "$dir"
		mkdir -p "$dir"
		# The host's mirror. No machine-id: each guest makes its own at
		# its first boot; no firstboot questions.
		if ! mmdebstrap --mode=root --variant=important \
			--include="$(printf '%s' "$pkgs" | tr ' ' ',' | sed 's/,$//')" \
			--aptopt='Acquire::Retries "3"' \
			--customize-hook=': >"$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"' \
			--customize-hook='ln -sf /dev/null "$1/etc/systemd/system/systemd-firstboot.service"' \
			--customize-hook='printf "127.0.0.1\tlocalhost\n127.0.1.1\tvps\n::1\tlocalhost ip6-localhost ip6-loopback\n" >"$1/etc/hosts"' \
			"$VPS_SUITE" "$dir/rootfs.tmp" "$src" </dev/null >"$dir/mmdebstrap.log" 2>&1; then
			tail -n 30 "$dir/mmdebstrap.log" | sed 's/^/# /' >&2
			exit 1
		fi
		mv "$dir/rootfs.tmp" "$dir/rootfs"
		printf '%s\n' "$pkgs" >"$dir/packages"
		touch "$dir/done"
		echo $((SECONDS - start)) >"$VPS_ROOT/built.$$"
		# Images of other package lists go, unless a guest runs on one.
		for old in "$VPS_ROOT"/image-*; do
			[ "$old" != "$dir" ] || continue
			grep -qsF "lowerdir=$old/" /proc/self/mountinfo || rm -rf "$old"
		done
	) 9>"$VPS_ROOT/image.lock" || return 1
	if [ -f "$VPS_ROOT/built.$$" ]; then
		VPS_IMAGE_SECONDS=$(cat "$VPS_ROOT/built.$$")
		rm -f "$VPS_ROOT/built.$$"
	fi
	[ -f "$dir/done" ]
}

# --- guests ----------------------------------------------------------------
vps_boot() {
	local name=$1 d deadline
	d=$(_vps_dir "$name")
	[ -n "${VPS_IMAGE:-}" ] && [ -d "$VPS_IMAGE" ] || { vps_say "no image (vps_image first)"; return 1; }
	[[ $name =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || { vps_say "bad guest name $name"; return 1; }
	[ ! -e "$d" ] || vps_stop "$name"
	VPS_BOOTED+=("$name")
	mkdir -p "$d/upper" "$d/work" "$d/root"
	mount -t overlay "vps-$name" \
		-o "lowerdir=$VPS_IMAGE,upperdir=$d/upper,workdir=$d/work" "$d/root" || return 1
	echo "$name" >"$d/root/etc/hostname"
	sed -i "s/^127\.0\.1\.1\s.*/127.0.1.1\t$name/" "$d/root/etc/hosts"

	# A cgroup of its own in each hierarchy nspawn uses; the supervisor
	# moves itself there before it starts nspawn.
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup/loyalty-vps/$name"
	else
		[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ] ||
			echo "/sys/fs/cgroup/unified/loyalty-vps/$name"
		[ ! -d /sys/fs/cgroup/systemd ] || echo "/sys/fs/cgroup/systemd/loyalty-vps/$name"
	fi >"$d/cgroups"
	# --console=read-only: the guest's console goes to console.log.
	# --link-journal=no: its journal stays inside. --suppress-sync: fsync
	# is a no-op in there (nothing here tests crash safety).
	printf '%s\0' --quiet --boot --directory="$d/root" --machine="$name" \
		--register=no --keep-unit --private-network \
		--resolv-conf=off --timezone=off --link-journal=no \
		--console=read-only --suppress-sync=yes >"$d/args"

	setsid bash "$VPS_LIB" __supervise "$d" </dev/null >>"$d/console.log" 2>&1 &
	deadline=$((SECONDS + VPS_BOOT_TIMEOUT))
	_vps_wait_running "$name" "" $deadline
}

# _vps_wait_running NAME OLD_LEADER DEADLINE: until the guest has a PID 1
# other than OLD_LEADER and its systemd says running or degraded (early in
# the boot the bus is not there yet: ask again).
_vps_wait_running() {
	local name=$1 old=$2 deadline=$3 d lp state=''
	d=$(_vps_dir "$name")
	while [ $SECONDS -lt "$deadline" ] && [ ! -e "$d/exit" ]; do
		lp=$(_vps_leader "$name")
		if [ -n "$lp" ] && [ "$lp" != "$old" ]; then
			echo "$lp $(_vps_starttime "$lp")" >"$d/leader"
			state=$(VPS_TIMEOUT=$((deadline - SECONDS + 1)) vps_exec "$name" \
				systemctl is-system-running --wait 2>/dev/null)
			case $state in
			running | degraded) return 0 ;;
			esac
		fi
		sleep 0.1
	done
	vps_say "$name did not boot (state: ${state:-no PID 1}); the end of its console:"
	tail -n 20 "$d/console.log" | sed 's/^/# /' >&2
	return 1
}

vps_exec() {
	local name=$1 lp pre=()
	shift
	lp=$(_vps_leader "$name")
	[ -n "$lp" ] || { echo "vps: guest $name is not running" >&2; return 125; }
	# VPS_TIMEOUT=SECONDS: give up then (exit 124).
	[ -z "${VPS_TIMEOUT:-}" ] || pre=(timeout "$VPS_TIMEOUT")
	"${pre[@]}" nsenter --target "$lp" --mount --uts --ipc --net --pid --cgroup --root --wd -- \
		/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 \
		SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0 "$@"
}

vps_copy_in() {
	local name=$1 src=$2 dst=$3
	if [ -d "$src" ]; then
		tar -C "$src" -cf - . | vps_exec "$name" sh -c \
			'mkdir -p "$1" && tar -xf - --no-same-owner -C "$1"' sh "$dst"
	else
		vps_exec "$name" sh -c 'mkdir -p "$1" && cat >"$1/$2" && chmod "$3" "$1/$2"' \
			sh "$dst" "$(basename "$src")" "$(stat -c %a "$src")" <"$src"
	fi
}

vps_reboot() {
	local name=$1 old
	old=$(_vps_leader "$name")
	[ -n "$old" ] || return 1
	vps_exec "$name" systemctl reboot || return 1
	_vps_wait_running "$name" "$old" $((SECONDS + VPS_BOOT_TIMEOUT))
}

vps_stop() {
	local name=$1 d np lp sp i cg
	d=$(_vps_dir "$name")
	[ -d "$d" ] || return 0
	touch "$d/stopping"
	# Between the two boots of a reboot, nspawn is briefly absent.
	for ((i = 0; i < 50; i++)); do
		np=$(_vps_nspawn "$name")
		[ -z "$np" ] && [ -n "$(_vps_pid "$d/supervisor")" ] || break
		sleep 0.1
	done
	if [ -n "$np" ]; then
		# SIGTERM to nspawn: an orderly shutdown of the guest.
		kill -TERM "$np" 2>/dev/null
		for ((i = 0; i < 600; i++)); do
			[ -n "$(_vps_nspawn "$name")" ] || break
			sleep 0.1
		done
		np=$(_vps_nspawn "$name")
		if [ -n "$np" ]; then
			vps_say "$name did not shut down in 60 s; killing it"
			kill -KILL "$np" 2>/dev/null
		fi
	fi
	# A guest whose nspawn is gone: killing PID 1 of its PID namespace
	# kills every process in it.
	lp=$(_vps_pid "$d/leader")
	if [ -n "$lp" ]; then
		kill -KILL "$lp" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			[ -n "$(_vps_pid "$d/leader")" ] || break
			sleep 0.1
		done
	fi
	for ((i = 0; i < 50; i++)); do
		sp=$(_vps_pid "$d/supervisor")
		[ -n "$sp" ] || break
		sleep 0.1
	done
	[ -z "$sp" ] || kill -KILL "$sp" 2>/dev/null
	if mountpoint -q "$d/root"; then
		umount "$d/root" 2>/dev/null || umount -l "$d/root"
	fi
	while read -r cg; do
		[ -n "$cg" ] && [ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
		rmdir "$(dirname "$cg")" 2>/dev/null	# when no other guest uses it
	done <"$d/cgroups"
	# nspawn leaves this behind when /run is not a tmpfs.
	rm -rf "/run/systemd/nspawn/propagate/$name"
	rm -rf "$d"
}

vps_stop_all() {
	local n
	for n in "${VPS_BOOTED[@]}"; do
		vps_stop "$n"
	done
	VPS_BOOTED=()
}

# The supervisor, started by vps_boot under setsid (its own session: the
# caller's terminal signals do not reach the guest): moves itself into the
# guest's cgroups, runs nspawn, and runs it again when the guest rebooted
# (exit status 133), unless vps_stop is stopping it.
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ "${1:-}" = __supervise ]; then
	d=$2
	echo "$$ $(_vps_starttime $$)" >"$d/supervisor"
	while read -r cg; do
		[ -z "$cg" ] || { mkdir -p "$cg" && echo $$ >"$cg/cgroup.procs"; } || exit 1
	done <"$d/cgroups"
	mapfile -d '' args <"$d/args"
	export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
	while :; do
		rc=0
		systemd-nspawn "${args[@]}" </dev/null || rc=$?
		if [ "$rc" = 133 ] && [ ! -e "$d/stopping" ]; then
			echo "[vps.sh] the guest rebooted; starting it again"
			continue
		fi
		echo "$rc" >"$d/exit"
		exit 0
	done
fi
