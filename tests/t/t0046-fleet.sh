#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# flavors: release
# Fleets: the Ansible role (deploy/ansible) run by Debian's ansible-core
# against this host (-c local) with a signed installer built from Debian's
# packages, on real dockerd: two instances install with pinned networks, a
# drop-in and isolation; a second run changes nothing; a registry mirror
# added to one instance is one change and shows in `docker info`; --check
# changes nothing; a bad variable (an overlong prefix, an overlapping
# network) or a SHA256SUMS that does not match fails the play with the
# installer's own message and the host keeps what it had; an upgrade that
# fails its health gate (dockyardctl verify) is rolled back to the previous
# installer, one that passes is kept; state absent removes both with no
# residue.  ansible-lint is clean on the role; the cloud-init recipe passes
# `cloud-init schema`, and its first-boot script installs an instance here.
# Needs `make debs` (build/debs/) and `make deps` (ansible-core,
# ansible-lint, cloud-init).
# shellcheck disable=SC2034 # variables are used by the eval'ed bodies
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../e2e/fixtures.sh
. "$SRC_DIR/tests/e2e/fixtures.sh"

for tool in ansible-playbook ansible-lint cloud-init openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		expect_success "$tool is installed (make deps)" 'false'
		test_done
		exit
	fi
done

T=$(cd "$TRASH" && pwd -P)
A=$T/a
B=$T/b
C=$T/c # the cloud-init instance
X=$T/x # a new instance whose network overlaps A's
N=$(($$ % 100000))
PA=fa$N
PB=fb$N
PC=fc$N
PX=fx$N
STAGE=$T/stage
SITE=$SRC_DIR/deploy/ansible/site.yml
ROLE=$SRC_DIR/deploy/ansible/roles/dockyard
RECIPE=$SRC_DIR/deploy/cloud-init/dockyard.yaml
DOCKYARD_STOP_TIMEOUT=20
export DOCKYARD_STOP_TIMEOUT
unset NOTIFY_SOCKET

# Ansible keeps its temporary files, caches and settings in the scratch
# directory; no ansible.cfg of the host or the user is read.
HOME=$T/home
ANSIBLE_CONFIG=$T/ansible.cfg
ANSIBLE_LOCAL_TEMP=$T/ansible-local
ANSIBLE_REMOTE_TEMP=$T/ansible-remote
ANSIBLE_NOCOLOR=1
ANSIBLE_RETRY_FILES_ENABLED=0
ANSIBLE_STDOUT_CALLBACK=default
ANSIBLE_PIPELINING=1
XDG_CACHE_HOME=$T/home/.cache
export HOME ANSIBLE_CONFIG ANSIBLE_LOCAL_TEMP ANSIBLE_REMOTE_TEMP ANSIBLE_NOCOLOR \
	ANSIBLE_RETRY_FILES_ENABLED ANSIBLE_STDOUT_CALLBACK ANSIBLE_PIPELINING XDG_CACHE_HOME
mkdir -p "$HOME" && printf '[defaults]\ninterpreter_python = /usr/bin/python3\n' >"$ANSIBLE_CONFIG"

# The engines' shared host directories this test creates (lib.sh).
host_dirs_note

fleet_cleanup() {
	for r in "$A" "$B" "$C" "$X"; do
		[ -x "$r/bin/dockyardctl" ] && "$r/bin/dockyardctl" -q destroy --yes >/dev/null 2>&1
	done
	kill_mentioning "$T/"
	e2e_umount_under "$T"
	for p in "$PA" "$PB" "$PC" "$PX"; do
		prefix_objects_remove "$p"
		rm -f "/etc/systemd/system/${p}docker.service"
		for t in filter nat mangle; do
			iptables -w -t "$t" -S 2>/dev/null | grep -F -e "${p}docker0" -e "DOCKYARD-ISO-$p" |
				grep '^-A ' | sed 's/^-A /-D /' | while read -r rule; do
				# shellcheck disable=SC2086 # a rule is a list of words
				iptables -w -t "$t" $rule 2>/dev/null
			done
		done
		iptables -w -t mangle -X "DOCKYARD-ISO-$p" 2>/dev/null
	done
	host_dirs_remove
	cleanup_trash
}
trap fleet_cleanup EXIT

rules() {
	for t in filter nat mangle; do
		iptables -w -t "$t" -S
	done 2>/dev/null
}

# Networks pinned for each instance, as a fleet would in host_vars.
if ! { NA=$(pick_free '10.211.%d.0/24' 1 1 200) && NB=$(pick_free '10.212.%d.0/24' 1 1 200) &&
	NC=$(pick_free '10.213.%d.0/24' 1 1 200) && QA=$(pick_free '10.%d.0.0/16' 100 3 20) &&
	QB=$(pick_free '10.%d.0.0/16' 101 3 20) && QC=$(pick_free '10.%d.0.0/16' 102 3 20); }; then
	expect_success 'free networks for three instances' 'false'
	test_done
	exit
fi
NA=10.211.$NA
NB=10.212.$NB
NC=10.213.$NC
QA=10.$QA.0.0/16
QB=10.$QB.0.0/16
QC=10.$QC.0.0/16

INV=$T/inventory
printf '[dockyard_hosts]\nlocalhost\n' >"$INV"

# fleet_vars FILE: the play's variables from the shell variables below.
V1=$T/v1/dockyard-installer
V2=$T/v2/dockyard-installer
KEY=$T/key.pem
PUB=$T/pub.pem
INSTALLER=$V1
SUMS=""
STATE=present
A_PREFIX=$PA
A_DAEMON='{}'
B_ISOLATION=true
EXTRA_ITEM=""
VERIFY=false
VERIFY_ARGS='[--no-dind]'
fleet_vars() {
	cat >"$1" <<-VARS
	dockyard_installer_src: $INSTALLER
	dockyard_installer_sums_src: ${SUMS:-${INSTALLER%/*}/SHA256SUMS}
	dockyard_installer_sig_src: $INSTALLER.sig
	dockyard_installer_sums_sig_src: ${SUMS_SIG-${INSTALLER%/*}/SHA256SUMS.sig}
	dockyard_public_key_src: $PUB
	dockyard_stage_dir: $STAGE
	dockyard_install_args: [--no-systemd]
	dockyard_verify: $VERIFY
	dockyard_verify_args: $VERIFY_ARGS
	dockyard_instances:
	  - root: $A
	    state: $STATE
	    prefix: $A_PREFIX
	    bridge_cidr: $NA.1/24
	    fixed_cidr: $NA.0/24
	    pool_base: $QA
	    pool_size: 24
	    dns: [192.0.2.53]
	    daemon_json: $A_DAEMON
	  - root: $B
	    state: $STATE
	    prefix: $PB
	    bridge_cidr: $NB.1/24
	    fixed_cidr: $NB.0/24
	    pool_base: $QB
	    pool_size: 24
	    daemon_json: {"registry-mirrors": ["https://b-mirror.fleet.test"]}
	    isolation: $B_ISOLATION
	    isolation_allow: [192.0.2.7]
	$EXTRA_ITEM
	VARS
}

# play OUT [ansible-playbook args]: run site.yml with the current variables.
play() {
	_pl_out=$1
	shift
	fleet_vars "$T/vars.yml" &&
		ansible-playbook -i "$INV" -c local "$SITE" -e "@$T/vars.yml" "$@" >"$_pl_out" 2>&1
}

# play_ok OUT [args]: play, showing the end of its output when it fails.
play_ok() {
	play "$@" || {
		show "$1"
		return 1
	}
}

# recap OUT: the recap line of the host; changed_of OUT: its changed count.
recap() { grep -s '^localhost *:' "$1" | sed 's/  */ /g'; }
changed_of() { recap "$1" | sed -n 's/.* changed=\([0-9]*\).*/\1/p'; }
failed_of() { recap "$1" | sed -n 's/.* failed=\([0-9]*\).*/\1/p'; }
RECAPS=""
LAST=$(date +%s)
# note_recap NAME: the recap of NAME.out for the summary, with the seconds
# since the previous one.
note_recap() {
	_nr_now=$(date +%s)
	RECAPS="$RECAPS
$1 ($((_nr_now - LAST)) s): $(recap "$T/$1.out")"
	LAST=$_nr_now
}
show() { tail -n 40 "$1"; }

# snapshot: what the instances are (the content of each file of etc/; bin/
# with size, mtime and inode; daemon pids; the installer the host runs).
snapshot() {
	for r in "$A" "$B"; do
		(cd "$r" && find etc -type f -exec sha256sum {} + | sort -k 2) || return 1
		(cd "$r" && find etc -type d | sort && find bin -printf '%p %s %T@ %i\n' | sort) || return 1
		cat "$r/run/dockerd.pid" "$r/run/containerd.pid"
	done
	readlink "$STAGE/current"
}

env_of() { sed -n "s/^$2=//p" "$1/etc/dockyard.env"; }
mirrors_of() { "$1/bin/docker" info --format '{{json .RegistryConfig.Mirrors}}'; }

expect_success 'ansible-lint is clean on the role and site.yml (production profile)' '
	(cd "$SRC_DIR/deploy/ansible" && ansible-lint -q --profile production --offline roles/dockyard site.yml) >lint.out 2>&1 ||
		{ cat lint.out; false; }
'

expect_success 'ansible-lint fails a copy of the role with a shell task in it' '
	mkdir -p lintbad/roles && cp -r "$ROLE" lintbad/roles/ && cp "$SITE" lintbad/ &&
	printf "%s\n" "- name: Shell out" "  ansible.builtin.shell: ls /" >>lintbad/roles/dockyard/tasks/absent.yml &&
	! (cd lintbad && ansible-lint -q --profile production --offline roles/dockyard site.yml) >lintbad.out 2>&1 &&
	grep -q "command-instead-of-shell\|no-changed-when" lintbad.out
'

expect_success 'cloud-init schema validates the recipe; a misspelt key fails it' '
	{ cloud-init schema --config-file "$RECIPE" >schema.out 2>&1 || { cat schema.out; false; }; } &&
	sed "s/^    permissions: \"0755\"/    permission: \"0755\"/" "$RECIPE" >bad.yaml &&
	! cmp -s "$RECIPE" bad.yaml &&
	! cloud-init schema --config-file bad.yaml >schema-bad.out 2>&1 &&
	grep -q "permission" schema-bad.out
'

note_recap lint-and-schema

expect_success 'a signed installer from Debian packages, and an upgrade of it' '
	openssl ecparam -name prime256v1 -genkey -noout -out "$KEY" 2>/dev/null &&
	openssl ec -in "$KEY" -pubout -out "$PUB" 2>/dev/null &&
	mkdir -p "$T/v1" "$T/v2" "$T/m2" &&
	"$BUILD" -q --level 1 --stub "$STUB" --cache "$SRC_DIR/build/cache" --offline \
		--manifest "$SRC_DIR/payload/debian.manifest" --sign "$KEY" --out "$V1" &&
	sed -e "s|\.\./|$SRC_DIR/|" -e "/^\[component dockyardctl\]/,/^version/s/^version = .*/version = 0.1.1+fleet-test/" \
		"$SRC_DIR/payload/debian.manifest" >"$T/m2/debian.manifest" &&
	sed "s|path:\.\./|path:$SRC_DIR/|" "$SRC_DIR/payload/debian.lock" >"$T/m2/debian.lock" &&
	"$BUILD" -q --level 1 --stub "$STUB" --cache "$SRC_DIR/build/cache" --offline \
		--manifest "$T/m2/debian.manifest" --sign "$KEY" --out "$V2" &&
	"$V2" --version | grep -q "0.1.1+fleet-test" &&
	for v in v1 v2; do
		test -e "$T/$v/SHA256SUMS.sig" ||
			openssl dgst -sha256 -sign "$KEY" -out "$T/$v/SHA256SUMS.sig" "$T/$v/SHA256SUMS" || return 1
	done &&
	test -s "$V1.sig" && grep -q " dockyard-installer\$" "$T/v1/SHA256SUMS"
'
note_recap build

expect_success 'the play installs two instances with pinned networks, a drop-in and isolation' '
	play_ok run1.out &&
	test "$(failed_of run1.out)" = 0 && test "$(changed_of run1.out)" -gt 0 &&
	"$A/bin/dockyardctl" status >/dev/null && "$B/bin/dockyardctl" status >/dev/null &&
	test "$(env_of "$A" DOCKYARD_BRIDGE_CIDR)" = "$NA.1/24" &&
	test "$(env_of "$B" DOCKYARD_POOL_BASE)" = "$QB" &&
	test "$(env_of "$A" DOCKYARD_DOCKER_PREFIX)" = "$PA" &&
	grep -q "192.0.2.53" "$A/etc/daemon.json" &&
	mirrors_of "$B" | grep -q "b-mirror.fleet.test" &&
	mirrors_of "$A" | grep -qx "\\[\\]\\|null" &&
	grep -qx on "$B/etc/isolation" && grep -qx 192.0.2.7 "$B/etc/isolation.d/fleet.rules" &&
	iptables -w -t mangle -S "DOCKYARD-ISO-$PB" >/dev/null 2>&1 &&
	test "$(readlink "$STAGE/current")" = "$STAGE/$(cut -c 1-64 "$T/v1/SHA256SUMS" | head -n 1)" &&
	ls "$STAGE/$(readlink "$STAGE/current" | sed "s|.*/||")" | grep -qx dockyard-installer.sig
'
note_recap run1

expect_success 'a second run reports changed=0' '
	snapshot >snap.before &&
	play_ok run2.out &&
	test "$(changed_of run2.out)" = 0 && test "$(failed_of run2.out)" = 0 &&
	snapshot >snap.after && diff snap.before snap.after
'
note_recap run2

expect_success 'a registry mirror added to one instance is changed=1 and shows in docker info' '
	A_DAEMON="{\"registry-mirrors\": [\"https://a-mirror.fleet.test\"]}" &&
	play_ok run3.out &&
	test "$(changed_of run3.out)" = 1 && test "$(failed_of run3.out)" = 0 &&
	test "$(grep -c "^changed: " run3.out)" = 1 &&
	test "$(grep -B1 "^changed: \\[localhost\\]" run3.out | grep -c "TASK \\[dockyard : Install or upgrade: $A\\]")" = 1 &&
	mirrors_of "$A" | grep -q "a-mirror.fleet.test" &&
	grep -q "a-mirror.fleet.test" "$A/etc/daemon.json" &&
	mirrors_of "$B" | grep -q "b-mirror.fleet.test"
'
note_recap run3
A_DAEMON='{"registry-mirrors": ["https://a-mirror.fleet.test"]}'

expect_success '--check with unchanged variables reports changed=0' '
	play_ok check1.out --check &&
	test "$(changed_of check1.out)" = 0
'
note_recap check1

expect_success '--check with changed variables reports the changes and changes nothing' '
	snapshot >snap.before &&
	A_DAEMON="{}" B_ISOLATION=false EXTRA_ITEM="  - {root: $X, prefix: $PX}" &&
	play_ok check2.out --check &&
	test "$(failed_of check2.out)" = 0 && test "$(changed_of check2.out)" -ge 3 &&
	grep -q "TASK \\[dockyard : Plan: $X\\]" check2.out &&
	snapshot >snap.after && diff snap.before snap.after &&
	test ! -e "$X" && grep -qx on "$B/etc/isolation" &&
	grep -q "a-mirror.fleet.test" "$A/etc/daemon.d/50-fleet.json"
'
note_recap check2

# bad_variable OUT: the play failed, once, naming the installer'\''s own
# message (the same command run by hand), and the host is as it was.
bad_variable() {
	test "$(failed_of "$1")" = 1 &&
	test -s direct.err && grep -qF "$(head -n 1 direct.err)" "$1" &&
	snapshot >snap.after && diff snap.before snap.after
}

expect_success 'an overlong prefix fails the play with the installer'\''s message; nothing changes' '
	snapshot >snap.before &&
	! A_PREFIX=waytoolongprefix play bad1.out &&
	{ "$STAGE/current/dockyard-installer" plan --json --root "$A" --prefix waytoolongprefix >/dev/null 2>direct.err; true; } &&
	grep -q "15-character" direct.err &&
	bad_variable bad1.out || { show bad1.out; false; }
'
note_recap bad1

expect_success 'a new instance on A'\''s network fails the play with the installer'\''s message; nothing changes' '
	snapshot >snap.before &&
	! EXTRA_ITEM="  - {root: $X, prefix: $PX, bridge_cidr: $NA.1/24, fixed_cidr: $NA.0/24}" play bad2.out &&
	{ "$STAGE/current/dockyard-installer" plan --json --root "$X" --prefix "$PX" --bridge-cidr "$NA.1/24" \
		--fixed-cidr "$NA.0/24" >/dev/null 2>direct.err; true; } &&
	grep -q "$NA" direct.err &&
	bad_variable bad2.out || { show bad2.out; false; }
	test ! -e "$X" && ! grep -q "^${PX}docker:" /etc/passwd /etc/group && test ! -e "/etc/dockyard/instances/$PX"
'
note_recap bad2

expect_success 'a drop-in with a key dockyard owns fails with the installer'\''s message; the previous drop-in is back' '
	snapshot >snap.before &&
	! A_DAEMON="{\"registry-mirrors\": [\"https://a-mirror.fleet.test\"], \"dns\": [\"192.0.2.99\"]}" play bad5.out &&
	test "$(failed_of bad5.out)" = 1 && grep -q "rescued=1" bad5.out &&
	grep "Report the failure: $A" -A1 bad5.out | grep -q "key dns is set by dockyard" &&
	grep -q "a-mirror.fleet.test" "$A/etc/daemon.d/50-fleet.json" &&
	! grep -q "192.0.2.99" "$A/etc/daemon.d/50-fleet.json" "$A/etc/daemon.json" &&
	snapshot >snap.after && diff snap.before snap.after || { show bad5.out; false; }
'
note_recap bad5

expect_success 'an installer that does not match SHA256SUMS fails the play before any instance' '
	snapshot >snap.before &&
	sed "1s/^./$(head -c 1 "$T/v1/SHA256SUMS" | tr 0-9a-f 1-9a-f0)/" "$T/v1/SHA256SUMS" >badsums &&
	openssl dgst -sha256 -sign "$KEY" -out badsums.sig badsums &&
	! SUMS=$T/badsums SUMS_SIG=$T/badsums.sig play bad3.out &&
	test "$(failed_of bad3.out)" = 1 && grep -q "has SHA-256 .* but .*badsums says" bad3.out &&
	! grep -q "TASK \\[dockyard : Plan: " bad3.out &&
	snapshot >snap.after && diff snap.before snap.after || { show bad3.out; false; }
'
note_recap bad3

expect_success 'a SHA256SUMS whose signature does not verify fails the play before any instance' '
	snapshot >snap.before &&
	! SUMS=$T/badsums SUMS_SIG=$T/v1/SHA256SUMS.sig play bad4.out &&
	test "$(failed_of bad4.out)" = 1 &&
	grep -A1 "TASK \\[dockyard : Check the signature over SHA256SUMS\\]" bad4.out | grep -q "^fatal:" &&
	grep -q "Verification failure" bad4.out &&
	! grep -q "TASK \\[dockyard : Plan: " bad4.out &&
	snapshot >snap.after && diff snap.before snap.after || { show bad4.out; false; }
'
note_recap bad4

expect_success 'an upgrade that fails its health gate is rolled back to the previous installer' '
	snapshot >snap.before &&
	! INSTALLER=$V2 VERIFY=true VERIFY_ARGS="[--no-dind, --image, dockyard-fleet-absent:latest]" play up1.out &&
	test "$(failed_of up1.out)" = 1 &&
	grep -q "TASK \\[dockyard : Health gate: $A\\]" up1.out &&
	grep -q "rolled back with $STAGE/[0-9a-f]*/dockyard-installer: ok" up1.out &&
	grep -q "dockyard-fleet-absent" up1.out &&
	! grep -q "0.1.1+fleet-test" "$A/etc/payload.meta" "$B/etc/payload.meta" &&
	test "$(readlink "$STAGE/current")" = "$(tail -n 1 snap.before)" &&
	"$A/bin/dockyardctl" status >/dev/null && "$B/bin/dockyardctl" status >/dev/null || { show up1.out; false; }
'
note_recap up1

expect_success 'an upgrade that passes its health gate is kept; old installers are removed' '
	e2e_busybox_tar "$T/busybox.tar" &&
	E2E_DOCKER="$A/bin/docker" e2e_import_busybox "$T/busybox.tar" &&
	E2E_DOCKER="$B/bin/docker" e2e_import_busybox "$T/busybox.tar" &&
	INSTALLER=$V2 VERIFY=true play_ok up2.out &&
	test "$(failed_of up2.out)" = 0 && test "$(grep -c "TASK \\[dockyard : Health gate: " up2.out)" = 2 &&
	grep -q "0.1.1+fleet-test" "$A/etc/payload.meta" && grep -q "0.1.1+fleet-test" "$B/etc/payload.meta" &&
	d2=$(cut -c 1-64 "$T/v2/SHA256SUMS" | head -n 1) &&
	test "$(readlink "$STAGE/current")" = "$STAGE/$d2" &&
	test "$(ls "$STAGE" | sort | tr "\n" " ")" = "$(printf "%s\n" "$d2" current | sort | tr "\n" " ")" &&
	mirrors_of "$A" | grep -q "a-mirror.fleet.test"
'
note_recap up2
INSTALLER=$V2

expect_success 'state absent removes both instances with no residue' '
	STATE=absent play_ok absent1.out &&
	test "$(changed_of absent1.out)" = 2 &&
	test ! -e "$A" && test ! -e "$B" &&
	! ls -a "$T" | grep -q "dockyard-lock\|dockyard-destroy" &&
	! ip link show "${PA}docker0" >/dev/null 2>&1 && ! ip link show "${PB}docker0" >/dev/null 2>&1 &&
	rules >rules.after && ! grep -F -e "$PA" -e "$PB" -e "$NA." -e "$NB." -e "$QA" -e "$QB" rules.after &&
	! grep -q "^${PA}docker:\|^${PB}docker:" /etc/passwd /etc/group /etc/subuid /etc/subgid &&
	! test -e "/etc/systemd/system/${PA}docker.service" && ! test -e "/etc/systemd/system/${PB}docker.service" &&
	! test -e "/etc/dockyard/instances/$PA" && ! test -e "/etc/dockyard/instances/$PB" &&
	! grep -q "$T/[ab]" /proc/self/mounts &&
	test -z "$(pids_mentioning "$A/")$(pids_mentioning "$B/")"
'
note_recap absent1

expect_success 'state absent again: changed=0' '
	STATE=absent play_ok absent2.out &&
	test "$(changed_of absent2.out)" = 0
'
note_recap absent2

# ---- the cloud-init recipe's first-boot script, run on this host ----

CI=$T/ci
# ci_files: every write_files entry of the recipe, written below $CI.
CI_PY='
import os, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for f in doc["write_files"]:
    path = sys.argv[2] + f["path"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write(f["content"])
    os.chmod(path, int(f["permissions"], 8))
assert doc["runcmd"] == [["/usr/local/sbin/dockyard-firstboot"]], doc["runcmd"]
'
ci_files() {
	python3 -c "$CI_PY" "$RECIPE" "$CI"
}
FB=$CI/usr/local/sbin/dockyard-firstboot
firstboot() {
	DOCKYARD_FLEET_DIR=$CI/etc/dockyard-fleet DOCKYARD_FLEET_STAGE=$CI/stage "$FB"
}

expect_success 'the first-boot script passes shellcheck and refuses the unfilled recipe' '
	ci_files && shellcheck -s sh "$FB" &&
	! firstboot 2>fb0.err && grep -q "SHA256SUMS has no line" fb0.err && test ! -e "$CI/stage/dockyard-installer"
'

expect_success 'with the values filled in it fetches, checks and installs one instance at first boot' '
	echo "file://$V1" >"$CI/etc/dockyard-fleet/source" &&
	grep " dockyard-installer\$" "$T/v1/SHA256SUMS" >"$CI/etc/dockyard-fleet/SHA256SUMS" &&
	cp "$PUB" "$CI/etc/dockyard-fleet/signer.pub.pem" &&
	printf "%s\n" "DOCKYARD_ROOT=$C" "DOCKYARD_DOCKER_PREFIX=$PC" "DOCKYARD_BRIDGE_CIDR=$NC.1/24" \
		"DOCKYARD_FIXED_CIDR=$NC.0/24" "DOCKYARD_POOL_BASE=$QC" "DOCKYARD_POOL_SIZE=24" \
		>"$CI/etc/dockyard-fleet/instance.env" &&
	{ firstboot >fb1.out 2>&1 || { cat fb1.out; false; }; } &&
	"$C/bin/dockyardctl" status >/dev/null &&
	test "$(env_of "$C" DOCKYARD_BRIDGE_CIDR)" = "$NC.1/24" &&
	mirrors_of "$C" | grep -q "registry.example.internal:5000" &&
	cmp "$V1" "$CI/stage/dockyard-installer"
'

expect_success 'run again, it changes nothing' '
	{ firstboot >fb2.out 2>&1 || { cat fb2.out; false; }; } &&
	python3 -c "import json, sys; assert json.load(open(sys.argv[1]))[\"changed\"] is False" "$CI/stage/install.json"
'

expect_success 'an installer that does not match the recipe'\''s digest is refused' '
	printf "%s\n" "file://$V2" >"$CI/etc/dockyard-fleet/source" &&
	! firstboot 2>fb3.err && grep -q "has SHA-256 .* but .*SHA256SUMS says" fb3.err &&
	cmp "$V1" "$CI/stage/dockyard-installer" && test ! -e "$CI/stage/.dockyard-installer.new"
'

expect_success 'the cloud-init instance uninstalls with no residue' '
	"$CI/stage/dockyard-installer" -q uninstall --root "$C" --yes &&
	test ! -e "$C" && ! ip link show "${PC}docker0" >/dev/null 2>&1 &&
	! grep -q "^${PC}docker:" /etc/passwd /etc/group && test ! -e "/etc/dockyard/instances/$PC" &&
	rules >rules.after && ! grep -F -e "${PC}docker0" -e "DOCKYARD-ISO-$PC" -e "$NC." -e "$QC" rules.after
'

note_recap cloud-init
printf '# play recaps:%s\n' "$RECAPS" | sed 's/^\([^#]\)/#   \1/'
test_done
