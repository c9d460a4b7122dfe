# SPDX-License-Identifier: GPL-2.0
#
# vbusctl against the real modules: every verb end to end, errors and
# exit codes, monitor seeing concurrent changes, save / clear / restore
# giving back an identical tree, restore twice changing nothing, a
# half-restorable configuration reported object by object with no
# half-created device left, and vbusctl and plain mkdir/echo/ln
# administration used interchangeably.
# vm-retry: 2
. tests/vm/lib.sh

V=$PWD/build/cmake/tools/vbusctl/vbusctl
tmp=$(mktemp -d)

# Run a command and require exit status $1.
status_is() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" -eq "$want" ] || { echo "exit status $rc, wanted $want"; return 1; }
}

# Require exit status $1 and output (with errors) matching the ERE $2.
exits_with() {
	local want=$1 pattern=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" -eq "$want" ] || { echo "exit status $rc, wanted $want: $out"; return 1; }
	printf '%s\n' "$out" | grep -qE -- "$pattern" ||
		{ echo "output lacks /$pattern/: $out"; return 1; }
}

# Wait up to 10 s for a pattern in a file.
wait_for() {
	local i
	for i in $(seq 100); do
		grep -qE -- "$1" "$2" && return 0
		sleep 0.1
	done
	echo "no /$1/ in $2:"
	cat "$2"
	return 1
}

# Every line of $2 appears in file $1, in that order (other lines may
# come between).
lines_in_order() {
	python3 - "$1" "$2" <<'PY'
import sys
got = open(sys.argv[1]).read().splitlines()
want = sys.argv[2].splitlines()
i = 0
for line in got:
    if i < len(want) and line.startswith(want[i]):
        i += 1
if i < len(want):
    print("missing, in order: " + want[i])
    print("\n".join(got))
    sys.exit(1)
PY
}

# The vbus configfs tree is empty.
tree_empty() {
	[ -z "$(find $CFS/containers $CFS/devices -mindepth 2 -maxdepth 2)" ] ||
		{ find $CFS/containers $CFS/devices -mindepth 2 -maxdepth 2; return 1; }
}

# JSON check with python: $1 the file, $2 a Python expression on `j`.
json_is() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" ||
		{ cat "$1"; return 1; }
}

install_modules

# ---- without vbus
check "without vbus an error says so (exit 1)" exits_with 1 "is vbus loaded" \
	$V container list
check "a usage error exits with 2" status_is 2 $V container add
check "help exits with 0" status_is 0 $V --help

modprobe vbus_echo
modprobe vbus_venet

# ---- containers
check "container add with an owner" $V container add c1 --owner-uid 1000
check "... made by mkdir, owner written" test "$(cat $CFS/containers/c1/owner_uid)" = 1000
check "container list" sh -c "$V container list | grep -qE '^c1 +0 +0 +1000 +-$'"
check "container set" $V container set c1 owner_gid=0
check "container show --json" sh -c \
	"$V container show c1 --json >$tmp/c.json && grep -q '\"owner_gid\": 0' $tmp/c.json"
check "a bad owner is a usage error" exits_with 2 "owner_uid 'nobody'" \
	$V container set c1 owner_uid=nobody
check "a taken name: object, operation, errno" \
	exits_with 1 "container 'c1': create: File exists" $V container add c1
check "a bad name is refused before the kernel sees it" exits_with 2 "check name" \
	$V container add 'bad*name'

# ---- devices
check "device add with attributes, enabled last" $V device add echo e0 max_len=8192 --enable
check "... attribute written" test "$(cat $CFS/devices/echo/e0/max_len)" = 8192
check "... enabled" test "$(cat $CFS/devices/echo/e0/enabled)" = 1
check "an attribute of an enabled device: EBUSY explained (exit 1)" \
	exits_with 1 "device 'e0': set max_len=1: Device or resource busy \(class attributes change only while the device is disabled\)" \
	$V device set e0 max_len=1
check "... and unchanged" test "$(cat $CFS/devices/echo/e0/max_len)" = 8192
check "unknown class" exits_with 1 "device 'x0': create in class 'nosuch': No such file or directory \(no such device class" \
	$V device add nosuch x0
check "device names are unique across classes" \
	exits_with 1 "device 'e0': create in class 'venet': File exists \(device names are unique" \
	$V device add venet e0
check "a refused attribute: the device is removed again" \
	exits_with 1 "device 'v1': set mtu=9001: Invalid argument .*removed again" $V device add venet v1 mtu=9001
check "... nothing of it is left" test ! -e $CFS/devices/venet/v1
check "venet device with its attributes" $V device add venet v0 mtu=9000 ifname=vn0 --enable
check "... its host netdev exists" test -d /sys/class/net/vn0
check "device list --class" sh -c "$V device list --class venet | grep -qE '^v0 +venet +virtual-ethernet +1 +- +-$'"
check "device show lists every attribute" sh -c \
	"$V device show v0 | grep -qE '^  guest_mac +[0-9a-f:]{17} *$' && $V device show v0 | grep -qE '^  type +virtual-ethernet +\(read-only\)$'"
check "device classes" sh -c "[ \"\$($V device classes | tr '\n' ' ')\" = 'echo venet ' ]"

# ---- placement
check "attach" $V attach e0 c1
check "... is a link the kernel accepted" test "$(cat $CFS/devices/echo/e0/container)" = c1
check "device list shows container and id" sh -c "$V device list | grep -qE '^e0 +echo +echo +1 +c1 +0$'"
check "device list --json" sh -c "$V --json device list >$tmp/d.json"
check "... with id and container" json_is $tmp/d.json \
	'[d["id"] for d in j if d["name"] == "e0"] == [0] and [d["container"] for d in j if d["name"] == "e0"] == ["c1"]'
check "attach to a missing container" \
	exits_with 1 "device 'e0': attach to container 'c2': No such file or directory \(no such container\)" $V attach e0 c2
$V container add c2
check "placed twice: EBUSY" exits_with 1 "already placed in a container" $V attach e0 c2
check "a placed device cannot be deleted" exits_with 1 "detach it first" $V device del e0
check "a container with devices cannot be deleted" \
	exits_with 1 "container 'c1': remove: Directory not empty \(devices are placed in it" $V container del c1
check "detach" $V detach e0
check "... the link is gone" test -z "$(ls $CFS/containers/c1/devices)"
check "detach of an unplaced device" exits_with 1 "not placed" $V detach e0

# ---- stats
check "stats" sh -c "$V stats >$tmp/stats && grep -qE '^e0 +0 +0 +0 +0$' $tmp/stats && grep -q '^DEVICE' $tmp/stats"
check "stats --json of one device" sh -c "$V stats --json e0 >$tmp/s.json"
check "... has the counters" json_is $tmp/s.json 'j == [{"device": "e0", "opens": 0, "calls": 0, "signals_in": 0, "signals_out": 0}]'
check "stats of an unknown device" exits_with 1 "device 'nosuch': read counters: no such device" $V stats nosuch

# ---- monitor, running while vbusctl changes things
$V monitor --ready $tmp/ready >$tmp/events 2>$tmp/monitor.err &
mon=$!
$V --json monitor --count 3 --ready $tmp/ready.json >$tmp/events.json 2>&1 &
monj=$!
check "monitor subscribes" wait_for ready $tmp/ready
wait_for ready $tmp/ready.json >/dev/null
$V container add m1
$V device add echo m0 --enable
$V attach m0 m1
$V device del --force m0
$V container del m1
check "monitor sees the events of concurrent changes" wait_for '^container_del container=m1' $tmp/events
kill $mon
wait $mon 2>/dev/null
check "... every one, in order" lines_in_order $tmp/events "container_new container=m1
device_new device=m0 class=echo type=echo enabled=0
device_enable device=m0
device_place container=m1 device=m0 class=echo type=echo id=0 enabled=1
device_unplace container=m1 device=m0
device_disable device=m0
device_del device=m0
container_del container=m1"
wait $monj
check "monitor --json --count 3 stops after three events" test $? -eq 0
check "... one JSON object per event" sh -c "python3 -c '
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
assert [e[\"event\"] for e in events] == [\"container_new\", \"device_new\", \"device_enable\"], events
assert events[1][\"class\"] == \"echo\" and events[1][\"enabled\"] is False
' $tmp/events.json"
check "monitor --timeout ends a quiet monitor" status_is 0 $V monitor --timeout 1
check "... and a count not reached is a failure" status_is 1 $V monitor --count 1 --timeout 1
# The events name every container and device: only an administrator may
# listen (the "monitor subscribes" check above is root's).
check "an unprivileged user may not join the events group (EPERM)" \
	exits_with 1 "join the events group: Operation not permitted" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups $V monitor --timeout 1
# Requests are checked whole: a header with a non-zero reserved byte or an
# attribute the family does not define is refused, not ignored.
check "a dump request with a non-zero reserved header field is refused" \
	exits_with 2 "Invalid input data" $NLMON dump containers --reserved 1
check "... and one with an unknown attribute" \
	exits_with 2 "Invalid input data|Attribute" $NLMON dump containers --attr 99
check "... while a plain dump request is answered" $NLMON dump containers

# ---- save, clear, restore
$V device add echo e1 max_len=100
$V device add echo e2 --enable
$V attach e0 c1
$V attach e2 c2
$V attach v0 c2
check "save" $V save $tmp/s1.json
check "... a version 1 file" json_is $tmp/s1.json \
	'j["version"] == 1 and len(j["containers"]) == 2 and len(j["devices"]) == 4 and len(j["placements"]) == 3'
check "... with every writable attribute and only those" json_is $tmp/s1.json \
	'[d for d in j["devices"] if d["name"] == "v0"][0]["attributes"].keys() == {"features", "guest_mac", "host_mac", "ifname", "mtu", "queues"}'
check "... mode 0600" test "$(stat -c %a $tmp/s1.json)" = 600
check "... no temporary file left" test "$(ls $tmp | grep -c tmp)" -eq 0
check "save to stdout is the same" sh -c "$V save | cmp - $tmp/s1.json"
check "clear wants --yes" exits_with 2 "add --yes" $V clear
check "clear --yes" $V clear --yes
check "... leaves an empty tree" tree_empty
t0=$(date +%s%N)
check "restore" $V restore $tmp/s1.json
t1=$(date +%s%N)
check "save after restore is identical" sh -c "$V save $tmp/s2.json && diff -u $tmp/s1.json $tmp/s2.json"
check "... the devices work again: ids handed out, netdev back" \
	sh -c "test \"\$(cat $CFS/devices/echo/e0/id)\" = 0 && test -d /sys/class/net/vn0"
# A second restore must change nothing: no event at all.
$V monitor --ready $tmp/ready2 >$tmp/events2 2>&1 &
mon=$!
wait_for ready $tmp/ready2 >/dev/null
check "restore twice: the second succeeds" $V restore $tmp/s1.json
check "... and plans nothing" sh -c "[ -z \"\$($V restore --dry-run $tmp/s1.json)\" ]"
$V container add marker
wait_for 'container=marker' $tmp/events2 >/dev/null
kill $mon
wait $mon 2>/dev/null
check "... and changes nothing (no netlink event before the marker)" \
	sh -c "head -n1 $tmp/events2 | grep -q '^container_new container=marker'"
$V container del marker
check "... the tree is still identical" sh -c "$V save | cmp - $tmp/s1.json"

# A changed tree is not overwritten without --clear.
put $CFS/devices/echo/e1/max_len 50
check "restore refuses to overwrite a differing configuration (exit 1)" \
	exits_with 1 "device 'e1': max_len is '50', the configuration has '100'" $V restore $tmp/s1.json
check "... and changed nothing" test "$(cat $CFS/devices/echo/e1/max_len)" = 50
check "restore --clear replaces it" $V restore --clear $tmp/s1.json
check "... identical again" sh -c "$V save | cmp - $tmp/s1.json"

# ---- a configuration that a bad attribute makes half-restorable
python3 - $tmp/s1.json $tmp/bad.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for d in j["devices"]:
    if d["name"] == "v0":
        d["attributes"]["mtu"] = "9001"
    if d["name"] == "e1":
        d["attributes"]["max_len"] = "0"
json.dump(j, open(sys.argv[2], "w"), indent=2)
PY
$V clear --yes
check "a half-restorable configuration exits with 3" sh -c \
	"$V restore $tmp/bad.json 2>$tmp/bad.err; test \$? -eq 3"
sed 's/^/# /' $tmp/bad.err
check "... reports the refused attribute with object, operation and errno" \
	grep -q "^vbusctl: restore: device 'v0': set mtu=9001: Invalid argument (the value is malformed or out of range); the device was removed again$" $tmp/bad.err
check "... each refused object" \
	grep -q "^vbusctl: restore: device 'e1': set max_len=0: Invalid argument" $tmp/bad.err
check "... and the placement it had to skip" \
	grep -q "^vbusctl: restore: device 'v0': attach to container 'c2': skipped: the device was not restored$" $tmp/bad.err
check "... leaves no half-created device" \
	sh -c "test ! -e $CFS/devices/venet/v0 && test ! -e $CFS/devices/echo/e1 && test ! -e /sys/class/net/vn0"
check "... and restores the rest" sh -c "$V save $tmp/s3.json"
check "... exactly the rest" python3 -c "
import json, sys
a = json.load(open('$tmp/s1.json')); b = json.load(open('$tmp/s3.json'))
a['devices'] = [d for d in a['devices'] if d['name'] not in ('v0', 'e1')]
a['placements'] = [p for p in a['placements'] if p['device'] != 'v0']
sys.exit(0 if a == b else 1)"
check "a bad file is a usage error" sh -c "echo '{\"version\": 2}' | $V restore; test \$? -eq 2"

# ---- vbusctl and mkdir/echo/ln are interchangeable
$V clear --yes
mkdir $CFS/containers/h1 $CFS/devices/echo/h0
put $CFS/devices/echo/h0/max_len 2048
put $CFS/devices/echo/h0/enabled 1
ln -s $CFS/devices/echo/h0 $CFS/containers/h1/devices/any-name
check "objects made by hand are listed" sh -c "$V device list | grep -qE '^h0 +echo +echo +1 +h1 +0$'"
check "... shown" sh -c "$V device show h0 | grep -qE '^  max_len +2048 *$'"
check "... detached (a link of any name)" $V detach h0
check "... changed" $V device set h0 enabled=0 max_len=1000
check "... as the kernel sees it" test "$(cat $CFS/devices/echo/h0/max_len)" = 1000
check "... removed" sh -c "$V device del h0 && $V container del h1"
check "... gone" tree_empty
$V container add k1 --owner-uid 5
$V device add echo k0 max_len=64 --enable
$V attach k0 k1
check "objects made by vbusctl are seen by hand" \
	sh -c "test \"\$(cat $CFS/devices/echo/k0/container)\" = k1 && test -L $CFS/containers/k1/devices/k0"
check "... changed and removed by hand" sh -c "rm $CFS/containers/k1/devices/k0 &&
	echo 0 > $CFS/devices/echo/k0/enabled && echo 128 > $CFS/devices/echo/k0/max_len &&
	$V device show k0 --json | grep -q '\"max_len\": \"128\"' &&
	rmdir $CFS/devices/echo/k0 $CFS/containers/k1"
check "... and vbusctl sees them gone" sh -c "[ \"\$($V container list | wc -l)\" -eq 1 ] && [ \"\$($V device list | wc -l)\" -eq 1 ]"

# ---- timing: save and restore of a larger configuration
n=${VBUS_VBUSCTL_CONTAINERS:-25}
for i in $(seq $n); do
	mkdir $CFS/containers/t$i
	for j in 1 2 3; do
		mkdir $CFS/devices/echo/t$i-$j
		put $CFS/devices/echo/t$i-$j/max_len $((i * 10 + j))
		put $CFS/devices/echo/t$i-$j/enabled 1
		ln -s $CFS/devices/echo/t$i-$j $CFS/containers/t$i/devices/t$i-$j
	done
done
objects=$((n * 7))
t0=$(date +%s%N)
$V save $tmp/big.json
t1=$(date +%s%N)
$V clear --yes
t2=$(date +%s%N)
check "restore of $objects objects" $V restore $tmp/big.json
t3=$(date +%s%N)
check "... identical" sh -c "$V save | cmp - $tmp/big.json"
t4=$(date +%s%N)
check "... a second restore of them changes nothing" $V restore $tmp/big.json
t5=$(date +%s%N)
ms() { echo $((($2 - $1) / 1000000)); }
echo "# $objects objects (containers, devices, placements), QEMU TCG:" \
	"save $(ms $t0 $t1) ms, clear $(ms $t1 $t2) ms, restore $(ms $t2 $t3) ms," \
	"idempotent restore $(ms $t4 $t5) ms"
$V clear --yes

check "all modules unload afterwards" modprobe -r vbus_venet vbus_echo vbus
rm -rf "$tmp"
done_testing
