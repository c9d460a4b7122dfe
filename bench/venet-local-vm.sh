# SPDX-License-Identifier: GPL-2.0
#
# Inside the VM of bench/venet-local: build both pairs, measure, report.
set -euo pipefail
. tests/vm/lib.sh

seconds=${VBUS_BENCH_SECONDS:?}
reps=${VBUS_BENCH_REPS:?}
install_modules
modprobe vbus_venet
modprobe vbus_local
modprobe vbus_enet
# The kernel's own module requests would run outside the VM's root.
modprobe veth

# venet: host netdev in namespace va, guest netdev in namespace vb.
mkdir $CFS/containers/bench $CFS/devices/venet/bench
put $CFS/devices/venet/bench/ifname vnbench
put $CFS/devices/venet/bench/enabled 1
ln -s $CFS/devices/venet/bench $CFS/containers/bench/devices/bench
mkdir /sys/kernel/config/vbus-local/bench
for _ in $(seq 100); do
	ls /sys/bus/vbus-proxy/devices/bench:0/net >/dev/null 2>&1 && break
	sleep 0.1
done
guest=$(ls /sys/bus/vbus-proxy/devices/bench:0/net)

# veth: one end in namespace ea, the other in eb.
ip link add vethbench type veth peer name vethbench2

pair() {	# ns1 ns2 if1 if2 net
	ip netns add "$1"
	ip netns add "$2"
	ip link set "$3" netns "$1"
	ip link set "$4" netns "$2"
	ip -n "$1" addr add "$5.1/24" dev "$3"
	ip -n "$2" addr add "$5.2/24" dev "$4"
	ip -n "$1" link set "$3" up
	ip -n "$2" link set "$4" up
	ip -n "$1" link set lo up
	ip -n "$2" link set lo up
}
pair va vb vnbench "$guest" 10.10.0
pair ea eb vethbench vethbench2 10.11.0
for _ in $(seq 100); do
	ip -n vb link show "$guest" | grep -q LOWER_UP && break
	sleep 0.1
done

# One iperf3 run: server in $1, client in $2; prints bits per second.
run() {	# srv_ns cli_ns srv_addr [iperf3 options]
	local srv=$1 cli=$2 addr=$3
	shift 3
	ip netns exec "$srv" iperf3 -s -1 -D -I /tmp/bench.pid >/dev/null
	sleep 0.3
	ip netns exec "$cli" iperf3 -c "$addr" -t "$seconds" -J "$@" >/tmp/bench.json
	kill "$(cat /tmp/bench.pid 2>/dev/null)" 2>/dev/null || true
	python3 -c 'import json
d = json.load(open("/tmp/bench.json"))
e = d["end"]
if d["start"]["test_start"]["protocol"] == "UDP":
    # packets per second that arrived
    s = e["sum"]
    print(int((s["packets"] - s["lost_packets"]) / s["seconds"]))
else:
    print(int(e["sum_received"]["bits_per_second"]))'
}

: >/tmp/results
for rep in $(seq "$reps"); do
	for dir in "guest-to-host" "host-to-guest" "udp64-guest-to-host"; do
		opt=()
		[ "$dir" = host-to-guest ] && opt=(-R)
		[ "$dir" = udp64-guest-to-host ] && opt=(-u -l 64 -b 0)
		for pair in venet veth; do
			if [ $pair = venet ]; then
				r=$(run va vb 10.10.0.1 "${opt[@]}")
			else
				r=$(run ea eb 10.11.0.1 "${opt[@]}")
			fi
			echo "$pair $dir $r" >>/tmp/results
			echo "# $pair $dir: $r" >&2
		done
	done
	echo "# repetition $rep of $reps done" >&2
done

python3 - "$seconds" "$reps" <<'PY'
import statistics, sys
seconds, reps = sys.argv[1], sys.argv[2]
res = {}
for line in open("/tmp/results"):
    pair, direction, bps = line.split()
    scale = 1e3 if direction.startswith("udp") else 1e6
    res.setdefault((pair, direction), []).append(int(bps) / scale)
print(f"venet (local connector) vs veth, iperf3, {seconds}s x {reps}, median (min-max)")
print("TCP in Mbit/s; udp64: UDP with 64-byte payloads, thousands of packets/s received")
print("| direction | venet | veth | venet/veth |")
print("|---|---|---|---|")
for d in ("guest-to-host", "host-to-guest", "udp64-guest-to-host"):
    v = statistics.median(res[("venet", d)])
    e = statistics.median(res[("veth", d)])
    spread = lambda xs: f" ({min(xs):.0f}-{max(xs):.0f})" if len(xs) > 1 else ""
    print(f"| {d} | {v:.0f}{spread(res[('venet', d)])} | {e:.0f}{spread(res[('veth', d)])} | {v / e:.2f} |")
PY
