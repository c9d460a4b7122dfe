# SPDX-License-Identifier: GPL-2.0
#
# Minimal TAP producer for the shell test suites (sourced, POSIX sh).
#
#   check "description" command [arg...]   pass when the command succeeds
#   check_here "description" command ...  like check, but the command runs
#                                          in this shell (variables it sets and
#                                          processes it starts stay here); its
#                                          standard output goes straight out,
#                                          so it may print TAP comments
#   check_fails "description" command ...  pass when the command fails
#   check_fails_with "description" ERE command ...
#                                          pass when it fails and its output
#                                          matches the extended regex ERE
#   ok "description" / not_ok "description"
#   tap_include command [arg...]           run a TAP producer, counting its
#                                          tests as this suite's own
#   done_testing                           prints the plan; non-zero status
#                                          when a test failed or none ran

t_count=0
t_failed=0

# The time in seconds.  Under an emulator every program started costs a
# tenth of a second or more, so bash's clock (EPOCHSECONDS) is used where
# there is one, and date(1) only in other shells.
t_clock() {
	t_now=${EPOCHSECONDS:-$(date +%s)}
}
t_clock
t_last=$t_now

# After a test that took T_SLOW seconds or more since the one before: a
# comment with its time, to show where a suite spends it.
t_time() {
	t_clock
	[ $((t_now - t_last)) -lt "${T_SLOW:-10}" ] || echo "# ($((t_now - t_last)) s)"
	t_last=$t_now
}

ok() {
	t_count=$((t_count + 1))
	echo "ok $t_count - $*"
	t_time
}

not_ok() {
	t_count=$((t_count + 1))
	t_failed=$((t_failed + 1))
	echo "not ok $t_count - $*"
	t_time
}

# Run a command, keep its output, show the output only on failure.
t_run() {
	t_out=$("$@" 2>&1)
}

t_show() {
	printf '%s\n' "$t_out" | sed 's/^/#   /'
}

check() {
	t_desc=$1
	shift
	if t_run "$@"; then
		ok "$t_desc"
	else
		not_ok "$t_desc"
		t_show
	fi
}

check_here() {
	t_desc=$1
	shift
	t_err=$(mktemp)
	if "$@" 2>"$t_err"; then
		ok "$t_desc"
	else
		not_ok "$t_desc"
		sed 's/^/#   /' "$t_err"
	fi
	rm -f "$t_err"
}

check_fails() {
	t_desc=$1
	shift
	if t_run "$@"; then
		not_ok "$t_desc (command succeeded)"
		t_show
	else
		ok "$t_desc"
	fi
}

check_fails_with() {
	t_desc=$1
	t_pattern=$2
	shift 2
	if t_run "$@"; then
		not_ok "$t_desc (command succeeded)"
		t_show
	elif ! printf '%s\n' "$t_out" | grep -Eq -- "$t_pattern"; then
		not_ok "$t_desc (failed, but output lacks /$t_pattern/)"
		t_show
	else
		ok "$t_desc"
	fi
}

# t_strip REST: the description of an included test from the rest of
# its line after "ok " or "not ok ", its number, a dash and the blanks
# around it removed, in t_s (no subshell, no program started).
t_strip() {
	t_s=$1
	t_s=${t_s#"${t_s%%[!0-9]*}"}
	t_s=${t_s#"${t_s%%[! ]*}"}
	t_s=${t_s#"${t_s%%[!-]*}"}
	t_s=${t_s#"${t_s%%[! ]*}"}
}

tap_include() {
	t_file=$(mktemp)
	"$@" >"$t_file" 2>&1
	t_rc=$?
	t_before=$t_failed
	# The times, if any, are the included producer's own comments.
	t_clock
	t_last=$t_now
	while IFS= read -r t_line; do
		case $t_line in
		"not ok "*) t_strip "${t_line#not ok }" && not_ok "$t_s" ;;
		"ok "*) t_strip "${t_line#ok }" && ok "$t_s" ;;
		1..*) ;;
		*) echo "$t_line" ;;
		esac
	done <"$t_file"
	rm -f "$t_file"
	if [ "$t_rc" -ne 0 ] && [ "$t_failed" -eq "$t_before" ]; then
		not_ok "$* exited with status $t_rc"
	fi
}

done_testing() {
	echo "1..$t_count"
	if [ "$t_count" -eq 0 ]; then
		echo "# no test ran"
		return 1
	fi
	[ "$t_failed" -eq 0 ]
}
