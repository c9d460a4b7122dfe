# SPDX-License-Identifier: GPL-2.0
#
# The vbus core: the documented configfs session step by step with its
# netlink events, the echo device through an in-kernel client, hotplug
# events, refusal to unload while in use, and no leak afterwards.
# vm-retry: 2
. tests/vm/lib.sh

install_modules
# Warm up once, so one-time allocations (module loading, first configfs
# and netlink use) are part of the baseline.
modprobe vbus_echo && mkdir $CFS/containers/w $CFS/devices/echo/w &&
	rmdir $CFS/containers/w $CFS/devices/echo/w && $NLMON dump devices &&
	modprobe -r vbus_echo vbus
slab0=$(slab_kb)
slab_objects >/tmp/slab0

# ---- the documented session, watched by a netlink listener
modprobe vbus
rm -f /tmp/nl.ready
$NLMON monitor --ready /tmp/nl.ready >/tmp/events 2>/tmp/nlmon.err &
nlmon=$!
while [ ! -e /tmp/nl.ready ] && kill -0 $nlmon 2>/dev/null; do sleep 0.1; done
check "netlink listener subscribed to the events group" test -e /tmp/nl.ready

tap_include tests/vm/docsession Documentation/vbus/admin.rst

# Events are queued on the listener's socket before each write returns;
# give it a moment to print the last one, then stop it.
for i in $(seq 50); do
	grep -q "^container_del container=guest2" /tmp/events && break
	sleep 0.2
done
kill $nlmon
wait $nlmon 2>/dev/null
sed 's/^/# nlmon: /' /tmp/nlmon.err
expected="container_new container=guest1
device_new device=echo0 class=echo
device_enable device=echo0
device_place container=guest1 device=echo0 class=echo type=echo id=0
container_new container=guest2
device_unplace container=guest1 device=echo0
device_disable device=echo0
device_del device=echo0
container_del container=guest1
container_del container=guest2"
events_in_order() {	# matched by the shell: no program per event
	local -a ev
	local want word n=0
	mapfile -t ev </tmp/events
	while IFS= read -r want; do
		# Every word of the expected line appears (as grep -w finds
		# words) in the next event of the same name.
		while [ $n -lt ${#ev[@]} ] && [[ ${ev[n]} != "${want%% *} "* ]]; do
			n=$((n + 1))
		done
		[ $n -lt ${#ev[@]} ] || { echo "missing: $want"; cat /tmp/events; return 1; }
		for word in $want; do
			[[ ${ev[n]} =~ (^|[^[:alnum:]_])"$word"([^[:alnum:]_]|$) ]] ||
				{ echo "event $((n + 1)) lacks $word: ${ev[n]}"; return 1; }
		done
		n=$((n + 1))
	done <<<"$expected"
}
check "netlink events arrive for every step, in order" events_in_order
check "no event for a refused change" test "$(grep -c . /tmp/events)" -eq 10

# ---- the echo device through an in-kernel client
modprobe vbus_echo
mkdir $CFS/containers/c1 $CFS/devices/echo/e1
put $CFS/devices/echo/e1/enabled 1
ln -s $CFS/devices/echo/e1 $CFS/containers/c1/devices/e1
check "echo device round-trips calls and 20000 ring buffers" \
	insmod tests/vm/modules/vbus_testclient.ko container=c1
check "the client checked every reply" sh -c "dmesg | grep -q 'PASS: echo device 0'"
check "a client that corrupts its ring only loses that ring" \
	sh -c "dmesg | grep -q 'hostile ring: refused, connection still usable'"
check "a client cannot hold connections without bound" \
	sh -c "dmesg | grep -q 'connection limit: 1024 connections, then ENOSPC'"
dmesg | grep vbus_testclient | sed 's/^/# /'
rmmod vbus_testclient
stats=$($NLMON dump stats)
echo "# $stats"
stat_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$stats"; }
check "statistics count the opens" test "$(stat_of opens)" -eq 1026
check "statistics count the calls on open handles" test "$(stat_of calls)" -eq 5
check "statistics count doorbells in and signals out" \
	test "$(stat_of signals_in)" -gt 0 -a "$(stat_of signals_out)" -gt 0
check "device dump shows the placement" \
	sh -c "$NLMON dump devices | grep -q 'container=c1 device=e1 class=echo type=echo id=0 enabled=1 connections=0'"
check "container dump shows it" \
	sh -c "$NLMON dump containers | grep -q 'container=c1 devices=1 clients=0'"

# ---- who may attach: CAP_NET_ADMIN, or the container's owner
probe() {
	insmod tests/vm/modules/vbus_testclient.ko container=$1 probe_uid=$2 &&
		cat /sys/module/vbus_testclient/parameters/probe_result &&
		rmmod vbus_testclient
}
check "an unprivileged user may not attach (EACCES)" test "$(probe c1 1000)" = -13
put $CFS/containers/c1/owner_uid 1000
check "the container's owner uid may attach" test "$(probe c1 1000)" = 0
check "another user still may not" test "$(probe c1 1001)" = -13
put $CFS/containers/c1/owner_uid ""
put $CFS/containers/c1/owner_gid 0
check "a member of the owner gid may attach" test "$(probe c1 1001)" = 0
put $CFS/containers/c1/owner_gid ""
check "attaching to an unknown container fails (ENOENT)" test "$(probe nosuch 0)" = -2

# ---- hotplug: a client that stays attached sees devices come and go
insmod tests/vm/modules/vbus_testclient.ko container=c1 run=0 hold=1
param() { cat /sys/module/vbus_testclient/parameters/$1; }
check "attach replays DEVADD for a visible device" test "$(param devadds)" -eq 1
check "the container counts its client" test "$(cat $CFS/containers/c1/clients)" -eq 1
rm $CFS/containers/c1/devices/e1
check "unplacing sends DEVDROP" test "$(param devdrops)" -eq 1
ln -s $CFS/devices/echo/e1 $CFS/containers/c1/devices/e1
check "placing again sends DEVADD" test "$(param devadds)" -eq 2
check "a new id is handed out, never the old one" test "$(cat $CFS/devices/echo/e1/id)" -eq 1
put $CFS/devices/echo/e1/enabled 0
check "disabling sends DEVDROP" test "$(param devdrops)" -eq 2
put $CFS/devices/echo/e1/enabled 1
check "enabling sends DEVADD" test "$(param devadds)" -eq 3
mkdir $CFS/devices/echo/e2
put $CFS/devices/echo/e2/enabled 1
ln -s $CFS/devices/echo/e2 $CFS/containers/c1/devices/e2
check "a second device is hot-plugged" test "$(param devadds)" -eq 4
rmmod vbus_testclient
insmod tests/vm/modules/vbus_testclient.ko container=c1 run=0 hold=1 keep_open=1
check "an open connection is counted" test "$(cat $CFS/devices/echo/e1/connections)" -eq 1
check_fails_with "a device open by a client cannot be disabled" "busy" put $CFS/devices/echo/e1/enabled 0
check "the refused disable left it enabled" test "$(cat $CFS/devices/echo/e1/enabled)" -eq 1
rm $CFS/containers/c1/devices/e1
check "removing an open device from its container closes the connection" \
	test "$(cat $CFS/devices/echo/e1/connections)" -eq 0
check "... and the client is told" test "$(param devdrops)" -eq 1
ln -s $CFS/devices/echo/e1 $CFS/containers/c1/devices/e1
check_fails_with "a container with a client cannot be removed" "busy" \
	sh -c "rm $CFS/containers/c1/devices/*; rmdir $CFS/containers/c1"
check_fails_with "vbus cannot be unloaded while in use" "in use" rmmod vbus
check_fails_with "vbus_echo cannot be unloaded while it has devices" "in use" rmmod vbus_echo
check "the refused rmdir left the container" test -d $CFS/containers/c1
rmmod vbus_testclient
check "detaching the client frees the container" rmdir $CFS/containers/c1
check_fails_with "vbus_echo still has devices" "in use" rmmod vbus_echo
rmdir $CFS/devices/echo/e1 $CFS/devices/echo/e2

# ---- a device's own enable and disable make nobody else wait: those
# of vbus_gate's devices wait at a gate, as long as the suite likes,
# and another tenant's administration goes on meanwhile
G=/sys/module/vbus_gate/parameters
insmod tests/vm/modules/vbus_gate.ko
mkdir $CFS/devices/gate/g
# Another tenant's whole session, netlink included.
other_tenant() {
	mkdir $CFS/containers/t2 $CFS/devices/echo/t2e &&
		put $CFS/devices/echo/t2e/enabled 1 &&
		ln -s $CFS/devices/echo/t2e $CFS/containers/t2/devices/t2e &&
		$NLMON dump devices >/dev/null &&
		rm $CFS/containers/t2/devices/t2e &&
		put $CFS/devices/echo/t2e/enabled 0 &&
		rmdir $CFS/devices/echo/t2e $CFS/containers/t2
}
# gate_start WHAT CMD...: with the gate closed, CMD (the device's WHAT)
# waits there in the background, and another tenant's whole session runs
# to its end meanwhile.  gate_end WHAT RC: then CMD still waits, and
# returns RC once the gate opens.
gate_start() {
	local what=$1
	shift
	rm -f /tmp/gate.rc /tmp/other.rc
	put $G/closed 1
	("$@"; echo $? >/tmp/gate.rc) &
	gate_cmd=$!
	check "the gate holds the device's $what" wait_value $G/waiting 1 10
	(other_tenant; echo $? >/tmp/other.rc) &
	gate_other=$!
	check "another tenant's session runs to its end meanwhile" \
		wait_value /tmp/other.rc 0 8
}
gate_end() {
	check "... and its $1 still waits" test ! -e /tmp/gate.rc
	put $G/closed 0
	check "the $1 returns once the gate opens" wait_value /tmp/gate.rc "$2" 10
	wait $gate_cmd $gate_other
}
gated() { # 1 (enable) or 0 (disable)
	local what=disable
	[ "$1" = 1 ] && what=enable
	gate_start $what put $CFS/devices/gate/g/enabled "$1"
	check "the device reads disabled while its $what waits" \
		test "$(cat $CFS/devices/gate/g/enabled)" = 0
	gate_end $what 0
	check "... and the device reads $1" test "$(cat $CFS/devices/gate/g/enabled)" = "$1"
}
gated 1
gated 0
# A client's open of the device waits at the gate too, with the device
# enabled and placed: its allocations may reclaim, and nobody else waits.
# The class refuses every open once past the gate; the client gives up.
put $CFS/devices/gate/g/enabled 1
mkdir $CFS/containers/cg
ln -s $CFS/devices/gate/g $CFS/containers/cg/devices/g
gate_start open sh -c "insmod tests/vm/modules/vbus_testclient.ko container=cg \
	run=0 hold=1 keep_open=1 open_type=gate 2>/dev/null"
gate_end open 1
check "the refused open left no connection" \
	test "$(cat $CFS/devices/gate/g/connections)" -eq 0
check "... and no client: the container goes" \
	sh -c "rm $CFS/containers/cg/devices/g && rmdir $CFS/containers/cg"
# An open that has found the device pins the device's class before it
# waits for the device (here behind its disable, held at the gate):
# meanwhile the device may be unplaced and removed, and the open's put
# may then be the device's last, which runs the class's code.
mkdir $CFS/containers/cg
ln -s $CFS/devices/gate/g $CFS/containers/cg/devices/g
refs0=$(cat /sys/module/vbus_gate/refcnt)
rm -f /tmp/gate.rc /tmp/open.rc
put $G/closed 1
(put $CFS/devices/gate/g/enabled 0; echo $? >/tmp/gate.rc) &
gate_cmd=$!
check "the gate holds the device's disable" wait_value $G/waiting 1 10
(insmod tests/vm/modules/vbus_testclient.ko container=cg run=0 hold=1 \
	keep_open=1 open_devid="$(cat $CFS/devices/gate/g/id)" 2>/dev/null
	echo $? >/tmp/open.rc) &
open_cmd=$!
check "an open waiting behind the disable holds the class's module" \
	wait_value /sys/module/vbus_gate/refcnt $((refs0 + 1)) 10
check "... and still waits" test ! -e /tmp/open.rc
put $G/closed 0
check "the disable returns once the gate opens" wait_value /tmp/gate.rc 0 10
check "... and the open finds the device gone" wait_value /tmp/open.rc 1 10
wait $gate_cmd $open_cmd
check "... and gives the module back" \
	test "$(cat /sys/module/vbus_gate/refcnt)" -eq "$refs0"
check "... and the container goes" \
	sh -c "rm $CFS/containers/cg/devices/g && rmdir $CFS/containers/cg"
put $CFS/devices/gate/g/enabled 0
rmdir $CFS/devices/gate/g
check "vbus_gate unloads" rmmod vbus_gate
check "all modules unload once the tree is empty" modprobe -r vbus_echo vbus
check "nothing of vbus is left" test ! -e $CFS

slab1=$(slab_kb)
slab_objects >/tmp/slab1
echo "# slab before: $slab0 kB, after: $slab1 kB"
# The run sent 20000 ring buffers and made dozens of objects: a leak per
# buffer or per object shows in some cache.
check "no slab cache keeps objects from the run" slab_grew_less_than /tmp/slab0 /tmp/slab1 500
check "slab usage is back to its baseline (within 1 MB)" test $((slab1 - slab0)) -lt 1024

done_testing
