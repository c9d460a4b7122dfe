# SPDX-License-Identifier: GPL-2.0
#
# Scale: 400 containers with 10 devices each are created, enabled,
# placed and destroyed through configfs.  The time per object must stay
# flat from the first tenth of the containers to the last, as far as vbus is
# concerned, and slab usage must return to its baseline.
# vm-retry: 2
. tests/vm/lib.sh

# 400 containers (4,400 directories) show growth as well as 1000 in a
# third of the time: configfs' own mkdir cost grows with the directory,
# so the run is quadratic.  VBUS_SCALE_CONTAINERS=1000 for a longer one.
# The containers are timed in ten groups, so the last group always comes
# after ten times more objects than the first.
containers=${VBUS_SCALE_CONTAINERS:-400}
devices=10
group=$((containers / 10))
scale=build/cmake/tests/tools/cfsscale

install_modules
# The control: nvmet's ports/ and hosts/ groups, whose items cost
# nothing of their own, filled in step with vbus's containers/ and
# devices/echo/.
ctl=/sys/kernel/config/nvmet
# Warm up so one-time allocations are part of the baseline.
modprobe vbus_echo
modprobe nvmet
$scale $CFS echo $group $devices $group $ctl/ports $ctl/hosts >/dev/null
modprobe -r nvmet
slab0=$(slab_kb)
slab_objects >/tmp/slab0
modprobe nvmet
check "create and destroy $containers containers x $devices devices" \
	sh -c "$scale $CFS echo $containers $devices $group $ctl/ports $ctl/hosts >/tmp/scale"
modprobe -r nvmet
grep -v '^destroy' /tmp/scale | sed 's/^/# /'

# Mean time of one step for a group.
step_us() { sed -n "s/^$1 group=$2 .*$3_us=\([0-9]*\).*/\1/p" /tmp/scale; }
last=$((containers / group - 1))

# Steps that create no directory must stay flat: the last group comes
# after ten times more objects than the first, so anything linear in the
# number of objects grows far beyond the bound of 4x, which still leaves
# room for a machine that slows down as its caches fill.
flat() { [ -n "$1" ] && [ -n "$2" ] && [ "$2" -le $((4 * $1 + 50)) ]; }
for s in create:enable create:link destroy:unlink destroy:rmdir destroy:container; do
	phase=${s%%:*} name=${s#*:}
	if [ $phase = create ]; then first=0 final=$last; else first=$last final=0; fi
	a=$(step_us $phase $first $name)
	b=$(step_us $phase $final $name)
	echo "# $phase $name: first $group containers ${a} us/object, last $group ${b} us/object"
	check "$phase $name: time per object stays flat (${a} -> ${b} us)" flat "$a" "$b"
done

# A mkdir makes configfs scan the parent directory linearly
# (fs/configfs/dir.c: configfs_lookup, configfs_dirent_exists), so its
# cost grows with the directory whatever the subsystem does.  The control
# directories, filled in step, give configfs' own growth in this very
# run; vbus's mkdir must grow no faster (ratios in percent, with 1.5x +
# 50% slack).
like_configfs() {
	local a b ca cb
	a=$(step_us create 0 "$1")
	b=$(step_us create $last "$1")
	ca=$(step_us create 0 "$2")
	cb=$(step_us create $last "$2")
	echo "# $1 mkdir: first $group containers ${a} us, last ${b} us;" \
		"configfs alone ($2): ${ca} us -> ${cb} us"
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$ca" ] && [ -n "$cb" ] &&
		[ $((100 * b / a)) -le $((150 * cb / ca + 50)) ]
}
check "container mkdir grows no faster than configfs' own" like_configfs container ctl_container
check "device mkdir grows no faster than configfs' own" like_configfs mkdir ctl_device
check "the tree is empty again" test -z "$(find $CFS/containers $CFS/devices/echo -mindepth 1)"

modprobe -r vbus_echo vbus
modprobe vbus_echo
slab1=$(slab_kb)
slab_objects >/tmp/slab1
echo "# slab before: $slab0 kB, after: $slab1 kB ($containers x $devices objects)"
# A leak of anything per device shows as thousands of objects in a cache.
check "no slab cache keeps objects for the devices" \
	slab_grew_less_than /tmp/slab0 /tmp/slab1 $((containers * devices / 4))
check "slab usage is back to its baseline (within 1 MB)" test $((slab1 - slab0)) -lt 1024
modprobe -r vbus_echo vbus

done_testing
