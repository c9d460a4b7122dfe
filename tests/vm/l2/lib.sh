# SPDX-License-Identifier: GPL-2.0
#
# Helpers for suites that boot an L2 guest with vbus-vm inside the test VM
# (sourced from bash, run from the project top, after tests/vm/lib.sh).
#
#   l2_kver                      the kernel release L2 guests boot: the
#                                test VM's, or $VBUS_L2_KVER
#   l2_kernel                    its image, /boot/vmlinuz-<kver>, or the
#                                build tree's bzImage for a kernel built
#                                from source (scripts/debug-kernel)
#   l2_load_kvm                  load KVM with nested virtualization
#   l2_mkinitrd OUT SCRIPT [mkinitrd options]
#                                an L2 initramfs (tests/vm/l2/mkinitrd);
#                                a --ko path is taken in $VBUS_L2_TREE
#                                when set (modules built for
#                                $VBUS_L2_KVER)
#   l2_start LOG [vbus-vm args]  start vbus-vm in the background: the
#                                guest's console and vbus-vm's messages
#                                in LOG (its messages in $L2_ERR instead,
#                                if set), stdin from $L2_STDIN (default
#                                /dev/null); sets L2_PID.  kill -USR1
#                                $L2_PID prints vbus-vm's counters.
#   l2_wait LOG ERE [SECONDS]    wait for a line of LOG matching ERE;
#                                fails (1) on timeout (default 120 s of
#                                wall-clock time) or when vbus-vm exits
#                                first (then shows the end of LOG and of
#                                $L2_ERR); with $L2_SILENT set, fails (2)
#                                as soon as LOG has not grown for that
#                                many seconds
#   l2_boot LOG ERE SECONDS [vbus-vm args]
#                                l2_start, then l2_wait for ERE; a guest
#                                that triple-faults before ERE is started
#                                once more (nested KVM under TCG has been
#                                seen to do that in early boot while
#                                another L2 guest runs), and so is one
#                                whose console stays silent for $L2_QUIET
#                                seconds (default 120) before ERE, as for
#                                l2_run; the first attempt's log is kept
#                                in LOG.1 (and $L2_ERR.1), the retry noted
#                                as a TAP comment on stdout
#   l2_stop [SIGNAL]             signal vbus-vm (default TERM, KILL after
#                                10 s) and reap it; sets L2_STATUS
#   l2_wait_exit [SECONDS]       wait for vbus-vm to exit by itself; sets
#                                L2_STATUS (124: killed at the timeout)
#   l2_run LOG SECONDS [args]    run vbus-vm to its end with a timeout
#                                (output as for l2_start); sets L2_STATUS
#                                (124: timed out).  A guest whose console
#                                stays silent for $L2_QUIET seconds
#                                (default 120) is stopped (vbus-vm's
#                                counters printed twice first, 2 s
#                                apart) and started once more (nested
#                                KVM under TCG with a debug kernel has
#                                been seen to stop so, the host
#                                kernel reporting nothing), and so is one
#                                that triple-faults, as for l2_boot; the
#                                first attempt's log is kept in LOG.1
#                                (and $L2_ERR.1), its end and the retry
#                                noted as TAP comments
#   l2_expect LOG ERE [ERR]      for a check: LOG has a line matching ERE;
#                                if not, shows vbus-vm's status and the
#                                end of LOG and of ERR
#   l2_result LOG                the status the guest's script reported
#   l2_value LOG KEY             the value of the guest's "KEY=value" line
#   l2_bin_files BIN...          mkinitrd --file options for programs of
#                                the host with their shared libraries
#
# A guest that triple-faults with nothing on its console (no oops, no
# panic: a guest kernel that crashes says so first) and is not started
# again is an emulator breakdown: nested KVM under TCG does that now and
# then to a guest that runs next to another one.  l2_wait, l2_wait_exit,
# l2_stop and l2_run record it with emulator_broke (tests/vm/lib.sh),
# so that a suite failing after it is tried again.
#
# Every time limit in SECONDS is wall-clock time (a slow test VM makes
# each poll of a log slower, not the limit longer), multiplied by
# $VBUS_VM_SLOW (tests/vm/run --slow; make check-debug sets it for its
# slower kernel).

VBUS_VM=${VBUS_VM:-build/cmake/tools/vbus-vm/vbus-vm}
L2_PID=""
L2_STATUS=""
L2_LOG=""

l2_kver() {
	if [ -n "${VBUS_L2_KVER:-}" ]; then
		echo "$VBUS_L2_KVER"
	else
		scripts/kver "${KDIR:-$(scripts/find-kdir)}"
	fi
}

l2_kernel() {
	local kver
	kver=$(l2_kver)
	if [ -f "/boot/vmlinuz-$kver" ]; then
		echo "/boot/vmlinuz-$kver"
	else
		echo "${KDIR:-$(scripts/find-kdir)}/arch/x86/boot/bzImage"
	fi
}

# The polls below start no program: in the test VM each one started
# costs a tenth of a second or more, taken from the nested guest that
# the emulator runs on the same CPUs.  l2_nap SECONDS sleeps as a read
# that times out, on a FIFO that this shell holds open for reading and
# writing (made on the first nap and inherited by subshells; the VM has
# no /dev/fd, so a process substitution cannot stand in for it), or with
# sleep(1) if that fails.
L2_NAP_FD=""
l2_nap() {
	local f
	if [ -z "$L2_NAP_FD" ]; then
		f=$(mktemp -u "${TMPDIR:-/tmp}/l2-nap.XXXXXX") && mkfifo -m 600 "$f" &&
			{ exec {L2_NAP_FD}<>"$f"; } 2>/dev/null || L2_NAP_FD=""
		rm -f "$f"
	fi
	if [ -n "$L2_NAP_FD" ]; then
		read -r -t "$1" -u "$L2_NAP_FD" _
		[ $? -gt 128 ] && return 0
	fi
	sleep "$1"
}

# l2_scan FD ERE: read the lines added to the log open on FD since the
# last scan; succeeds when one matches ERE.  A last line still being
# written is matched as it is so far (as grep would) and kept in
# l2_part, to be completed by the next scan.
l2_part=""
l2_scan() {
	local line
	while IFS= read -r -u "$1" line; do
		line=$l2_part$line
		l2_part=""
		[[ $line =~ $2 ]] && return 0
	done
	[ -n "$line" ] || return 1
	l2_part+=$line
	[[ $l2_part =~ $2 ]]
}

# A time limit scaled for a slow kernel.
l2_limit() {
	echo $(($1 * ${VBUS_VM_SLOW:-1}))
}

l2_load_kvm() {
	modprobe kvm_amd nested=1 2>/dev/null || modprobe kvm_intel nested=1 2>/dev/null
	[ -c /dev/kvm ] && kvm_keep_on
}

l2_mkinitrd() {
	local out=$1 script=$2 args=()
	shift 2
	while [ $# -gt 0 ]; do
		if [ "$1" = --ko ] && [ -n "${VBUS_L2_TREE:-}" ]; then
			args+=(--ko "$VBUS_L2_TREE/$2")
			shift 2
		else
			args+=("$1")
			shift
		fi
	done
	tests/vm/l2/mkinitrd --script "$script" "${args[@]}" "$(l2_kver)" "$out"
}

l2_start() {
	local log=$1
	shift
	L2_LOG=$log
	if [ -n "${L2_ERR:-}" ]; then
		"$VBUS_VM" "$@" <"${L2_STDIN:-/dev/null}" >"$log" 2>"$L2_ERR" &
	else
		"$VBUS_VM" "$@" <"${L2_STDIN:-/dev/null}" >"$log" 2>&1 &
	fi
	L2_PID=$!
}

l2_wait() {
	local log=$1 pattern=$2 limit end quiet="" rc
	limit=$(l2_limit "${3:-120}")
	end=$((SECONDS + limit))
	[ -z "${L2_SILENT:-}" ] || quiet=$(l2_limit "$L2_SILENT")
	# The log is read from its start on a descriptor of this call's
	# own, then line by line as it grows.
	L2_WAIT_FD=""
	l2_part=""
	l2_looked=-1
	while :; do
		l2_wait_found "$log" "$pattern" && rc=0 && break
		if [ -n "$L2_PID" ] && ! kill -0 "$L2_PID" 2>/dev/null; then
			l2_wait_found "$log" "$pattern" && rc=0 && break
			echo "l2_wait: vbus-vm $L2_PID exited before /$pattern/ in $log" >&2
			[ -n "${L2_RETRY:-}" ] || l2_note_breakdown "$log"
			l2_tail "$log"
			rc=1
			break
		fi
		if [ $SECONDS -ge $end ]; then
			echo "l2_wait: no /$pattern/ in $log after ${limit}s" >&2
			l2_tail "$log"
			rc=1
			break
		fi
		if [ -n "$quiet" ] && l2_silent "$log" "$quiet"; then
			echo "l2_wait: no /$pattern/ in $log, silent for ${quiet}s" >&2
			l2_tail "$log"
			rc=2
			break
		fi
		l2_nap 0.2
	done
	[ -z "$L2_WAIT_FD" ] || exec {L2_WAIT_FD}<&-
	L2_WAIT_FD=""
	return $rc
}

# l2_wait_found LOG ERE: LOG, open on L2_WAIT_FD (opened on the first
# call), has a line matching ERE.
l2_wait_found() {
	if [ -z "$L2_WAIT_FD" ]; then
		{ exec {L2_WAIT_FD}<"$1"; } 2>/dev/null || { L2_WAIT_FD=""; return 1; }
	fi
	l2_scan "$L2_WAIT_FD" "$2"
}

l2_boot() {
	local log=$1 pattern=$2 limit=$3 rc
	shift 3
	l2_start "$log" "$@"
	L2_RETRY=1 L2_SILENT=${L2_QUIET:-120} l2_wait "$log" "$pattern" "$limit" 2>"$log.wait"
	rc=$?
	if [ $rc = 0 ]; then
		return 0
	elif [ $rc = 2 ]; then
		l2_stop_silent
		l2_retry l2_boot "$log" \
			"the guest's console was silent for $(l2_limit "${L2_QUIET:-120}")s before /$pattern/"
	elif kill -0 "$L2_PID" 2>/dev/null || ! l2_triple_faulted "$log"; then
		cat "$log.wait" >&2
		return 1
	else
		wait "$L2_PID" 2>/dev/null
		l2_retry l2_boot "$log" "the guest triple-faulted before /$pattern/"
	fi
	l2_start "$log" "$@"
	L2_SILENT=${L2_QUIET:-120} l2_wait "$log" "$pattern" "$limit"
}

# The last lines of each FILE, as TAP comments.
l2_last_lines() { # FILE...
	local f
	for f in "$@"; do
		tail -n 5 "$f" | tr -d '\r' | sed 's/^/#   /'
	done
}

# A first attempt of FN failed for REASON and is tried again: its LOG
# (and $L2_ERR) become LOG.1 ($L2_ERR.1), and TAP comments say why, with
# the last lines of both.
l2_retry() { # FN LOG REASON
	mv "$2" "$2.1"
	[ -z "${L2_ERR:-}" ] || mv "$L2_ERR" "$L2_ERR.1"
	echo "# $1: $3; the last lines of its log:"
	l2_last_lines "$2.1" ${L2_ERR:+"$L2_ERR.1"}
	echo "# $1: starting it again"
}

# The end of an L2 log (and of $L2_ERR), for a failing check's diagnostics.
l2_tail() {
	local f
	for f in "$1" ${L2_ERR:+"$L2_ERR"}; do
		echo "l2_wait: last lines of $f:" >&2
		tail -n "${L2_TAIL:-25}" "$f" 2>/dev/null | tr -d '\r' >&2
	done
}

l2_wait_exit() {
	local end
	end=$((SECONDS + $(l2_limit "${1:-120}")))
	[ -n "$L2_PID" ] || return 1
	while kill -0 "$L2_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do
		l2_nap 0.2
	done
	if kill -0 "$L2_PID" 2>/dev/null; then
		kill -KILL "$L2_PID" 2>/dev/null
		wait "$L2_PID" 2>/dev/null
		L2_STATUS=124
	else
		wait "$L2_PID"
		L2_STATUS=$?
		l2_note_breakdown "$L2_LOG"
	fi
	L2_PID=""
}

l2_stop() {
	local sig=${1:-TERM} end=$((SECONDS + 10))
	[ -n "$L2_PID" ] || return 1
	kill -0 "$L2_PID" 2>/dev/null || l2_note_breakdown "$L2_LOG"
	kill -"$sig" "$L2_PID" 2>/dev/null
	while kill -0 "$L2_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do
		l2_nap 0.2
	done
	kill -KILL "$L2_PID" 2>/dev/null
	# Quiet: bash would report a VMM it killed ("Killed") here.
	wait "$L2_PID" 2>/dev/null
	L2_STATUS=$?
	L2_PID=""
}

# Seconds since LOG was last written (its modification time): how long
# a guest's console has been silent.
l2_quiet_for() { # LOG
	local mtime
	mtime=$(stat -c %Y "$1" 2>/dev/null) || mtime=$EPOCHSECONDS
	echo $((EPOCHSECONDS - mtime))
}

# l2_silent LOG SECONDS: LOG has not been written for SECONDS seconds.
# A poll looks at most once a second (the first poll of a wait, after
# l2_looked=-1, at once): its stat(1) is a program started.
l2_looked=-1
l2_silent() {
	[ "$SECONDS" != "$l2_looked" ] || return 1
	l2_looked=$SECONDS
	[ "$(l2_quiet_for "$1")" -ge "$2" ]
}

# Stop the guest of a console that fell silent, first asking vbus-vm
# twice, 2 s apart, for its counters (SIGUSR1, into $L2_ERR or the log):
# exits still counting tell a guest that runs from one that stopped.
l2_stop_silent() {
	kill -USR1 "$L2_PID" 2>/dev/null && sleep 2 &&
		kill -USR1 "$L2_PID" 2>/dev/null && sleep 1
	l2_stop KILL
}

# One run of vbus-vm for l2_run: LOG SECONDS QUIET [args]; returns 1 if
# the guest's console stayed silent for QUIET seconds (vbus-vm stopped).
l2_run_once() {
	local log=$1 limit=$2 quiet=$3 start=$SECONDS
	shift 3
	l2_start "$log" "$@"
	l2_looked=-1
	while kill -0 "$L2_PID" 2>/dev/null; do
		if [ $((SECONDS - start)) -ge "$limit" ]; then
			l2_stop KILL
			L2_STATUS=124
			return 0
		fi
		if l2_silent "$log" "$quiet"; then
			l2_stop_silent
			L2_STATUS=124
			return 1
		fi
		l2_nap 0.2
	done
	wait "$L2_PID"
	L2_STATUS=$?
	L2_PID=""
}

# Whether the guest of an L2 run that ended in LOG (and $L2_ERR)
# triple-faulted.
l2_triple_faulted() {
	grep -q 'shut down (triple fault)' "$1" ${L2_ERR:+"$L2_ERR"} 2>/dev/null
}

# If the guest of LOG triple-faulted with nothing on its console,
# record an emulator breakdown (see the top of this file).
l2_note_breakdown() { # LOG
	l2_triple_faulted "$1" || return 0
	grep -Eq 'Kernel panic|Oops|BUG:|general protection|double fault|Call Trace' "$1" &&
		return 0
	emulator_broke "an L2 guest triple-faulted with nothing on its console ($1)"
}

l2_run() {
	local log=$1 limit quiet
	limit=$(l2_limit "$2")
	quiet=$(l2_limit "${L2_QUIET:-120}")
	shift 2
	if ! l2_run_once "$log" "$limit" "$quiet" "$@"; then
		l2_retry l2_run "$log" "the guest's console was silent for ${quiet}s"
	elif [ "$L2_STATUS" = 0 ] && l2_triple_faulted "$log"; then
		l2_retry l2_run "$log" "the guest triple-faulted"
	else
		return 0
	fi
	if l2_run_once "$log" "$limit" "$quiet" "$@"; then
		l2_note_breakdown "$log"
		return 0
	fi
	echo "# l2_run: silent for ${quiet}s again; its last lines:"
	l2_last_lines "$log"
}

# For a check: LOG has a line matching ERE; if not, say so with vbus-vm's
# status and the last lines of LOG and of ERR (its stderr, if apart).
l2_expect() { # LOG ERE [ERR]
	grep -Eq -- "$2" "$1" && return 0
	echo "no /$2/ in $1 (vbus-vm's status: ${L2_STATUS:-?}); the end of it${3:+ and of $3}:"
	l2_last_lines "$1" ${3:+"$3"}
	return 1
}

l2_result() {
	sed -n 's/^L2-RESULT: \([0-9]*\).*/\1/p' "$1" | tail -n 1
}

l2_value() {
	sed -n "s/^$2=//p" "$1" | tr -d '\r' | tail -n 1
}

l2_bin_files() {
	local b p
	for b in "$@"; do
		p=$(command -v "$b") || { echo "l2_bin_files: no $b" >&2; return 1; }
		for f in "$p" $(ldd "$p" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
			printf -- '--file\n%s\n' "$f"
		done
	done
}
