# SPDX-License-Identifier: GPL-2.0
#
# A million operations of a hostile guest against the KVM connector.
# tests/tools/kvm-fuzz plays the guest from its VMM (no vCPU): random and
# garbage calls, doorbells, rings and descriptors corrupted by a thread
# racing the host, and guest memory replaced under the live rings.
# Meanwhile this suite unplugs the devices and places them again, turns
# them off and on, and sends traffic into the venets from the host.
# Afterwards nothing may be left: no client, no pinned page, no slab
# growth, and every module unloads; the harness fails the run on any
# WARN, oops, soft lockup or hung task.
#
# The seed is printed; VBUS_FUZZ_SEED=N replays one (VBUS_FUZZ_OPS and
# VBUS_FUZZ_SECONDS change the count and the time bound).
# vm-options: --timeout 300
# vm-retry: 2
. tests/vm/lib.sh

FUZZ=build/cmake/tests/tools/kvm-fuzz
REMAP=build/cmake/tests/tools/kvm-remap
F=$CFS/containers/F
seed=${VBUS_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ops=${VBUS_FUZZ_OPS:-1000000}
seconds=${VBUS_FUZZ_SECONDS:-110}

kvm_host

# Warm up once, so one-time allocations are part of the baseline.
modprobe vbus_venet && modprobe vbus_echo && modprobe vbus_kvm &&
	modprobe -r vbus_kvm vbus_echo vbus_venet vbus
slab_objects >/tmp/slab0

check "the modules load" sh -c 'modprobe vbus_venet && modprobe vbus_echo && modprobe vbus_kvm'
# Two echo devices and two venets in container F.
devs="e0 e1 v0 v1"
class() { case $1 in e*) echo echo ;; *) echo venet ;; esac; }
setup() {
	local d
	mkdir $F || return 1
	for d in $devs; do
		mkdir $CFS/devices/$(class $d)/$d || return 1
		if [ "$(class $d)" = venet ]; then
			put $CFS/devices/venet/$d/ifname vnf$d || return 1
		fi
		put $CFS/devices/$(class $d)/$d/enabled 1 &&
			ln -s $CFS/devices/$(class $d)/$d $F/devices/$d || return 1
	done
	netdev_up v0 && netdev_up v1
}
# A venet's host interface up, with an address and a neighbour that does
# not answer, for host traffic; again after each enable, which makes a
# new netdev.
netdev_up() {
	local n=${1#v}
	ip link set vnf$1 up && ip addr add 10.99.$n.1/24 dev vnf$1 &&
		ip neigh add 10.99.$n.2 lladdr 02:00:00:00:0$n:02 dev vnf$1
}
check "container F with two echo devices and two venets" setup

# Unplug and place the devices again, and turn them off and on (refused
# with EBUSY while the guest has them open), until told to stop.
churn() {
	local rounds=0 d
	while [ ! -e /tmp/fuzz-done ]; do
		for d in $devs; do
			[ -e /tmp/fuzz-done ] && break
			rm $F/devices/$d
			put $CFS/devices/$(class $d)/$d/enabled 0 2>/dev/null
			put $CFS/devices/$(class $d)/$d/enabled 1
			ln -s $CFS/devices/$(class $d)/$d $F/devices/$d
			sleep 0.3
			put $CFS/devices/$(class $d)/$d/enabled 0 2>/dev/null
			put $CFS/devices/$(class $d)/$d/enabled 1
			case $d in v*) netdev_up $d 2>/dev/null ;; esac
			rounds=$((rounds + 1))
		done
	done
	echo "$rounds" >/tmp/churn-rounds
}

pins0=$(pins_held)
rm -f /tmp/fuzz-done
churn &
churner=$!
# ping goes on when its interface goes away and comes back.
ping -q -i 0.01 -s 1400 -w $((seconds + 10)) 10.99.0.2 >/dev/null 2>&1 &
ping1=$!
ping -q -i 0.01 -s 60 -w $((seconds + 10)) 10.99.1.2 >/dev/null 2>&1 &
ping2=$!
echo "# kvm-fuzz seed $seed (replay: VBUS_FUZZ_SEED=$seed tests/vm/suite kvm-fuzz)"
out=$($FUZZ F "$seed" "$ops" "$seconds" 2>&1)
rc=$?
touch /tmp/fuzz-done
wait $churner
kill $ping1 $ping2 2>/dev/null
wait $ping1 $ping2 2>/dev/null
printf '%s\n' "$out" | sed 's/^/# /'
check "a hostile guest: $ops operations, every call answered with a result or an errno" \
	test "$rc" = 0
check "the devices were unplugged and placed again meanwhile" \
	test "$(cat /tmp/churn-rounds)" -gt 4
check "every device is back in F" test "$(ls $F/devices | wc -l)" = 4
check "the guest's client is detached" test "$(cat $F/clients)" = 0
check "every page pinned for its rings was unpinned" pins_back_to "$pins0"

# The devices still work for an honest guest, through memory changes.
check "an honest guest still gets working echo and venet devices" \
	$REMAP F "$(cat $CFS/devices/echo/e0/id)" "$(cat $CFS/devices/venet/v0/id)" vnfv0
check "that guest is detached too" test "$(cat $F/clients)" = 0

teardown() {
	local d
	for d in $devs; do
		rm $F/devices/$d && put $CFS/devices/$(class $d)/$d/enabled 0 &&
			rmdir $CFS/devices/$(class $d)/$d || return 1
	done
	rmdir $F
}
check "tear down" teardown
check "every module unloads" modprobe -r vbus_kvm vbus_echo vbus_venet vbus
slab_objects >/tmp/slab1
check "no slab cache grew by 200 objects" slab_grew_less_than /tmp/slab0 /tmp/slab1 200

done_testing
