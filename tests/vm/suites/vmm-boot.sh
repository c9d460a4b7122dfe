# SPDX-License-Identifier: GPL-2.0
#
# vbus-vm, the project's KVM VMM, boots the distribution kernel as an L2
# guest inside the test VM (nested KVM under TCG): the guest reaches its
# init and sees its CPUs, its memory and the PCI host bridge; the console
# goes both ways; vbus-vm exits 0 when the guest reboots or panics,
# 128+15 on SIGTERM, and its errors say what is wrong.
# vm-options: --timeout 600 --idle 320
# (--idle: nested KVM under TCG now and then freezes the whole test VM
# without a word.  Every step of the suite reports within its own limit
# of at most 300 s, so a VM silent for 320 s is frozen: it is stopped and
# tried again at once rather than at the 600 s timeout.)
# vm-retry: 2
. tests/vm/lib.sh
. tests/vm/l2/lib.sh

kernel=$(l2_kernel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# exits_with STATUS ERE COMMAND...: the command exits with STATUS and its
# output (stdout and stderr) has a line matching ERE.
exits_with() {
	local want=$1 pattern=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq "$want" ] || { echo "exit status $rc, expected $want"; return 1; }
	printf '%s\n' "$out" | grep -Eq -- "$pattern" || { echo "no /$pattern/"; return 1; }
}

# The guest's side: report what it sees, then do what the command line
# asks (l2.input: echo a line from the console; l2.sleeps: sleep 300
# times for 300 us; l2.hang: wait to be killed; l2.panic: crash).
cat >"$work/guest.sh" <<'GUEST'
read -r cmdline </proc/cmdline
echo "cpus=$(grep -c '^processor' /proc/cpuinfo)"
echo "online=$(cat /sys/devices/system/cpu/online)"
# The RAM the kernel found ("Memory: <available>K/<found>K available"):
# MemTotal would also depend on what the kernel reserves (a KASAN
# kernel keeps an eighth of memory for its shadow).
echo "memfound=$(dmesg | sed -n 's/.*Memory: [0-9]*K\/\([0-9]*\)K available.*/\1/p')"
echo "clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "clockevent=$(cat /sys/devices/system/clockevents/clockevent0/current_device)"
echo "pit_irqs=$(awk '$1 == "0:" { print $2 }' /proc/interrupts)"
for d in /sys/bus/pci/devices/*; do
	[ -e "$d/vendor" ] && echo "pcidev=${d##*/} $(cat "$d/vendor") $(cat "$d/device") $(cat "$d/class")"
done
echo "warnings=$(dmesg | grep -c -E 'WARNING|BUG|Oops|Call Trace')"
case " $cmdline " in
*" l2.input "*)
	echo "L2-WAITING-INPUT"
	read -r -t 120 line && echo "got=$line" ;;
esac
case " $cmdline " in
*" l2.sleeps "*)
	i=0
	while [ $i -lt 300 ]; do usleep 300; i=$((i + 1)); done
	echo "slept=$i" ;;
esac
case " $cmdline " in
*" l2.bridge "*)
	d=/sys/bus/pci/devices/0000:00:01.0
	byte() { dd if=$d/config bs=1 skip=$(($1)) count=1 2>/dev/null | od -An -tu1 | tr -d ' '; }
	echo "bridge=$(cat $d/vendor) $(cat $d/device) $(cat $d/class)"
	echo "bars=$(head -n 3 $d/resource | cut -d' ' -f1 | tr '\n' ' ')"
	cap=$(byte 0x34)
	echo "capability=$(byte $cap) size=$(( ($(byte $((cap + 2))) | ($(byte $((cap + 3))) << 8)) & 0x7ff ))"
	# Move BAR 1 to 0xd000 with I/O decoding on, then ring slots 0-4 there.
	printf '\001\320\000\000' | dd of=$d/config bs=4 seek=5 conv=notrunc 2>/dev/null
	echo "bar1=$(dd if=$d/config bs=4 skip=5 count=1 2>/dev/null | od -An -tx4 | tr -d ' ')"
	rang=0
	for slot in 0 1 2 3 4; do /bin/outl $((0xd000 + 4 * slot)) 1 && rang=$((rang + 1)); done
	echo "L2-RANG=$rang" ;;
esac
case " $cmdline " in
*" l2.hang "*)
	echo "L2-HANGING"
	while :; do sleep 1; done ;;
*" l2.panic "*)
	echo "L2-PANICKING"
	echo c >/proc/sysrq-trigger ;;
esac
exit 0
GUEST

cmdline() {
	echo "console=ttyS0 reboot=k panic=-1 acpi=off pci=conf1 quiet $*"
}

check "vbus-vm is built" test -x "$VBUS_VM"

# ---- errors, before KVM is loaded
if [ -e /dev/kvm ]; then
	ok "without /dev/kvm: a clear message # SKIP /dev/kvm exists already"
else
	check "without /dev/kvm: the message names it and the modules" \
		exits_with 1 '^vbus-vm: /dev/kvm: open: No such file or directory \(is kvm_intel or kvm_amd loaded\?\)$' \
		"$VBUS_VM" -k "$kernel"
fi
check "a missing KVM device given with --kvm-device" \
	exits_with 1 '^vbus-vm: /nonexistent/kvm: open: No such file or directory' \
	"$VBUS_VM" -k "$kernel" --kvm-device /nonexistent/kvm
check "a device that is not KVM" \
	exits_with 1 '^vbus-vm: /dev/null: KVM_GET_API_VERSION: ' \
	"$VBUS_VM" -k "$kernel" --kvm-device /dev/null
check "bad --mem: usage error, status 2" \
	exits_with 2 "^vbus-vm: --mem: '12X' is not a size" "$VBUS_VM" -k "$kernel" --mem 12X
check "--mem below 64M: usage error" \
	exits_with 2 "^vbus-vm: --mem: '16M' is out of range 64M-64G" "$VBUS_VM" -k "$kernel" --mem 16M
check "bad --cpus: usage error" \
	exits_with 2 "^vbus-vm: --cpus: '0' is out of range" "$VBUS_VM" -k "$kernel" --cpus 0
check "no --kernel: usage error" exits_with 2 'kernel is required' "$VBUS_VM"
check "a kernel file that does not exist" \
	exits_with 1 '^vbus-vm: /nonexistent/bzImage: open kernel: No such file or directory$' \
	"$VBUS_VM" -k /nonexistent/bzImage
head -c 100000 /dev/urandom >"$work/garbage"
check "a file that is not a bzImage" \
	exits_with 1 "^vbus-vm: $work/garbage: read kernel: not a bzImage: no HdrS signature" \
	"$VBUS_VM" -k "$work/garbage"
head -c 600 "$kernel" >"$work/truncated"
check "a truncated bzImage" \
	exits_with 1 "^vbus-vm: $work/truncated: read kernel: truncated" "$VBUS_VM" -k "$work/truncated"
check "an initrd that does not exist" \
	exits_with 1 '^vbus-vm: /nonexistent/initrd: open initrd: No such file or directory$' \
	"$VBUS_VM" -k "$kernel" -i /nonexistent/initrd --kvm-device /nonexistent/kvm

# ---- with KVM
check "KVM loads with nested virtualization" l2_load_kvm
check "a missing connector given with --vbus-device: load vbus_kvm" \
	exits_with 1 '^vbus-vm: /dev/vbus-kvm-absent: open: No such file or directory \(load the vbus_kvm module\)$' \
	"$VBUS_VM" -k "$kernel" --container c0 --vbus-device /dev/vbus-kvm-absent
if [ -e /dev/vbus-kvm ]; then
	ok "/dev/vbus-kvm missing: load vbus_kvm # SKIP /dev/vbus-kvm exists"
else
	check "/dev/vbus-kvm missing: load vbus_kvm" \
		exits_with 1 '^vbus-vm: /dev/vbus-kvm: open: No such file or directory \(load the vbus_kvm module\)$' \
		"$VBUS_VM" -k "$kernel" --container c0
fi
check "not enough memory for the kernel and initrd" \
	exits_with 1 'raise --mem' "$VBUS_VM" -k "$kernel" -i "$kernel" --mem 64M

check "the L2 initramfs builds" l2_mkinitrd "$work/initrd" "$work/guest.sh"

# ---- one vCPU, 256 MiB, reboot -f
L2_ERR=$work/one.err l2_run "$work/one" 300 -k "$kernel" -i "$work/initrd" --mem 256M --stats
check "1 vCPU: the guest reached its init" l2_expect "$work/one" '^L2-INIT: ok' "$work/one.err"
check "1 vCPU: its script ran to the end" test "$(l2_result "$work/one")" = 0
check "console lines end without a CR" grep -qx 'L2-RESULT: 0' "$work/one"
check "1 vCPU: vbus-vm exited 0 on reboot -f (status $L2_STATUS)" test "$L2_STATUS" = 0
check "1 vCPU: the guest sees 1 CPU" test "$(l2_value "$work/one" cpus)" = 1
mem=$(l2_value "$work/one" memfound)
check "1 vCPU: the guest finds about 256 MiB (${mem:-?} kB)" \
	test "${mem:-0}" -gt $((240 * 1024)) -a "${mem:-0}" -le $((256 * 1024))
check "the guest sees the host bridge 00:00.0 (class 0x060000)" \
	grep -q '^pcidev=0000:00:00.0 0x1b36 0x0008 0x060000' "$work/one"
check "the host bridge is the only PCI function without --container" \
	test "$(grep -c '^pcidev=' "$work/one")" = 1
check "the guest uses kvm-clock" test "$(l2_value "$work/one" clocksource)" = kvm-clock
# KVM emulates the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER) and
# vbus-vm offers it: Linux then takes the local APIC in TSC-deadline mode
# and leaves the PIT alone, which otherwise costs a host thread wake-up
# for every broadcast timer event.
timer_ok() {
	local ce pit
	ce=$(l2_value "$work/one" clockevent) pit=$(l2_value "$work/one" pit_irqs)
	echo "clock events: $ce; PIT interrupts: ${pit:-none}"
	[ "$ce" = lapic-deadline ] && [ -z "$pit" ]
}
check "the guest's timer is the local APIC in TSC-deadline mode, not the PIT" timer_ok
check "the guest logged no warning" test "$(l2_value "$work/one" warnings)" = 0
check "the console has only the guest's output" sh -c "! grep -q 'vbus-vm' '$work/one'"
check "--stats counted exits on stderr" grep -Eq '^vbus-vm: user exits: [1-9][0-9]* \(io [1-9]' "$work/one.err"
check "--stats: port I/O reached the UART and the PCI ports" \
	grep -Eq '^vbus-vm: port exits: serial [1-9][0-9]*, pci-config [1-9]' "$work/one.err"
check "--stats: the last line says why it stopped (the i8042 reset of reboot=k)" \
	test "$(tail -n 1 "$work/one.err")" = "vbus-vm: the guest reset the machine (i8042)"

# ---- two vCPUs, 384 MiB
L2_ERR=$work/two.err l2_run "$work/two" 300 -k "$kernel" -i "$work/initrd" --mem 384M --cpus 2
check "2 vCPUs: the guest reached its init" l2_expect "$work/two" '^L2-INIT: ok' "$work/two.err"
check "2 vCPUs: vbus-vm exited 0 (status $L2_STATUS)" test "$L2_STATUS" = 0
check "2 vCPUs: the guest sees 2 CPUs" test "$(l2_value "$work/two" cpus)" = 2
check "2 vCPUs: both are online" test "$(l2_value "$work/two" online)" = 0-1
mem=$(l2_value "$work/two" memfound)
check "2 vCPUs: the guest finds about 384 MiB (${mem:-?} kB)" \
	test "${mem:-0}" -gt $((368 * 1024)) -a "${mem:-0}" -le $((384 * 1024))
check "2 vCPUs: no warning" test "$(l2_value "$work/two" warnings)" = 0
check "2 vCPUs: nothing on stderr" test ! -s "$work/two.err"

# ---- per-VM halt polling (--halt-poll-ns: KVM_CAP_HALT_POLL)
# The guest sleeps 300 times for 300 us.  Each halt should outlast the
# kvm module's polling ceiling (halt_poll_ns, 200 us by default), so KVM
# does not let its polling of the vCPU grow past that ceiling; with a
# ceiling of 5 ms for this VM alone, it does.  KVM's kvm_halt_poll_ns
# trace events give each new polling time.  KVM (6.1) doubles the time
# after a halt shorter than the ceiling while the time is below it, and
# does not clip the result: when the emulator makes a few halts in a row
# short, one doubling from below the ceiling reaches up to twice it (a
# CI run saw 320000 ns under a ceiling of 200000), and no doubling
# follows.  So the module's ceiling bounds the time at twice its value,
# and the VM's own ceiling must take it past that.
T=/sys/kernel/debug/tracing
module_poll=$(cat /sys/module/kvm/parameters/halt_poll_ns)
poll_max() { # the longest polling time KVM gave a vCPU since the trace was cleared
	grep -o 'halt_poll_ns [0-9]*' $T/trace | awk '{ if ($2 > m) m = $2 } END { print m + 0 }'
}
echo 1 >$T/events/kvm/kvm_halt_poll_ns/enable
for ceiling in module 5000000; do
	echo >$T/trace
	opt=()
	[ $ceiling = module ] || opt=(--halt-poll-ns $ceiling)
	l2_run "$work/poll" 300 -k "$kernel" -i "$work/initrd" --mem 256M "${opt[@]}" \
		--append "$(cmdline l2.sleeps)"
	max=$(poll_max)
	echo "# halt polling, ceiling $ceiling: the longest polling KVM gave the vCPU: $max ns"
	check "halt polling ($ceiling): the guest slept 300 times (status $L2_STATUS)" \
		test "$(l2_value "$work/poll" slept)" = 300
	if [ $ceiling = module ]; then
		check "halt polling: KVM polls less than twice the module's ceiling ($module_poll ns)" \
			test "$max" -lt $((2 * module_poll))
	else
		check "--halt-poll-ns 5000000: KVM polls this VM's vCPU past twice the module's ceiling" \
			test "$max" -ge $((2 * module_poll))
	fi
done
echo 0 >$T/events/kvm/kvm_halt_poll_ns/enable

# ---- console input, then SIGTERM
mkfifo "$work/in"
exec 3<>"$work/in"
if L2_STDIN=$work/in L2_ERR=$work/term.err l2_boot "$work/term" '^L2-WAITING-INPUT' 200 \
	-k "$kernel" -i "$work/initrd" --mem 256M --append "$(cmdline l2.input l2.hang)"; then
	echo "hello-from-the-host" >&3
	check "console input reaches the guest" l2_wait "$work/term" '^got=hello-from-the-host' 60
	check "the guest waits to be stopped" l2_wait "$work/term" '^L2-HANGING' 60
	kill -USR1 "$L2_PID"
	check "SIGUSR1 prints the counters" l2_wait "$work/term.err" '^vbus-vm: user exits: [1-9]' 30
	check "... and the guest runs on" kill -0 "$L2_PID"
else
	not_ok "the guest asked for console input"
	cat "$work/term" "$work/term.err" | tail -n 20 | sed 's/^/#   /'
fi
l2_stop TERM
exec 3>&-
check "SIGTERM: vbus-vm exited with 143 (status $L2_STATUS)" test "$L2_STATUS" = 143
check "SIGTERM: it says so" grep -q '^vbus-vm: stopped by SIGTERM$' "$work/term.err"

# ---- the vbus bridge, with the project's connector (not its guest driver)
if [ ! -f connectors/kvm/vbus_kvm.ko ]; then
	ok "the vbus bridge # SKIP connectors/kvm/vbus_kvm.ko is not built"
else
	VBUSCTL=build/cmake/tools/vbusctl/vbusctl
	install_modules
	check "vbus_kvm loads, container c0 exists" \
		sh -c "modprobe vbus_kvm && $VBUSCTL container add c0"
	check "binding to a missing container: no container NAME" \
		exits_with 1 "^vbus-vm: /dev/vbus-kvm: VBUS_KVM_BIND to container 'nosuch': No such file or directory \\(no container nosuch\\)$" \
		"$VBUS_VM" -k "$kernel" --container nosuch
	chmod 0666 /dev/kvm /dev/vbus-kvm
	check "binding without the right: needs CAP_NET_ADMIN or the owner" \
		exits_with 1 "(Operation not permitted|Permission denied) \\(not allowed to attach to container c0: needs CAP_NET_ADMIN or the container's owner\\)$" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$VBUS_VM" -k "$kernel" --container c0
	chmod 0600 /dev/kvm /dev/vbus-kvm

	check "the bridge's L2 initramfs builds" \
		tests/vm/l2/mkinitrd --script "$work/guest.sh" \
			--file build/cmake/tests/tools/l2-outl:/bin/outl "$(l2_kver)" "$work/initrd-bridge"
	L2_ERR=$work/bridge.err l2_run "$work/bridge" 300 -k "$kernel" -i "$work/initrd-bridge" \
		--mem 256M --container c0 --verbose --stats --append "$(cmdline l2.bridge)"
	check "bridge: vbus-vm exited 0 (status $L2_STATUS)" test "$L2_STATUS" = 0
	check "bridge: the guest sees the vbus bridge at 00:01.0" \
		grep -qx 'bridge=0x7662 0x0001 0x068000' "$work/bridge"
	check "bridge: Linux kept the BARs (0xc000, 0xc400, 0xe0000000)" \
		grep -qx 'bars=0x000000000000c000 0x000000000000c400 0x00000000e0000000 ' "$work/bridge"
	check "bridge: an MSI-X capability with 33 vectors" grep -qx 'capability=17 size=32' "$work/bridge"
	check "bridge: the guest moved BAR 1" grep -qx 'bar1=0000d001' "$work/bridge"
	check "bridge: the doorbells followed it" \
		grep -q '^vbus-vm: doorbells moved to port 0xd000$' "$work/bridge.err"
	check "bridge: the guest rang the moved doorbells" grep -qx 'L2-RANG=5' "$work/bridge"
	check "bridge: no doorbell exited to vbus-vm (the ioeventfds took them)" \
		grep -qx 'vbus-vm: doorbell exits: 0' "$work/bridge.err"
	check "bridge: the connector let go of the VM" \
		test "$(cat "$CFS/containers/c0/clients" 2>/dev/null || echo 0)" = 0
	check "bridge: c0 and the modules go away" \
		sh -c "$VBUSCTL container del c0 && modprobe -r vbus_kvm vbus"
fi

# ---- a kernel panic ends the VMM (panic=-1 reboots, reboot=k resets)
l2_run "$work/panic" 300 -k "$kernel" -i "$work/initrd" --mem 256M \
	--append "$(cmdline l2.panic)"
check "panic: the guest got to crash itself" grep -q '^L2-PANICKING' "$work/panic"
check "panic: vbus-vm exited 0 (status $L2_STATUS)" test "$L2_STATUS" = 0
check "panic: the script did not finish" test -z "$(l2_result "$work/panic")"

done_testing
