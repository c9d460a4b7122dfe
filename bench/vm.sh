# SPDX-License-Identifier: GPL-2.0
#
# Inside the test VM (L1) of bench/run.  Two parts, in one boot:
#
#  kvm:   guest A runs under QEMU -enable-kvm with virtio-net-pci and
#         vhost=on over tap tapA; guest B runs under vbus-vm with venet
#         over the KVM connector, host netdev vnb0.  Same kernel, same
#         initramfs (bench/l2-guest.sh), 1 vCPU, 512 MiB.  tapA lives in
#         namespace hA and vnb0 in hB, both 10.80.0.1/24; each guest is
#         10.80.0.2.  The host side runs every client.
#  local: venet over the local connector (namespaces la/lb) against a
#         veth pair (ea/eb), 10.81.0.0/24 and 10.82.0.0/24.
#
# Each workload runs on one side, then on the other (A, B, A, B ...),
# repeated VBUS_BENCH_REPS times for VBUS_BENCH_SECONDS each.  Every
# measurement is one line "BENCH {json}" on stdout; bench/report turns
# them into the table.  Progress goes to stderr as "# " lines.
set -euo pipefail
. tests/vm/lib.sh
. tests/vm/l2/lib.sh

seconds=${VBUS_BENCH_SECONDS:?}
reps=${VBUS_BENCH_REPS:?}
VBUSCTL=build/cmake/tools/vbusctl/vbusctl
MEM=512M
TRACE=/sys/kernel/tracing

note() { echo "# $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

install_modules
l2_load_kvm || die "no nested KVM in the test VM"
modprobe tun
modprobe vhost_net
modprobe veth
modprobe vbus_venet
modprobe vbus_kvm
modprobe vbus_local
# The ring engine's polling (Documentation/vbus/design.rst), if the
# caller chose it (bench/run --ring-poll-us); the default otherwise.
if [ -n "${VBUS_BENCH_RING_POLL_US:-}" ]; then
	echo "$VBUS_BENCH_RING_POLL_US" >/sys/module/vbus/parameters/ring_poll_us
fi
note "vbus ring_poll_us: $(cat /sys/module/vbus/parameters/ring_poll_us)"
# KVM's halt polling ceiling, for both guests (bench/run --halt-poll-ns);
# set before either VM exists.
if [ -n "${VBUS_BENCH_HALT_POLL_NS:-}" ]; then
	echo "$VBUS_BENCH_HALT_POLL_NS" >/sys/module/kvm/parameters/halt_poll_ns
fi
modprobe vbus_enet
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
[ -d $TRACE/events ] || mount -t tracefs none $TRACE
# Exits to user space, counted per thread in the kernel (a histogram
# trigger: no trace buffer to overflow).
echo 'hist:keys=common_pid:size=1024' >$TRACE/events/kvm/kvm_userspace_exit/trigger
# Context switches by the name of the thread that leaves the CPU, the
# same way: they show which threads a side's data path wakes.
echo 'hist:keys=prev_comm:vals=hitcount:size=2048' >$TRACE/events/sched/sched_switch/trigger
# CPU time by thread name: which thread a side's data path is bound by.
echo 'hist:keys=comm:vals=runtime:size=2048' >$TRACE/events/sched/sched_stat_runtime/trigger

# ---- host side of the kvm part
ns_up() { # NS IF
	ip -n "$1" link set lo up
	ip -n "$1" addr add 10.80.0.1/24 dev "$2"
	ip -n "$1" link set "$2" up
}
ip netns add hA
ip netns add hB
ip netns exec hA ip tuntap add tapA mode tap
ns_up hA tapA
$VBUSCTL container add bench
$VBUSCTL device add venet vb ifname=vnb0 --enable
$VBUSCTL attach vb bench
ip link set vnb0 netns hB
ns_up hB vnb0

mapfile -t files <<<"$(l2_bin_files iperf3 sockperf ethtool)"
l2_mkinitrd /tmp/bench.img bench/l2-guest.sh --module virtio_net --module virtio_pci \
	--ko guest/proxy/vbus_proxy.ko --ko guest/kvm/vbus_bridge.ko --ko guest/venet/vbus_enet.ko \
	"${files[@]}" || die "the L2 initramfs did not build"

# Each guest reads its console from a FIFO this script holds open.
mkfifo /tmp/A.in /tmp/B.in
exec 7<>/tmp/A.in 8<>/tmp/B.in
declare -A pid fd=([A]=7 [B]=8) host=([A]=hA [B]=hB) hostif=([A]=tapA [B]=vnb0)
declare -A name=([A]=vhost-net [B]=venet)

start_guest() { # A|B
	local kernel
	kernel=$(l2_kernel)
	if [ "$1" = A ]; then
		ip netns exec hA qemu-system-x86_64 -enable-kvm -cpu host -m $MEM -smp 1 \
			-nodefaults -display none -serial stdio -no-reboot \
			-kernel "$kernel" -initrd /tmp/bench.img \
			-append "console=ttyS0 reboot=k panic=-1 quiet" \
			-netdev tap,id=n0,ifname=tapA,script=no,downscript=no,vhost=on \
			-device virtio-net-pci,netdev=n0 <&7 >/tmp/A.log 2>&1 &
	else
		"$VBUS_VM" --kernel "$kernel" --initrd /tmp/bench.img --mem $MEM --cpus 1 \
			--container bench ${VBUS_BENCH_VM_HALT_POLL_NS:+--halt-poll-ns $VBUS_BENCH_VM_HALT_POLL_NS} \
			--append "console=ttyS0 reboot=k panic=-1 acpi=off pci=conf1 quiet" \
			<&8 >/tmp/B.log 2>&1 &
	fi
	pid[$1]=$!
}

# Give up on guest $1, with the end of its console log.
guest_failed() { # A|B MESSAGE
	note "end of guest $1's log:"
	tail -n 20 "/tmp/$1.log" | tr -d '\r' | sed 's/^/#   /' >&2
	die "guest $1 (${name[$1]}): $2"
}

# ---- placement
# The test VM has 2 CPUs.  Unless VBUS_BENCH_PIN is 0 (bench/run
# --no-pin), both sides of the kvm part are placed alike before every
# measurement: all the threads of the guest's VMM on CPU 1, the host
# threads of its data path (vhost-net's vhost-<pid>, the KVM connector's
# vbus-<pid>-<n>) and the client on CPU 0.  Left to the scheduler, a
# side's figure moved with where its threads happened to land.
PIN=${VBUS_BENCH_PIN:-1}
pin_client=()
[ "$PIN" = 0 ] || pin_client=(taskset -c 0)
pin_side() { # A|B
	local p=${pid[$1]} t comm n=0
	[ "$PIN" != 0 ] || return 0
	taskset -a -p -c 1 "$p" >/dev/null || guest_failed "$1" "taskset of its VMM failed"
	for t in /proc/[0-9]*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		case $comm in
		vhost-"$p" | vbus-"$p"-*)
			taskset -p -c 0 "${t#/proc/}" >/dev/null && n=$((n + 1)) ;;
		esac
	done
	[ $n -gt 0 ] || guest_failed "$1" "no host thread of its data path to place"
}

# Wait for a line of guest $1's log matching ERE $2 (up to $3 s); the
# callers show the log's end themselves.
wait_log() {
	L2_PID=${pid[$1]} l2_wait "/tmp/$1.log" "$2" "$3" 2>/dev/null
}

# Nested KVM under TCG has made a booting L2 guest triple-fault now and
# then while another one ran: a guest gets a second chance.
boot_guest() { # A|B
	local attempt
	for attempt in 1 2; do
		note "booting guest $1 (${name[$1]}), attempt $attempt"
		start_guest "$1"
		wait_log "$1" '^L2-READY=' 300 && return 0
		note "guest $1 (${name[$1]}) not ready, attempt $attempt; end of its log:"
		tail -n 15 "/tmp/$1.log" | sed 's/^/#   /' >&2
		kill -KILL "${pid[$1]}" 2>/dev/null || true
		wait "${pid[$1]}" 2>/dev/null || true
	done
	die "guest $1 (${name[$1]}) did not boot"
}

# ---- counters
# The guest's NIC interrupts and kicks, asked for on its console (the
# tag tells this answer from earlier ones; callers run in subshells).
guest_stats() { # A|B
	local tag
	tag=$(date +%s%N)
	echo "stats $tag" >&"${fd[$1]}"
	wait_log "$1" "^L2-STATS-$tag=" 30 || guest_failed "$1" "no answer on its console"
	sed -n "s/^L2-STATS-$tag=//p" "/tmp/$1.log" | tr -d '\r'
}

kvm_dir() {
	local d
	for d in /sys/kernel/debug/kvm/"$1"-*; do
		[ -d "$d" ] && { echo "$d"; return 0; }
	done
	return 1
}

user_exits() { # PID: exits to user space by all of its threads
	local tids
	tids=$(ls /proc/"$1"/task | tr '\n' ' ')
	awk -v tids=" $tids" '/common_pid:/ {
		gsub(/[{}]/, ""); if (index(tids, " " $2 " ")) n += $4 }
		END { print n + 0 }' $TRACE/events/kvm/kvm_userspace_exit/hist
}

# Context switches on all CPUs of the test VM so far.
ctxt() {
	awk '$1 == "ctxt" { print $2 }' /proc/stat
}

# A histogram keyed by thread name so far, its last value by name, with
# a number after "-", "/" or ":" folded into N ("kworker/u4:1" and
# "kworker/u4:3" are both "kworker/u4:N", "vhost-338" is "vhost-N";
# "iperf3" stays).
thread_hist() { # EVENT KEY
	awk -v key="$2:" '$0 ~ key { sub(".*" key " *", ""); name = $1; out = ""
		while (match(name, /[-\/:][0-9]+/)) {
			out = out substr(name, 1, RSTART) "N"
			name = substr(name, RSTART + RLENGTH)
		}
		n[out name] += $NF } END { for (k in n) printf "%s %.0f\n", k, n[k] }' \
		"$TRACE/events/sched/$1/hist"
}

# Context switches by the thread that left the CPU, and CPU time (ns).
thread_switches() { thread_hist sched_switch prev_comm; }
thread_cpu() { thread_hist sched_stat_runtime comm; }

# Packets through a netdev so far (received + sent).
packets() { # NS IF
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets" \
		"/sys/class/net/$2/statistics/tx_packets" | awk '{ n += $1 } END { print n }'
}

# One line of counters for guest $1: host packets (rx+tx at the host
# netdev), KVM exits, PIO exits, user-space MMIO exits, emulated
# instructions, halts, injected interrupts, exits to user space, context
# switches.
host_counters() { # A|B
	local d s p=${pid[$1]} stat
	d=$(kvm_dir "$p") || die "no KVM statistics for guest $1"
	s=$(packets "${host[$1]}" "${hostif[$1]}")
	for stat in exits io_exits mmio_exits insn_emulation halt_exits irq_injections; do
		s="$s $(cat "$d/$stat")"
	done
	echo "$s $(user_exits "$p") $(ctxt)"
}

# Both, then the guest's NIC interrupts and kicks.  The console exchange
# that asks the guest costs exits of its own, so the host's counters are
# read after it at the start of a measurement and before it at the end.
# The context switches by thread go to /tmp/threads.before|after.
# A reading that failed (a guest that did not answer, KVM statistics
# gone) ends the benchmark: every "|| exit 1" is there because a failing
# command substitution does not stop a function that runs in one.
counters() { # A|B before|after
	local g h
	if [ "$2" = before ]; then
		g=$(guest_stats "$1") || exit 1
		h=$(host_counters "$1") || exit 1
		thread_switches >/tmp/threads.before
		thread_cpu >/tmp/cpu.before
	else
		h=$(host_counters "$1") || exit 1
		thread_switches >/tmp/threads.after
		thread_cpu >/tmp/cpu.after
		g=$(guest_stats "$1") || exit 1
	fi
	echo "$h $g"
}

# ---- workloads: each prints its figures as JSON members
iperf_json() { # FILE LEN: received throughput (Mbit/s) or packets/s
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    sys.exit("iperf3: " + d["error"])
r = d["end"]["sum_received"]
if int(sys.argv[2]):
    print('"kpps": %.3f' % (r["bytes"] / int(sys.argv[2]) / r["seconds"] / 1e3))
else:
    print('"mbps": %.3f' % (r["bits_per_second"] / 1e6))
PY
}

sockperf_json() { # FILE: median and 99th percentile, microseconds
	awk '/percentile 50.000 =/ { p50 = $NF } /percentile 99.000 =/ { p99 = $NF }
		END { if (p50 == "" || p99 == "") exit 1; printf "\"p50_us\": %s, \"p99_us\": %s\n", p50, p99 }' "$1"
}

# run_workload NS ADDR WORKLOAD CLIENT_IS_GUEST: the client runs in NS
# against ADDR; g2h means the guest side sends.
run_workload() {
	local ns=$1 addr=$2 w=$3 rev=()
	# In the kvm part the client is on the host: guest-to-host is -R.
	case $w:$4 in
	tcp-g2h:0 | tcp-h2g:1 | udp64-g2h:0) rev=(-R) ;;
	esac
	# A client that hangs (a stuck peer) fails the measurement; one that
	# does not go on SIGTERM is killed 10 s later.
	local limit=$((seconds + 60))
	case $w in
	tcp-*)
		timeout -k 10 "$limit" ip netns exec "$ns" "${pin_client[@]}" iperf3 -c "$addr" -t "$seconds" -J "${rev[@]}" \
			>/tmp/w.json || true
		iperf_json /tmp/w.json 0 ;;
	udp64-*)
		timeout -k 10 "$limit" ip netns exec "$ns" "${pin_client[@]}" iperf3 -c "$addr" -t "$seconds" -J \
			-u -l 64 -b 0 "${rev[@]}" >/tmp/w.json || true
		iperf_json /tmp/w.json 64 ;;
	latency)
		timeout -k 10 "$limit" ip netns exec "$ns" "${pin_client[@]}" sockperf pp -i "$addr" -t "$seconds" -m 64 \
			>/tmp/w.txt 2>&1 || { cat /tmp/w.txt >&2; return 1; }
		sockperf_json /tmp/w.txt ;;
	esac
}

WORKLOADS=${VBUS_BENCH_WORKLOADS:-tcp-g2h tcp-h2g udp64-g2h latency}

# The per-thread context switches and CPU time between the snapshots in
# /tmp/{threads,cpu}.{before,after}, as the JSON members
# "thread_switches" and "thread_cpu_ns".
thread_deltas() {
	python3 - <<'PY'
import json
out = []
for what, key in (("threads", "thread_switches"), ("cpu", "thread_cpu_ns")):
    snap = {}
    for when in ("before", "after"):
        with open("/tmp/%s.%s" % (what, when), encoding="utf-8") as f:
            snap[when] = {name: int(n) for name, n in (line.split() for line in f)}
    delta = {k: n - snap["before"].get(k, 0)
             for k, n in snap["after"].items() if n > snap["before"].get(k, 0)}
    out.append('"%s": %s' % (key, json.dumps(delta)))
print(", ".join(out))
PY
}

measure_kvm() { # A|B REP WORKLOAD
	local before after figures
	pin_side "$1"
	before=$(counters "$1" before)
	figures=$(run_workload "${host[$1]}" 10.80.0.2 "$3" 0) || guest_failed "$1" "$3 failed"
	after=$(counters "$1" after)
	python3 - "${name[$1]}" "$2" "$3" "$figures" "$before" "$after" "$(thread_deltas)" <<'PY'
import json, sys
side, rep, workload, figures, before, after, threads = sys.argv[1:]
keys = ["packets", "exits", "pio_exits", "user_mmio_exits", "emulated", "halts",
        "injected_irqs", "user_exits", "context_switches", "guest_irqs", "guest_tx_kicks",
        "guest_rx_kicks"]
if not len(keys) == len(before.split()) == len(after.split()):
    sys.exit("bench: %s %s: counters before %r, after %r: want %d values each"
             % (side, workload, before, after, len(keys)))
delta = {k: int(a) - int(b) for k, a, b in zip(keys, after.split(), before.split())}
delta["guest_kicks"] = delta["guest_tx_kicks"] + delta["guest_rx_kicks"]
m = {"part": "kvm", "side": side, "rep": int(rep), "workload": workload}
m.update(json.loads("{" + figures + "}"))
m["counters"] = delta
m.update(json.loads("{" + threads + "}"))
print("BENCH " + json.dumps(m))
PY
}

echo "BENCH {\"part\": \"method\", \"seconds\": $seconds, \"reps\": $reps," \
	"\"kernel\": \"$(l2_kver)\", \"l2\": \"1 vCPU, $MEM\", \"pinned\": $([ "$PIN" = 0 ] && echo false || echo true)," \
	"\"halt_poll_ns\": $(cat /sys/module/kvm/parameters/halt_poll_ns)," \
	"\"vm_halt_poll_ns\": ${VBUS_BENCH_VM_HALT_POLL_NS:-null}}"
note "KVM halt polling: $(cat /sys/module/kvm/parameters/halt_poll_ns) ns"
boot_guest A
note "guest A (vhost-net) up: $(l2_value /tmp/A.log L2-READY)"
boot_guest B
note "guest B (venet) up: $(l2_value /tmp/B.log L2-READY)"
for _ in $(seq 50); do
	ip netns exec hB cat /sys/class/net/vnb0/carrier 2>/dev/null | grep -q 1 && break
	sleep 0.1
done
# Warm-up: ARP, sockets, page cache; not counted.
for g in A B; do
	ip netns exec "${host[$g]}" ping -c 2 -W 5 10.80.0.2 >/dev/null ||
		guest_failed "$g" "the host cannot ping it"
done

for rep in $(seq "$reps"); do
	for w in $WORKLOADS; do
		for g in A B; do
			measure_kvm "$g" "$rep" "$w"
			note "kvm $w on ${name[$g]}, repetition $rep of $reps done"
		done
	done
done
for g in A B; do
	echo quit >&"${fd[$g]}"
done
for g in A B; do
	for _ in $(seq 150); do kill -0 "${pid[$g]}" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "${pid[$g]}" 2>/dev/null || true
	wait "${pid[$g]}" 2>/dev/null || true
done

# ---- local part: venet over the local connector against veth
# (left to the scheduler: its threads are the workload's own)
pin_client=()
$VBUSCTL container add bl
$VBUSCTL device add venet vl ifname=vnl0 --enable
$VBUSCTL attach vl bl
mkdir /sys/kernel/config/vbus-local/bl
for _ in $(seq 100); do
	ls /sys/bus/vbus-proxy/devices/bl:0/net >/dev/null 2>&1 && break
	sleep 0.1
done
lguest=$(ls /sys/bus/vbus-proxy/devices/bl:0/net)
ip link add vethl type veth peer name vethl2
pair() { # NS1 NS2 IF1 IF2 NET
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
pair la lb vnl0 "$lguest" 10.81.0
pair ea eb vethl vethl2 10.82.0
for _ in $(seq 100); do
	ip -n lb link show "$lguest" | grep -q LOWER_UP && break
	sleep 0.1
done
declare -A lhost=([venet-local]=la [veth]=ea) lguestns=([venet-local]=lb [veth]=eb)
declare -A lnet=([venet-local]=10.81.0 [veth]=10.82.0) lif=([venet-local]=vnl0 [veth]=vethl)
for s in venet-local veth; do
	ip netns exec "${lhost[$s]}" iperf3 -s -D
	ip netns exec "${lhost[$s]}" sockperf sr -i "${lnet[$s]}.1" >/dev/null 2>&1 &
done
sleep 0.5
for rep in $(seq "$reps"); do
	for w in $WORKLOADS; do
		for s in venet-local veth; do
			p0=$(packets "${lhost[$s]}" "${lif[$s]}")
			c0=$(ctxt)
			thread_switches >/tmp/threads.before
			thread_cpu >/tmp/cpu.before
			figures=$(run_workload "${lguestns[$s]}" "${lnet[$s]}.1" "$w" 1) ||
				die "$w failed on $s"
			thread_switches >/tmp/threads.after
			thread_cpu >/tmp/cpu.after
			c1=$(ctxt)
			p1=$(packets "${lhost[$s]}" "${lif[$s]}")
			echo "BENCH {\"part\": \"local\", \"side\": \"$s\", \"rep\": $rep," \
				"\"workload\": \"$w\", $figures, \"counters\": {\"packets\": $((p1 - p0))," \
				"\"context_switches\": $((c1 - c0))}, $(thread_deltas)}"
			note "local $w on $s, repetition $rep of $reps done"
		done
	done
done
