# SPDX-License-Identifier: GPL-2.0
#
# venet over the local connector: a container with a venet device is
# attached to the vbus-proxy bus of the same kernel; udev loads the guest
# driver by modalias; the host netdev goes to namespace A, the guest
# netdev to namespace B, and traffic flows between them: ping, iperf3 TCP
# both ways at MTU 1500 and 9000, page reuse on both sides of a stream,
# UDP with 64-byte payloads, failed DMA mappings in the guest driver (on
# a kernel with fault injection), a feature removed by the administrator,
# hot-unplug under load, and a clean unload with slab usage back to its
# baseline.
# vm-options: --timeout 1200
# vm-retry: 2
. tests/vm/lib.sh

LOCAL=/sys/kernel/config/vbus-local
V=$CFS/devices/venet/v0
HOST_IF=vnhost0
export SYSTEMD_IGNORE_CHROOT=1	# udevd refuses to run in a chroot otherwise

install_modules
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
check "udevd runs (it loads drivers by modalias)" udevadm control --ping

# Warm up once, so one-time allocations are part of the baseline.
modprobe vbus_venet && modprobe vbus_local && modprobe vbus_enet &&
	modprobe -r vbus_enet vbus_local vbus_proxy vbus_venet vbus
slab_objects >/tmp/slab0

# ---- the documented session
tap_include tests/vm/docsession Documentation/vbus/venet.rst

modprobe vbus_venet
modprobe vbus_local
mkdir $CFS/containers/c0 $V

# ---- attributes: bad values change nothing
for a in host_mac guest_mac ifname mtu queues features; do
	cat $V/$a >/tmp/before.$a
done
check_fails_with "host_mac: multicast MAC refused" "Invalid argument" put $V/host_mac 01:00:5e:00:00:01
check_fails_with "guest_mac: zero MAC refused" "Invalid argument" put $V/guest_mac 00:00:00:00:00:00
check_fails_with "guest_mac: malformed MAC refused" "Invalid argument" put $V/guest_mac 52:54:00:12:34
check_fails_with "ifname: name with a slash refused" "Invalid argument" put $V/ifname a/b
check_fails_with "ifname: name too long refused" "Invalid argument" put $V/ifname abcdefghijklmnopq
check_fails_with "mtu: 9001 refused" "Invalid argument" put $V/mtu 9001
check_fails_with "mtu: 67 refused" "Invalid argument" put $V/mtu 67
check_fails_with "queues: 0 refused" "Invalid argument" put $V/queues 0
check_fails_with "features: unknown bit refused" "Invalid argument" put $V/features 0x8000000000000000
unchanged() {
	for a in host_mac guest_mac ifname mtu queues features; do
		cat $V/$a | cmp -s - /tmp/before.$a || { echo "$a changed"; return 1; }
	done
}
check "refused writes changed nothing" unchanged
all_features=$(cat $V/features)

check "host_mac set" put $V/host_mac 52:54:00:00:00:01
check "guest_mac set" put $V/guest_mac 52:54:00:00:00:02
check "ifname set" put $V/ifname $HOST_IF
check "mtu 9000 allowed" put $V/mtu 9000
check "enabling creates the host netdev" sh -c "echo 1 >$V/enabled && ip link show $HOST_IF"
check "host netdev has the host MAC" sh -c "ip link show $HOST_IF | grep -q 52:54:00:00:00:01"
check_fails_with "mtu change while enabled: EBUSY" "busy" put $V/mtu 1500
check "ethtool -i names the host driver" sh -c "ethtool -i $HOST_IF | grep -q 'driver: vbus-venet'"
# The host netdev queues every skb it transmits, so it must not say it
# takes one skb many times (IFF_TX_SKB_SHARING): pktgen then refuses to
# send it clones (clone_skb) or the same skb in bursts.  pktgen takes
# only a device that is up; it is down again afterwards.  Debian's
# kernels have pktgen; the debug kernel (make check-debug) does not.
no_shared_skbs() {
	local pg=/proc/net/pktgen rc=0
	if ip link set $HOST_IF up && modprobe pktgen &&
		echo "add_device $HOST_IF" >$pg/kpktgend_0; then
		echo "clone_skb 1" 2>/dev/null >$pg/$HOST_IF && { echo "clone_skb taken"; rc=1; }
		echo "burst 2" 2>/dev/null >$pg/$HOST_IF && { echo "burst taken"; rc=1; }
	else
		rc=1
	fi
	if lsmod | grep -q '^pktgen '; then rmmod pktgen || rc=1; fi
	ip link set $HOST_IF down || rc=1
	return $rc
}
what="pktgen may not give the host netdev one skb twice"
if modinfo pktgen >/dev/null 2>&1; then
	check "$what" no_shared_skbs
else
	ok "$what # SKIP this kernel has no pktgen"
fi

# ---- attach: the guest netdev appears through the bus
ln -s $V $CFS/containers/c0/devices/v0
# The attach is made from a cgroup of its own; the guest driver's probe,
# which registers the rings, runs in udev's modprobe, in the root cgroup.
# The connection's ring thread is the attacher's: in its cgroup.
CG=/sys/fs/cgroup/vbus-local
check "a cgroup for the attaching process" cgroup_make $CG
check "the local connector attaches the container (from that cgroup)" \
	sh -c "echo \$\$ >/tmp/attacher && echo \$\$ >$CG/cgroup.procs && exec mkdir $LOCAL/c0"
guest_if() {
	local d
	for d in /sys/bus/vbus-proxy/devices/c0:*/net/*; do
		[ -e "$d" ] && { basename "$d"; return 0; }
	done
	return 1
}
wait_guest_if() {
	for _ in $(seq 100); do
		guest_if >/dev/null && return 0
		sleep 0.1
	done
	return 1
}
check "the guest netdev appears" wait_guest_if
check "udev loaded vbus_enet by modalias" sh -c "lsmod | grep -q '^vbus_enet '"
check "the driver is bound by match" sh -c 'basename $(readlink /sys/bus/vbus-proxy/devices/c0:0/driver) | grep -qx vbus-enet'
GUEST_IF=$(guest_if)
ATTACHER=$(cat /tmp/attacher)
check "the ring thread carries the attacher's pid and is in its cgroup" ring_threads "$ATTACHER" $CG -1
# A second device's connection gets a thread of its own, made at its
# first DEVSHM (the driver's probe, which this shell's ln or udev's
# modprobe runs, in the root cgroup): it joins the first one's cgroup.
V1=$CFS/devices/venet/v1
two_guest_ifs() { [ "$(ls -d /sys/bus/vbus-proxy/devices/c0:*/net 2>/dev/null | wc -l)" = 2 ]; }
second_device() {
	mkdir $V1 && put $V1/ifname vnhost1 && put $V1/enabled 1 &&
		ln -s $V1 $CFS/containers/c0/devices/v1 && within 10 two_guest_ifs
}
check "a second device in c0: its guest netdev appears" second_device
check "its ring thread is the attacher's too, in its cgroup" ring_threads "$ATTACHER" $CG -1 2
check "the second device goes" sh -c "rm $CFS/containers/c0/devices/v1 && echo 0 >$V1/enabled && rmdir $V1"
check "guest netdev has the guest MAC" sh -c "ip link show $GUEST_IF | grep -q 52:54:00:00:00:02"
check "guest MTU defaults to the device's (9000)" sh -c "ip link show $GUEST_IF | grep -q 'mtu 9000'"
check "ethtool -i on the guest netdev" sh -c "ethtool -i $GUEST_IF | grep -q 'driver: vbus-enet'"
check "ethtool -l on the guest netdev" ethtool -l $GUEST_IF
check "guest netdev offers TSO" sh -c "ethtool -k $GUEST_IF | grep -q 'tcp-segmentation-offload: on'"

# ---- two namespaces
setup_ns() {
	ip netns add A && ip netns add B &&
	ip link set $HOST_IF netns A && ip link set $GUEST_IF netns B &&
	ip netns exec A sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
	ip netns exec B sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
	ip -n A addr add 10.9.0.1/24 dev $HOST_IF && ip -n A link set $HOST_IF up &&
	ip -n A link set lo up &&
	ip -n B addr add 10.9.0.2/24 dev $GUEST_IF && ip -n B link set $GUEST_IF up &&
	ip -n B link set lo up
}
check "host netdev in namespace A, guest netdev in namespace B" setup_ns
wait_link() {
	for _ in $(seq 100); do
		ip -n B link show $GUEST_IF | grep -q LOWER_UP &&
			ip -n A link show $HOST_IF | grep -q LOWER_UP && return 0
		sleep 0.1
	done
	ip -n A link show $HOST_IF; ip -n B link show $GUEST_IF
	return 1
}
check "carrier up on both sides" wait_link
guest_carrier_off() {
	for _ in $(seq 100); do
		ip -n B link show $GUEST_IF | grep -q NO-CARRIER && return 0
		sleep 0.1
	done
	ip -n B link show $GUEST_IF
	return 1
}
host_down() { ip -n A link set $HOST_IF down && guest_carrier_off; }
host_up() { ip -n A link set $HOST_IF up && wait_link; }
check "host netdev down: the guest loses its carrier (link event)" host_down
check "host netdev up: carrier back on both sides" host_up
check "ping from A to B" ip netns exec A ping -c 3 -i 0.2 -W 3 10.9.0.2
check "ping from B to A" ip netns exec B ping -c 3 -i 0.2 -W 3 10.9.0.1

# ---- direct runs: a small frame that answers the other side (a ping and
# its reply) is served in the context that sends it, as veth delivers,
# not on the connection's thread: the host netdev counts those runs per
# ring (ethtool -S: rx0_direct for the guest's transmit ring, tx0_direct
# for its receive ring).  With the vbus parameter ring_direct=0 the
# thread serves every frame.
RING_DIRECT=/sys/module/vbus/parameters/ring_direct
direct_runs() {
	ip netns exec A ethtool -S $HOST_IF |
		awk '$1 == "rx0_direct:" { rx = $2 } $1 == "tx0_direct:" { tx = $2 }
			END { print rx + 0, tx + 0 }'
}
# The direct runs of each ring during 200 pings from B, 5 ms apart.
ping_direct_runs() {
	local rx0 tx0 rx1 tx1
	read -r rx0 tx0 <<<"$(direct_runs)"
	ip netns exec B ping -q -c 200 -i 0.005 -W 3 10.9.0.1 >/dev/null || return 1
	read -r rx1 tx1 <<<"$(direct_runs)"
	echo "$((rx1 - rx0)) $((tx1 - tx0))"
}
direct_pings() {
	local rx tx
	read -r rx tx <<<"$(ping_direct_runs)" || return 1
	echo "direct runs: $rx of the guest's transmit ring, $tx of its receive ring"
	[ "${rx:-0}" -ge 190 ] && [ "${tx:-0}" -ge 190 ]
}
threaded_pings() {
	local rx tx rc=0
	echo 0 >$RING_DIRECT || return 1
	read -r rx tx <<<"$(ping_direct_runs)" || rc=1
	echo 1 >$RING_DIRECT
	echo "direct runs: $rx of the guest's transmit ring, $tx of its receive ring"
	[ "$rc" = 0 ] && [ "$rx" = 0 ] && [ "$tx" = 0 ]
}
check "ring_direct is on by default" test "$(cat $RING_DIRECT)" = Y
check "200 pings and their replies are served in their senders' context" direct_pings
echo "# $t_out"
check "with ring_direct=0 the thread serves them all" threaded_pings
echo "# $t_out"

# iperf3 client in B against a server in A; prints the summary.
IPERF_T=${VENET_IPERF_SECONDS:-5}
iperf() {
	local out=/tmp/iperf.json rc
	ip netns exec A iperf3 -s -1 -D -I /tmp/iperf.pid >/dev/null 2>&1
	sleep 0.5
	ip netns exec B timeout 90 iperf3 -c 10.9.0.1 --connect-timeout 5000 \
		--snd-timeout "${IPERF_SND_TIMEOUT:-5000}" -J "$@" >$out
	rc=$?
	kill "$(cat /tmp/iperf.pid 2>/dev/null)" 2>/dev/null
	python3 - "$out" "$rc" <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	if d.get("error"):
	    sys.exit("iperf3: " + d["error"])
	e = d["end"]
	if d["start"]["test_start"]["protocol"] == "TCP":
	    r = e["sum_received"]
	    print("%.1f Mbit/s received, %d bytes, %d retransmits" % (
	        r["bits_per_second"] / 1e6, r["bytes"],
	        e["sum_sent"].get("retransmits", 0)))
	    ok = r["bytes"] > 0
	else:
	    s = e["sum"]
	    print("%.1f Mbit/s, %d packets, %d lost" % (
	        s["bits_per_second"] / 1e6, s["packets"], s["lost_packets"]))
	    ok = s["packets"] > s["lost_packets"]
	sys.exit(0 if ok and sys.argv[2] == "0" else 1)
	EOF
}
# Counters of a netdev in a namespace: "rx_packets rx_bytes tx_packets tx_bytes
# rx_dropped tx_dropped"
counters() {
	ip netns exec "$1" sh -c "cd /sys/class/net/$2/statistics &&
		echo \$(cat rx_packets rx_bytes tx_packets tx_bytes rx_dropped tx_dropped)"
}
# What A sent, B received, and the other way round, with nothing dropped.
counters_match() {
	local a b
	sleep 0.5
	read -r arp arb atp atb ard atd <<<"$(counters A $HOST_IF)"
	read -r brp brb btp btb brd btd <<<"$(counters B $GUEST_IF)"
	echo "A: rx $arp/$arb tx $atp/$atb drop $ard/$atd; B: rx $brp/$brb tx $btp/$btb drop $brd/$btd"
	[ "$atp" = "$brp" ] && [ "$btp" = "$arp" ] &&
		[ "$atb" = "$brb" ] && [ "$btb" = "$arb" ] &&
		[ "$ard$atd$brd$btd" = "0000" ]
}

# The guest's transmit rings: "DOORBELLS POLLS" (ethtool -S of the host
# netdev, all queues); fails if either counter is missing.
tx_ring_stats() {
	ip netns exec A ethtool -S $HOST_IF |
		awk '$1 == "rx_doorbells:" { d = $2 } $1 == "rx_polls:" { p = $2 }
			END { if (d == "" || p == "") exit 1; print d, p }'
}
# A stream from B: the connection's thread never polls an in-kernel
# guest's ring (the guest posts from the same CPUs), so the guest rings.
unpolled_stream() {
	local d0 p0 d1 p1 s
	s=$(tx_ring_stats) || return 1
	read -r d0 p0 <<<"$s"
	iperf "$@" || return 1
	s=$(tx_ring_stats) || return 1
	read -r d1 p1 <<<"$s"
	echo "the guest's transmit rings: $((d1 - d0)) doorbells, $((p1 - p0)) polls"
	[ "$((d1 - d0))" -gt 0 ] && [ "$p1" = "$p0" ]
}
round() {	# $1: label
	check "$1: iperf3 TCP B to A, ${IPERF_T}s, its ring never polled" \
		unpolled_stream -t "$IPERF_T"
	echo "# $t_out"
	check "$1: iperf3 TCP A to B, ${IPERF_T}s" iperf -t "$IPERF_T" -R
	echo "# $t_out"
	check "$1: packet and byte counters agree on both sides" counters_match
	echo "# $t_out"
}
ip -n A link set $HOST_IF mtu 1500
ip -n B link set $GUEST_IF mtu 1500
round "MTU 1500"

# ---- a ring thread that shares the sender's CPU serves in batches
# The threads of an in-kernel client are SCHED_BATCH (design.rst: its
# ring threads): with the guest's sender and the connection's thread on
# one CPU, the doorbell of every small packet wakes the thread without
# preempting the sender, and the thread serves what accumulated once it
# runs.  The same stream with the threads switched to the normal policy
# for comparison: a thread that preempts the sender at each doorbell
# switches up to once per packet (17,801 times for 17,807 packets),
# the batch thread far less (618 times for 35,005).  How far depends on
# how many packets the sender posts between two of the thread's runs,
# and so on the kernel's speed.  The batch threads ran 160 to 270 times
# a second on either kernel, but the debug kernel's sender posts 450 to
# 750 packets a second (the stock kernel's 12,000 to 13,000), less than
# one per tick: there the batch threads switched 0.37 to 0.55 times per
# packet, against the normal policy's 0.67 to 0.73, and a batch run that
# let the sender post 15% more packets than the normal one switched 0.69
# times as often in all (756 against 1,101) but 0.60 times as often per
# packet.  So the check asks for what holds at any speed: fewer runs,
# and per packet at most 5/6 as many (the ranges above allow 0.82; a
# thread that does not batch switches about as often per packet).
switches() {	# context switches of the threads $@, in and out of the CPU
	local t n=0
	for t in "$@"; do
		n=$((n + $(awk '/ctxt_switches:/ { s += $2 } END { print s + 0 }' /proc/"$t"/status)))
	done
	echo $n
}
stream_switches() {	# threads: "PACKETS SWITCHES" of a 3 s stream from CPU 0
	local s0 p0
	s0=$(switches "$@")
	p0=$(counters B $GUEST_IF | cut -d ' ' -f 3)
	iperf -u -l 64 -b 0 -t 3 -A 0 >/dev/null || return 1
	echo "$(($(counters B $GUEST_IF | cut -d ' ' -f 3) - p0)) $(($(switches "$@") - s0))"
}
batched_stream() {
	local tids t normal batch pn sn pb sb rc=0
	tids=$(ring_policy "$ATTACHER" 3 2>&1) || { echo "$tids"; return 1; }
	for t in $tids; do
		taskset -p -c 0 "$t" >/dev/null && chrt --other -p 0 "$t" || rc=1
	done
	normal=$(stream_switches $tids) || rc=1
	for t in $tids; do
		chrt --batch -p 0 "$t" || rc=1
	done
	batch=$(stream_switches $tids) || rc=1
	for t in $tids; do
		taskset -p -c "0-$(($(nproc) - 1))" "$t" >/dev/null || rc=1
	done
	read -r pn sn <<<"$normal"
	read -r pb sb <<<"$batch"
	echo "normal policy: ${pn:-?} packets, ${sn:-?} switches of the ring threads;" \
		"SCHED_BATCH: ${pb:-?} packets, ${sb:-?} switches"
	# Both streams last 3 s: the batch threads run less often, and
	# per packet at most 5/6 as often (sb / pb < 5/6 * sn / pn).
	[ "$rc" = 0 ] && [ "$pn" -gt 100 ] && [ "$pb" -gt 100 ] &&
		[ "$sb" -lt "$sn" ] && [ $((sb * pn * 6)) -lt $((sn * pb * 5)) ]
}
check "64-byte UDP from the CPU of the ring thread: served in batches" batched_stream
echo "# $t_out"

# ---- page pools: the pages a stream is copied into are used again
# Order-0 pages the page allocator hands to the connection's thread
# (which copies the guest's frames into host packets and, for this
# in-kernel guest, also runs the guest driver's receive and its ring
# refill) while a stream carries 100 MiB: a new page for every 4 KiB
# carried without reuse.
TRACE=/sys/kernel/tracing
mountpoint -q $TRACE || mount -t tracefs none $TRACE
# The events go to a trace instance of their own (the debug kernel has
# no hist triggers), large enough that none is lost, and removed after
# with its buffers.
trace_lost() {	# INSTANCE: events its buffers dropped
	awk '/^overrun:/ { s += $2 } END { print s + 0 }' "$1"/per_cpu/cpu*/stats
}
thread_pages() {	# iperf3 options
	local n lost carried=$((100 * 1024 * 1024 / 4096))
	local t=$TRACE/instances/venet-pages
	mkdir $t &&
		echo 8192 >$t/buffer_size_kb &&
		echo 'order == 0' >$t/events/kmem/mm_page_alloc/filter &&
		echo 1 >$t/events/kmem/mm_page_alloc/enable || { rmdir $t; return 1; }
	iperf -n 100M "$@"
	echo 0 >$t/tracing_on
	lost=$(trace_lost $t)
	n=$(grep -c '^ *vbus-[0-9k]' $t/trace || true)
	echo 0 >$t/events/kmem/mm_page_alloc/enable
	rmdir $t
	echo "the connection's thread took $n new pages for the $carried pages carried ($lost events lost)"
	[ "$lost" = 0 ] && [ "$n" -lt $((carried / 4)) ]
}
check "TCP B to A, 100 MiB: the host's packets reuse their pages" thread_pages
echo "# $t_out"
check "TCP A to B, 100 MiB: the guest's receive buffers reuse their pages" thread_pages -R
echo "# $t_out"

# ---- GRO: a packet that is alone in its NAPI poll, with nothing held
# from before, is handed to the stack directly (vbus_napi_receive() in
# lib/vbus_napi.h): GRO has nothing to merge it with and would only add
# its protocol handlers to each packet of a ping-pong.  A stream's
# packets that arrive together still go through GRO.  How many of a
# stream's packets find others behind them varies from run to run
# (more than 30 in 31 in most, about 1 in 2 in one run seen), so the
# stream checks ask for a tenth: were every packet taken for alone,
# none would go through GRO.  Counted by the net tracepoints of the two
# netdevs, per netdev: GRO's entry (napi_gro_receive_entry) and the
# direct one (netif_receive_skb_entry).
gro_counts() {	# COMMAND...: "HOST_GRO HOST_DIRECT GUEST_GRO GUEST_DIRECT"
	local t=$TRACE/instances/venet-gro e lost
	mkdir $t && echo 4096 >$t/buffer_size_kb || { rmdir $t 2>/dev/null; return 1; }
	for e in napi_gro_receive_entry netif_receive_skb_entry; do
		echo "name == \"$HOST_IF\" || name == \"$GUEST_IF\"" >$t/events/net/$e/filter &&
			echo 1 >$t/events/net/$e/enable || { rmdir $t; return 1; }
	done
	"$@" >/dev/null
	echo 0 >$t/tracing_on
	lost=$(trace_lost $t)
	awk -v h="dev=$HOST_IF" -v g="dev=$GUEST_IF" '
		{ for (i = 1; i <= NF; i++) { if ($i ~ /_entry:$/) e = $i; if ($i ~ /^dev=/) d = $i } }
		e == "napi_gro_receive_entry:" && d == h { hg++ }
		e == "netif_receive_skb_entry:" && d == h { hd++ }
		e == "napi_gro_receive_entry:" && d == g { gg++ }
		e == "netif_receive_skb_entry:" && d == g { gd++ }
		END { print hg + 0, hd + 0, gg + 0, gd + 0 }' $t/trace
	for e in napi_gro_receive_entry netif_receive_skb_entry; do
		echo 0 >$t/events/net/$e/enable
	done
	rmdir $t
	[ "$lost" = 0 ]
}
ping_skips_gro() {
	local out hg hd gg gd
	out=$(gro_counts ip netns exec B ping -c 20 -i 0.05 -W 3 10.9.0.1) || return 1
	read -r hg hd gg gd <<<"$out"
	echo "host: $hg through GRO, $hd directly; guest: $gg through GRO, $gd directly"
	[ "$hd" -ge 20 ] && [ "$gd" -ge 20 ] && [ "$hg" -le 2 ] && [ "$gg" -le 2 ]
}
check "ping: each packet is alone in its poll and skips GRO, on both sides" ping_skips_gro
echo "# $t_out"
stream_uses_gro() {	# iperf3 options; -R: the guest receives
	local out hg hd gg gd gro direct
	out=$(gro_counts iperf -t 2 "$@") || return 1
	read -r hg hd gg gd <<<"$out"
	echo "host: $hg through GRO, $hd directly; guest: $gg through GRO, $gd directly"
	# The receiving netdev's counts.
	if [ "$1" = -R ]; then gro=$gg direct=$gd; else gro=$hg direct=$hd; fi
	[ "$gro" -ge 50 ] && [ $((10 * gro)) -ge $((gro + direct)) ]
}
check "TCP B to A: the host's GRO gets a tenth of the stream or more" stream_uses_gro
echo "# $t_out"
check "TCP A to B: the guest's GRO gets a tenth of the stream or more" stream_uses_gro -R
echo "# $t_out"
check "MTU 9000 on both sides" sh -c "ip -n A link set $HOST_IF mtu 9000 && ip -n B link set $GUEST_IF mtu 9000"
check "MTU 9000: ping with 8972-byte payload, no fragmentation" \
	ip netns exec B ping -c 2 -M do -s 8972 -W 3 10.9.0.1
round "MTU 9000"
check "UDP with 64-byte payloads, its ring never polled" \
	unpolled_stream -u -l 64 -b 20M -t 3
echo "# $t_out"
check "UDP with 64-byte payloads: counters agree" counters_match
check "ethtool -S on the host shows per-queue counters" \
	sh -c "ip netns exec A ethtool -S $HOST_IF | grep -Eq 'rx.*packets: [1-9]'"
check "ethtool -S on the guest shows per-queue counters" \
	sh -c "ip netns exec B ethtool -S $GUEST_IF | grep -Eq 'rx.*packets: [1-9]'"

# ---- the guest driver when DMA mapping fails (kernels with fault
# injection, such as the debug kernel of make check-debug): one mapping
# in ten fails (vbus-proxy's fault point), on both paths, while TCP runs
# both ways.  A packet the transmit path cannot map is dropped and
# counted, a receive buffer that cannot be mapped is posted later; no
# ring breaks, nothing leaks (the debug lane's leak scan), and all is
# well once mappings work again.  Left here: the guest netdev is
# replaced below, so no later counter check sees these drops.
FF=/sys/kernel/debug/vbus_proxy_fail_map
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
INJECT_TIMES=1000000
inject_on() {
	echo 0 >$FF/verbose && echo 1 >$FF/interval &&
		echo $INJECT_TIMES >$FF/times && echo 10 >$FF/probability
}
inject_off() {
	echo 0 >$FF/probability
	echo $((INJECT_TIMES - $(cat $FF/times)))
}
# Under injection: the run completes and drops are counted, one per
# failed mapping of a packet at most.  A TSO packet of 64 KiB needs
# seventeen mappings, so most of them are dropped: the stream crawls and
# its retransmissions back off, on the debug kernel for longer than the
# 5 s a segment may otherwise stay unacknowledged (iperf3 --snd-timeout,
# which once broke the control connection here).  These runs allow 20 s.
mapping_failures() {	# iperf3 options
	local d0 d1 n rc=0
	read -r _ _ _ _ _ d0 <<<"$(counters B $GUEST_IF)"
	inject_on || { echo 0 >$FF/probability; return 1; }
	IPERF_SND_TIMEOUT=20000 iperf -t 3 "$@" || rc=1
	n=$(inject_off)
	read -r _ _ _ _ _ d1 <<<"$(counters B $GUEST_IF)"
	echo "$n failed mappings, $((d1 - d0)) packets dropped by the guest's transmit path"
	[ $rc = 0 ] && [ "$n" -gt 0 ] && [ $((d1 - d0)) -gt 0 ] && [ $((d1 - d0)) -le "$n" ]
}
abandoned() { dmesg | grep -c 'ring protocol; ring abandoned'; }
if [ -d $FF ]; then
	abandoned0=$(abandoned)
	check "mappings failing 1 in 10: TCP B to A goes on" mapping_failures
	echo "# $t_out"
	check "mappings failing 1 in 10: TCP A to B goes on" mapping_failures -R
	echo "# $t_out"
	check "no ring was abandoned" test "$(abandoned)" = "$abandoned0"
	check "mappings work again: TCP A to B" iperf -t 3 -R
	echo "# $t_out"
	check "mappings work again: TCP B to A" iperf -t 3
	echo "# $t_out"
else
	echo "# no fault injection in this kernel: the checks of failed DMA mappings run in make check-debug"
fi

# ---- hot-unplug under load: the guest netdev goes, iperf3 fails, no hang
ip netns exec A iperf3 -s -1 -D -I /tmp/iperf.pid >/dev/null 2>&1
sleep 0.5
ip netns exec B timeout 120 iperf3 -c 10.9.0.1 -t 60 --snd-timeout 3000 \
	--rcv-timeout 3000 >/tmp/unplug.out 2>&1 &
client=$!
sleep 2
check "unplacing the device under load" rm $CFS/containers/c0/devices/v0
gone() {
	for _ in $(seq 100); do
		ip -n B link show $GUEST_IF >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}
check "the guest netdev disappears" gone
iperf_ended() {
	local rc
	wait $client
	rc=$?
	tail -n 3 /tmp/unplug.out
	[ $rc -ne 0 ] && [ $rc -ne 124 ]
}
check "iperf3 fails rather than hangs" iperf_ended
kill "$(cat /tmp/iperf.pid 2>/dev/null)" 2>/dev/null
check "the host carrier goes down" sh -c "! ip -n A link show $HOST_IF | grep -q LOWER_UP"

# ---- place it back: traffic resumes
check "placing it back" ln -s $V $CFS/containers/c0/devices/v0
check "a guest netdev appears again" wait_guest_if
GUEST_IF=$(guest_if)
replug() {
	ip link set $GUEST_IF netns B &&
	ip -n B addr add 10.9.0.2/24 dev $GUEST_IF && ip -n B link set $GUEST_IF up
}
check "it joins namespace B" replug
check "carrier up again" wait_link
check "ping resumes" ip netns exec B ping -c 3 -i 0.2 -W 3 10.9.0.1
check "TCP resumes" iperf -t 2
check "the ring threads of the traffic so far were charged to the attacher's cgroup" \
	ring_threads "$ATTACHER" $CG 5
echo "# $t_out"

# ---- the administrator removes TSO: the guest cannot negotiate it
rm $CFS/containers/c0/devices/v0
gone
ip netns exec A ip link set $HOST_IF netns 1
put $V/enabled 0
no_tso=$(printf '0x%x' $((all_features & ~(1 << 2 | 1 << 3 | 1 << 4))))
check "features mask without TX_TSO4/TX_TSO6/TX_ECN" put $V/features $no_tso
check "two queue pairs" put $V/queues 2
check "re-enabled" put $V/enabled 1
ln -s $V $CFS/containers/c0/devices/v0
check "a guest netdev appears" wait_guest_if
GUEST_IF=$(guest_if)
check "the guest netdev reports tso off" \
	sh -c "ethtool -k $GUEST_IF | grep -Eq 'tcp-segmentation-offload: off'"
check_fails "and cannot turn it on" sh -c "ethtool -K $GUEST_IF tso on 2>/dev/null && ethtool -k $GUEST_IF | grep -q 'tcp-segmentation-offload: on'"
tso_off_traffic() {
	ip link set $HOST_IF netns A && ip -n A addr add 10.9.0.1/24 dev $HOST_IF &&
	ip -n A link set $HOST_IF up && replug && wait_link &&
	ip netns exec B ping -c 2 -W 3 10.9.0.1 && iperf -t 3
}
check "traffic flows without TSO" tso_off_traffic
echo "# $t_out"
check "counters agree without TSO" counters_match
check "the guest uses two queue pairs" sh -c "ip netns exec B ethtool -l $GUEST_IF | tail -n 4 | grep -q 'Combined:.*2'"
both_queues() {
	iperf -t 3 -P 4 >/dev/null || return 1
	ip netns exec B ethtool -S $GUEST_IF | grep -E '^ *tx[01]_packets' |
		awk '{ print } $2 == 0 { idle = 1 } END { exit idle || NR != 2 }'
}
check "four flows spread over both queue pairs" both_queues
echo "# $t_out" | tr '\n' ' '; echo

# ---- another subsystem refuses the guest's netdev (netdev_veto, in
# tests/vm/modules): each probe unwinds after register_netdev(), with
# two queue pairs, their XPS maps and the event ring set up, and leaves
# nothing behind; the device is probed again once the refusal is gone
VETO=/sys/module/netdev_veto/parameters/vetoed
# After the refused probes: placed again, the device works.
place_back() {
	ln -s $V $CFS/containers/c0/devices/v0
	check "placed again: a guest netdev appears" wait_guest_if
	GUEST_IF=$(guest_if)
	check "it joins namespace B" replug
	check "carrier up" wait_link
	check "ping" ip netns exec B ping -c 2 -W 3 10.9.0.1
}
refused_probes() {	# FROM TO: place the device, each probe refused
	local i
	for i in $(seq "$1" "$2"); do
		ln -s $V $CFS/containers/c0/devices/v0 &&
			wait_value $VETO "$i" 10 &&
			rm $CFS/containers/c0/devices/v0 || return 1
	done
}
rm $CFS/containers/c0/devices/v0
check "unplaced: the guest netdev goes" gone
# From here on udevd is stopped: vbus_enet is loaded, so every probe
# below runs in this shell's ln, and the slab checks measure the
# kernel's unwinding, not udevd.  A burst of probes' events has udevd
# fork workers, whose memory maps are hundreds of VMA objects until it
# ends them (3 s after its queue empties; later on a debug kernel).
check "udevd stops" udevadm control --exit
check "netdev_veto refuses vbus-enet's net_devices" \
	insmod tests/vm/modules/netdev_veto.ko driver=vbus-enet
check "five probes refused" refused_probes 1 5
# Without vmap_area: the kernel unmaps vmalloc'd memory lazily, tens of
# megabytes at once, so that cache counts what waits for the next purge,
# not what the probes keep.
slab_objects | grep -v '^vmap_area ' >/tmp/veto0
check "a hundred more probes refused" refused_probes 6 105
slab_objects >/tmp/veto1
check "... and no slab cache grew by one object per probe" \
	slab_grew_less_than /tmp/veto0 /tmp/veto1 100
check "... and they said why" \
	test "$(dmesg | grep -c 'register_netdev failed: -1$')" -ge 105
check "netdev_veto unloads" rmmod netdev_veto
place_back

# ---- the device refuses one region of the probe (vbus-proxy's fault
# point, kernels with fault injection): the receive and transmit rings
# of pair 0, of pair 1, then the event ring, in turn.  Each probe
# unwinds what it set up before (the XPS map of pair 0 among it), and
# nothing stays behind (this slab check, and the debug lane's leak scan).
FS=/sys/kernel/debug/vbus_proxy_fail_shm
setup_failures() {	# ROUNDS
	local r n failed
	failed=$(dmesg | grep -c 'ring setup failed: -12$')
	for r in $(seq "$1"); do
		for n in 1 2 3 4 5; do
			echo 0 >$FS/verbose && echo 1 >$FS/times &&
				echo $n >$FS/space && echo 100 >$FS/probability &&
				ln -s $V $CFS/containers/c0/devices/v0 || return 1
			failed=$((failed + 1))
			within 10 test "$(dmesg | grep -c 'ring setup failed: -12$')" \
				-ge $failed || { echo "round $r: region $n did not fail"; return 1; }
			rm $CFS/containers/c0/devices/v0 || return 1
		done
	done
	echo 0 >$FS/probability
}
if [ -d $FS ]; then
	rm $CFS/containers/c0/devices/v0
	check "unplaced again: the guest netdev goes" gone
	check "a probe fails at each of its five regions" setup_failures 1
	slab_objects | grep -v '^vmap_area ' >/tmp/shm0
	check "twenty rounds more" setup_failures 20
	slab_objects >/tmp/shm1
	check "... and no slab cache grew by one object per probe" \
		slab_grew_less_than /tmp/shm0 /tmp/shm1 100
	place_back
else
	echo "# no fault injection in this kernel: the checks of refused regions run in make check-debug"
fi

# ---- a hostile driver: errors for it, no harm to the host
H=$CFS/devices/venet/h0
hostile_setup() {
	mkdir $CFS/containers/c1 $H && put $H/queues 2 && put $H/ifname vnhostile &&
	put $H/enabled 1 && ln -s $H $CFS/containers/c1/devices/h0 &&
	sysctl -qw net.ipv6.conf.vnhostile.disable_ipv6=1 &&
	ip link set vnhostile up
}
check "a device with two queue pairs for the hostile driver" hostile_setup
check "the hostile driver runs (bad calls, rings, headers, 20000 random packets, a dropped batch end)" \
	insmod tests/vm/modules/venet_hostile.ko container=c1 ifname=vnhostile
check "every refusal it expected came" \
	test "$(cat /sys/module/venet_hostile/parameters/failures)" = 0
host_frames() {
	python3 - <<-'EOF'
	import socket
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	s.bind(("vnhostile", 0))
	for size in (100, 1400, 60, 1000):
	    s.send(b"\xff" * 6 + b"\x02" * 6 + b"\x88\xb5" + b"x" * size)
	EOF
}
check "the host sends it frames" host_frames
sleep 1
check "the host counted its malformed packets" \
	sh -c "ethtool -S vnhostile | grep -Eq 'rx_errors: [1-9]'"
echo "# $(ethtool -S vnhostile | grep -v ': 0$' | tr -s ' \n' ' ')"
check "it unloads" rmmod venet_hostile
check "the frames reached its rx buffers" \
	sh -c "dmesg | grep -Eq 'venet_hostile: [1-9][0-9]* rx completions with data'"
check "a real driver works on the same device afterwards" sh -c "mkdir $LOCAL/c1 &&
	for i in \$(seq 100); do ls /sys/bus/vbus-proxy/devices/c1:0/net >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"
hostile_teardown() {
	rmdir $LOCAL/c1 && rm $CFS/containers/c1/devices/h0 && put $H/enabled 0 &&
	rmdir $H $CFS/containers/c1
}
check "hostile device removed" hostile_teardown

# ---- tear down: everything unloads, slab back to baseline
teardown() {
	rmdir $LOCAL/c0 && rm $CFS/containers/c0/devices/v0 &&
	ip netns del A && ip netns del B && echo 0 >$V/enabled &&
	rmdir $V $CFS/containers/c0
}
check "tear down" teardown
check "the attacher's cgroup empties (its ring threads ended) and goes away" cgroup_remove $CG
check "every module unloads" modprobe -r vbus_enet vbus_local vbus_proxy vbus_venet vbus
slab_objects >/tmp/slab1
check "no slab cache grew by 200 objects" slab_grew_less_than /tmp/slab0 /tmp/slab1 200

done_testing
