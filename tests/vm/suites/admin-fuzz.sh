# SPDX-License-Identifier: GPL-2.0
#
# Concurrent administration: cfs-fuzz (tests/tools/cfs-fuzz/) runs four
# threads of random configfs operations, garbage included, over
# containers, echo and venet devices and the local connector, while
# frames flow on every vbus netdev and statistics are dumped over
# netlink.  Every refused write must leave its attribute unchanged, the
# placements must agree afterwards, a full teardown must leave nothing
# behind, every module must unload and the slab caches must be back
# near their baseline.  Before it, attach-race (tests/tools/) attaches
# through the local connector while another thread makes and removes
# the container.  The seed is printed; VBUS_FUZZ_SEED=N repeats a
# run's operations (not their interleaving), VBUS_FUZZ_SECONDS sets the
# fuzzing time (default 30).
# vm-options: --timeout 400 --idle 150
# vm-retry: 2
. tests/vm/lib.sh

FUZZ=build/cmake/tests/tools/cfs-fuzz
VBUSCTL=build/cmake/tools/vbusctl/vbusctl
LOCAL=/sys/kernel/config/vbus-local
MODS="vbus_enet vbus_local vbus_proxy vbus_venet vbus_echo vbus"
seed=${VBUS_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
seconds=${VBUS_FUZZ_SECONDS:-30}

install_modules
# Only the frames the fuzzer sends; no IPv6 autoconfiguration chatter.
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

load() {
	modprobe vbus_echo && modprobe vbus_venet && modprobe vbus_local &&
		modprobe vbus_enet
}

# Guest-side netdevs of a container attached through the local connector.
guest_if() {
	local d
	for d in /sys/bus/vbus-proxy/devices/"$1":*/net/*; do
		[ -e "$d" ] && { basename "$d"; return 0; }
	done
	return 1
}
wait_guest_if() {
	for _ in $(seq 100); do
		guest_if "$1" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Warm up once, so one-time allocations are part of the baseline.
load && mkdir $CFS/containers/w $CFS/devices/venet/w && put $CFS/devices/venet/w/enabled 1 &&
	ln -s $CFS/devices/venet/w $CFS/containers/w/devices/w && mkdir $LOCAL/w &&
	wait_guest_if w && rmdir $LOCAL/w && rm $CFS/containers/w/devices/w &&
	put $CFS/devices/venet/w/enabled 0 && rmdir $CFS/devices/venet/w $CFS/containers/w &&
	modprobe -r $MODS
slab_objects >/tmp/slab0

check "the modules load" load

# ---- enabled takes 0 or 1, nothing else (the fuzzer's first find:
# kstrtobool() read "nonsense" as 0 and "1 2" as 1)
E=$CFS/devices/echo/fzr
mkdir $E
for v in nonsense "1 2" yes off 2 -1; do
	check_fails_with "enabled refuses '$v' (disabled)" "Invalid argument" put $E/enabled "$v"
done
check "... and stays 0" test "$(cat $E/enabled)" = 0
put $E/enabled 1
for v in nonsense no off 0x0; do
	check_fails_with "enabled refuses '$v' (enabled)" "Invalid argument" put $E/enabled "$v"
done
check "... and stays 1" test "$(cat $E/enabled)" = 1
put $E/enabled 0
rmdir $E

# ---- names are ASCII (the second find: the kernel's isalnum() takes
# Latin-1 letters, so a container or device named "\xff\xfe" was made)
latin1=$(printf '\xff\xfe')
for d in containers devices/echo devices/venet; do
	check_fails_with "$d: a name with bytes above 0x7f is refused" "Invalid argument" \
		mkdir "$CFS/$d/$latin1"
done
check_fails_with "a name with a Latin-1 letter is refused" "Invalid argument" \
	mkdir "$CFS/containers/caf$(printf '\xe9')"

# ---- an attach racing with the mkdir and rmdir of its container (the
# third find: configfs had unlinked the container it found, or not yet
# linked it, and the attach followed its NULL parent)
race_out=$(build/cmake/tests/tools/attach-race $CFS $LOCAL race 10)
race_rc=$?
echo "attach-race: $race_out" | sed 's/^/# /'
check "attaches racing with their container's mkdir and rmdir (status $race_rc)" \
	test $race_rc -eq 0

# ---- a steady pair: a venet device attached through the local
# connector for the whole run, so that frames cross it both ways
steady() {
	mkdir $CFS/containers/steady $CFS/devices/venet/steady &&
		put $CFS/devices/venet/steady/ifname vnsteady &&
		put $CFS/devices/venet/steady/enabled 1 &&
		ln -s $CFS/devices/venet/steady $CFS/containers/steady/devices/steady &&
		mkdir $LOCAL/steady && wait_guest_if steady
}
check "a steady venet pair through the local connector" steady
STEADY_GUEST=$(guest_if steady)

# ---- statistics and listings read all the while
rm -f /tmp/fuzz.done
readers() {
	local n=0 bad=0 i
	while [ ! -e /tmp/fuzz.done ]; do
		$NLMON dump stats >/dev/null 2>>/tmp/readers.err || bad=$((bad + 1))
		$NLMON dump devices >/dev/null 2>>/tmp/readers.err || bad=$((bad + 1))
		$NLMON dump containers >/dev/null 2>>/tmp/readers.err || bad=$((bad + 1))
		$VBUSCTL device list >/dev/null 2>&1
		for i in /sys/class/net/*; do
			ethtool -S "${i##*/}" >/dev/null 2>&1
		done
		n=$((n + 1))
	done
	echo "$n $bad" >/tmp/readers.count
}
readers &
reader=$!

# ---- the fuzzer
echo "# seed $seed (VBUS_FUZZ_SEED=$seed repeats it), $seconds s"
$FUZZ --seed "$seed" --seconds "$seconds" --keep $CFS $LOCAL >/tmp/fuzz.out 2>&1
fuzz_rc=$?
touch /tmp/fuzz.done
wait $reader
grep -v '^FAIL' /tmp/fuzz.out | sed 's/^/# /'
no_fail() {	# $1: the kind of failure (a prefix of its text)
	! grep "^FAIL: $1" /tmp/fuzz.out
}
check "no refused write changed its attribute" no_fail "refused write"
check "no invalid value was accepted" no_fail "invalid"
check "accepted values read back as written" no_fail "wrote"
check "bad names, bad places and bad links are refused" \
	sh -c "! grep -E '^FAIL: (mkdir|link|attach|write to read-only|device name)' /tmp/fuzz.out"
check "attribute reads give one line" no_fail "read of"
check "placements, ids, client counts and the local buses agree afterwards" no_fail "placement"
check "no thread got stuck" no_fail "threads still running"
check "the fuzzer ran to its end and reported no failure (status $fuzz_rc)" \
	sh -c "[ $fuzz_rc -eq 0 ] || { grep '^FAIL' /tmp/fuzz.out; tail -n 3 /tmp/fuzz.out; false; }"
read -r rounds bad </tmp/readers.count
echo "# $rounds rounds of netlink dumps, vbusctl device list and ethtool -S"
check "netlink dumps never failed under churn" sh -c "[ '$bad' = 0 ] || cat /tmp/readers.err"

# Frames crossed the steady pair both ways while the fuzzer ran.
count_of() { cat "/sys/class/net/$1/statistics/$2"; }
echo "# steady pair: host vnsteady rx $(count_of vnsteady rx_packets) tx $(count_of vnsteady tx_packets)," \
	"guest $STEADY_GUEST rx $(count_of "$STEADY_GUEST" rx_packets) tx $(count_of "$STEADY_GUEST" tx_packets)"
check "frames crossed the local connector both ways" \
	test "$(count_of vnsteady rx_packets)" -gt 0 -a "$(count_of "$STEADY_GUEST" rx_packets)" -gt 0

# ---- teardown: nothing left
check "teardown removes everything" $FUZZ --teardown-only $CFS $LOCAL
no_vbus_netdev() {
	local i
	for i in /sys/class/net/*; do
		ethtool -i "${i##*/}" 2>/dev/null | grep -q '^driver: vbus-' &&
			{ echo "left: ${i##*/}"; return 1; }
	done
	return 0
}
check "no vbus netdev is left" no_vbus_netdev
check "vbusctl lists no container" test "$($VBUSCTL container list | wc -l)" -le 1
check "vbusctl lists no device" test "$($VBUSCTL device list | wc -l)" -le 1
check "every module unloads" modprobe -r $MODS
check "nothing of vbus is left in configfs" test ! -e $CFS -a ! -e $LOCAL
slab_objects >/tmp/slab1
echo "# slab caches that grew most: $(join /tmp/slab0 /tmp/slab1 |
	awk '{ print $3 - $2, $1 }' | sort -rn | head -n 4 | tr '\n' ' ')"
check "no slab cache grew by 300 objects" slab_grew_less_than /tmp/slab0 /tmp/slab1 300

done_testing
