#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# destroy [--yes] [--keep-data]: remove the instance and exactly what its
# install receipt ($ETC/receipt, see installer/receipt.h) lists.
#
# Before anything changes, the receipt is read and checked: its root must
# be this instance's root and not /, its prefix this instance's prefix,
# the user and group ${PREFIX}docker, and every path must lie inside the
# root or be one of the known system places: the unit file
# /etc/systemd/system/${PREFIX}docker.service, the registry entry
# /etc/dockyard/instances/${PREFIX}, the lock file beside the root
# (dirname ROOT)/.(basename ROOT).dockyard-lock, the shared directories
# /etc/dockyard and /etc/dockyard/instances (removed only when empty), and
# an AppArmor file /etc/apparmor.d/local/NAME (edited, never removed).
# Anything else refuses the whole destroy.  Without --yes the operator
# types the prefix on a terminal; without a terminal destroy refuses.
#
# Steps: stop (systemctl disable --now first when systemd runs the unit),
# processes still running from ROOT/bin, bridges of user-defined networks
# (every IPv4 network of the bridge inside the pool), mounts at or below
# the root (deepest first; umount, else umount -l), unit file, registry
# entry, AppArmor block, subuid/subgid ranges, user, group, the root tree
# (rm --one-file-system; a subtree that still holds a mount is refused;
# --keep-data keeps ROOT/lib/docker and the directories leading to it),
# then a residue check that names anything left (exit 1).
#
# Re-running: at the start the receipt and dockyard.env are copied to
# (dirname ROOT)/.(basename ROOT).dockyard-destroy/, which is removed only
# once the residue check is clean.  An interrupted or incomplete destroy
# therefore continues from that copy when the root is half gone; after a
# complete one, destroy finds neither and says there is nothing to
# destroy (after checking that no mount, process or registry entry of the
# root is left).  dockyardctl in ROOT/bin deletes itself: the shell has
# read all of main before it runs, and keeps the file open.

# shellcheck disable=SC2154 # net_* are set by the functions of 20-net.sh

DS_YES=0
DS_KEEP=0
ds_args() {
	for _ds_a in "$@"; do
		case $_ds_a in
		--yes | -y) DS_YES=1 ;;
		--keep-data) DS_KEEP=1 ;;
		*) dy_usage_error "destroy: unknown argument '$_ds_a' (destroy [--yes] [--keep-data])" ;;
		esac
	done
}

# ds_root: ROOT (this instance's root), checked, and the paths beside it.
ds_root() {
	ROOT=${DOCKYARD_CTL_ROOT:-}
	if [ -z "$ROOT" ]; then
		ROOT=$(dy_root) || die "cannot find the instance root from $0"
	fi
	if ! dy_root_ok "$ROOT"; then
		case $DY_ROOT_VALUE in
		/) die "refusing to destroy the root directory /" ;;
		/*) die "the instance root '$ROOT' is not a plain path of [A-Za-z0-9._/-] of at most $DY_ROOT_MAX characters" ;;
		*) die "the instance root '$ROOT' is not an absolute path" ;;
		esac
	fi
	ROOT=$DY_ROOT_VALUE
	[ ! -L "$ROOT" ] || die "the instance root $ROOT is a symlink"
	DS_PARENT=${ROOT%/*}
	DS_BASE=${ROOT##*/}
	DS_STATE=$DS_PARENT/.$DS_BASE.dockyard-destroy
	DS_LOCK=$DS_PARENT/.$DS_BASE.dockyard-lock
	DS_UNIT=""
	DS_WANTS=/etc/systemd/system/multi-user.target.wants/${PREFIX}docker.service
	DS_FILES=""
	DS_REGISTRY=""
	DS_ROOT_MADE=0
}

# ds_path_ok KIND PATH: PATH is a plain absolute path inside the root or a
# known system place for KIND (dir or file).
ds_path_ok() {
	dy_plain_path "$2" || return 1
	case $2 in
	"$ROOT" | "$ROOT"/*) return 0 ;;
	esac
	if [ "$1" = dir ]; then
		case $2 in
		/etc/dockyard | /etc/dockyard/instances) return 0 ;;
		esac
		return 1
	fi
	case $2 in
	"/etc/systemd/system/${PREFIX}docker.service" | "$DS_WANTS" | "/etc/dockyard/instances/$PREFIX" | "$DS_LOCK") return 0 ;;
	esac
	return 1
}

# ds_refuse MESSAGE: refuse the receipt; nothing has changed yet.
ds_refuse() {
	die "refusing to destroy: $DS_RECEIPT: $*; nothing was changed"
}

# ds_num VALUE: a decimal number without leading zeros, below 2^32 (ids).
ds_num() {
	case $1 in
	0) return 0 ;;
	'' | *[!0-9]* | 0* | ???????????*) return 1 ;;
	esac
	[ "$1" -le 4294967295 ]
}

# ds_read_receipt: parse and check DS_RECEIPT (see the top of this file).
# The format is installer/receipt.h's, read as strictly (the cases both
# must agree on are in tests/corpus/receipt-*).  Fills DS_DIRS, DS_FILES
# (one a line), DS_USER, DS_GROUP, DS_SUBUID and DS_SUBGID ("START COUNT"
# lines), DS_AA ("FILE" lines), DS_REGISTRY, DS_LOCKS.
ds_read_receipt() {
	DS_DIRS=""
	DS_FILES=""
	DS_USER=""
	DS_GROUP=""
	DS_SUBUID=""
	DS_SUBGID=""
	DS_AA=""
	DS_LOCKS=""
	_dr_root=""
	_dr_n=0
	_dr_seen="
"
	_dr_acct=${PREFIX}docker
	while IFS= read -r _dr_line || _dr_unterminated "$_dr_line"; do
		_dr_n=$((_dr_n + 1))
		if [ "$_dr_n" = 1 ]; then
			[ "$_dr_line" = "dockyard-receipt 1" ] || ds_refuse "line 1 is not 'dockyard-receipt 1'"
			continue
		fi
		_dr_fields "$_dr_line"
		_dr_arity
		_dr_entry
	done <"$DS_RECEIPT"
	[ "$_dr_n" -gt 0 ] || ds_refuse "it is empty"
	[ -n "$_dr_root" ] || ds_refuse "it names no root"
	DS_UNIT=/etc/systemd/system/${PREFIX}docker.service
}

# _dr_unterminated LINE: the text after the last line break (read failed):
# refuse it unless there is none; never continues the loop.
_dr_unterminated() {
	[ -z "$1" ] || ds_refuse "line $((_dr_n + 1)) has no newline at the end (truncated?)"
	return 1
}

# _dr_fields LINE: split LINE into _dr_kind _dr_a _dr_b _dr_c _dr_x, after
# the rules of every line: not empty, fields separated by exactly one
# space, at most 1200 bytes, not a repeat of an earlier line.
_dr_fields() {
	case $1 in
	'') ds_refuse "line $_dr_n is empty" ;;
	' '* | *' ' | *'  '*) ds_refuse "line $_dr_n: an empty field (fields are separated by one space)" ;;
	esac
	[ ${#1} -le 1200 ] || ds_refuse "line $_dr_n is longer than 1200 bytes"
	case $_dr_seen in
	*"
$1
"*) ds_refuse "line $_dr_n repeats an earlier line" ;;
	esac
	_dr_seen="$_dr_seen$1
"
	IFS=' ' read -r _dr_kind _dr_a _dr_b _dr_c _dr_x <<LINE
$1
LINE
}

# _dr_arity: the kind is known and has its number of fields.
_dr_arity() {
	[ -z "$_dr_x" ] || ds_refuse "line $_dr_n: too many fields"
	case $_dr_kind in
	root | prefix | dir | file | group | user | registry | lock)
		if [ -z "$_dr_a" ] || [ -n "$_dr_b" ]; then
			ds_refuse "line $_dr_n: '$_dr_kind' takes one field"
		fi
		;;
	apparmor)
		if [ -z "$_dr_b" ] || [ -n "$_dr_c" ]; then
			ds_refuse "line $_dr_n: 'apparmor' takes FILE PREFIX"
		fi
		;;
	subuid | subgid)
		[ -n "$_dr_c" ] || ds_refuse "line $_dr_n: '$_dr_kind' takes NAME START COUNT"
		;;
	*) ds_refuse "line $_dr_n: unknown kind '$_dr_kind'" ;;
	esac
}

# _dr_entry: check one entry against this instance and collect it.
_dr_entry() {
	case $_dr_kind in
	root)
		[ "$_dr_a" != / ] || ds_refuse "its root is /"
		[ "$_dr_a" = "$ROOT" ] || ds_refuse "its root $_dr_a is not this instance's root $ROOT"
		_dr_root=$_dr_a
		;;
	prefix)
		[ "$_dr_a" = "$PREFIX" ] || ds_refuse "its prefix '$_dr_a' is not this instance's prefix '$PREFIX'"
		;;
	dir | file) _dr_path ;;
	group | user) _dr_account ;;
	subuid | subgid) _dr_subids ;;
	apparmor) _dr_apparmor ;;
	registry)
		[ "$_dr_a" = "/etc/dockyard/instances/$PREFIX" ] ||
			ds_refuse "line $_dr_n: registry entry $_dr_a is not /etc/dockyard/instances/$PREFIX"
		DS_REGISTRY=$_dr_a
		;;
	lock)
		[ "$_dr_a" = "$DS_LOCK" ] || ds_refuse "line $_dr_n: lock file $_dr_a is not $DS_LOCK"
		DS_LOCKS=$_dr_a
		;;
	esac
}

# _dr_path: a dir or file entry, inside the root or a place an install uses.
_dr_path() {
	ds_path_ok "$_dr_kind" "$_dr_a" ||
		ds_refuse "line $_dr_n: $_dr_kind $_dr_a lies outside $ROOT and outside the places an install uses"
	if [ "$_dr_kind" = dir ]; then
		DS_DIRS="$DS_DIRS$_dr_a
"
		return 0
	fi
	DS_FILES="$DS_FILES$_dr_a
"
	# The registry entry and the lock may be listed as files.
	[ "$_dr_a" != "/etc/dockyard/instances/$PREFIX" ] || DS_REGISTRY=$_dr_a
	[ "$_dr_a" != "$DS_LOCK" ] || DS_LOCKS=$_dr_a
}

# _dr_account: a user or group entry, which must be this instance's.
_dr_account() {
	[ "$_dr_a" = "$_dr_acct" ] ||
		ds_refuse "line $_dr_n: $_dr_kind '$_dr_a' is not this instance's $_dr_acct"
	if [ "$_dr_kind" = user ]; then DS_USER=$_dr_a; else DS_GROUP=$_dr_a; fi
}

# _dr_subids: a subuid or subgid range of this instance's account.
_dr_subids() {
	[ "$_dr_a" = "$_dr_acct" ] ||
		ds_refuse "line $_dr_n: $_dr_kind of '$_dr_a', not of this instance's $_dr_acct"
	if ! ds_num "$_dr_b" || ! ds_num "$_dr_c" || [ "$_dr_c" = 0 ]; then
		ds_refuse "line $_dr_n: $_dr_kind range '$_dr_b $_dr_c' is not START COUNT"
	fi
	if [ "$_dr_kind" = subuid ]; then
		DS_SUBUID="$DS_SUBUID$_dr_b $_dr_c
"
	else
		DS_SUBGID="$DS_SUBGID$_dr_b $_dr_c
"
	fi
}

# _dr_apparmor: an AppArmor file in /etc/apparmor.d/local/ holding a block
# of this instance's prefix.
_dr_apparmor() {
	case $_dr_a in
	/etc/apparmor.d/local/*[!A-Za-z0-9._-]* | /etc/apparmor.d/local/.*) _dr_ok=0 ;;
	/etc/apparmor.d/local/?*) _dr_ok=1 ;;
	*) _dr_ok=0 ;;
	esac
	[ "$_dr_ok" = 1 ] || ds_refuse "line $_dr_n: AppArmor file $_dr_a is not in /etc/apparmor.d/local/"
	[ "$_dr_b" = "$PREFIX" ] || ds_refuse "line $_dr_n: AppArmor block of prefix '$_dr_b', not '$PREFIX'"
	DS_AA="$DS_AA$_dr_a
"
}

# ds_confirm: --yes, or the prefix typed on a terminal.
ds_confirm() {
	[ "$DS_YES" = 0 ] || return 0
	[ -t 0 ] || die "stdin is not a terminal, so destroy cannot ask; use --yes to destroy $ROOT without asking (nothing was changed)"
	printf 'This stops instance %s and removes %s%s, its user, group, unit and network.\nType the prefix (%s) to confirm: ' \
		"$PREFIX" "$ROOT" "$([ "$DS_KEEP" = 1 ] && echo " (keeping lib/docker)")" "$PREFIX" >&2
	_dc_answer=""
	read -r _dc_answer || :
	[ "$_dc_answer" = "$PREFIX" ] || die "not confirmed; nothing was changed"
}

# ds_lock: hold the install lock (flock) while destroying.
ds_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	[ -n "$DS_LOCKS" ] || [ -e "$DS_LOCK" ] || return 0
	[ ! -L "$DS_LOCK" ] || die "$DS_LOCK is a symlink"
	exec 9>>"$DS_LOCK"
	flock -n 9 || die "$DS_LOCK is locked: an install or another destroy of $ROOT is running"
}

# ds_save_state: keep the receipt and dockyard.env beside the root, so that
# a destroy that stops half way can be run again.
ds_save_state() {
	[ "$DS_RECEIPT" != "$DS_STATE/receipt" ] || return 0
	[ ! -L "$DS_STATE" ] || die "$DS_STATE is a symlink"
	if [ ! -d "$DS_STATE" ]; then
		mkdir -m 700 "$DS_STATE" || die "cannot create $DS_STATE"
	fi
	if ! { cp "$DS_RECEIPT" "$DS_STATE/.receipt.tmp" && mv -f "$DS_STATE/.receipt.tmp" "$DS_STATE/receipt" &&
		cp "$ENV_FILE" "$DS_STATE/.env.tmp" && mv -f "$DS_STATE/.env.tmp" "$DS_STATE/dockyard.env"; }; then
		die "cannot keep a copy of the receipt in $DS_STATE"
	fi
	# And this script, which removes itself: the installer's uninstall
	# runs this copy when a destroy stopped half way.
	if [ -f "$BIN/dockyardctl" ] && ! { cp "$BIN/dockyardctl" "$DS_STATE/.ctl.tmp" &&
		chmod 700 "$DS_STATE/.ctl.tmp" && mv -f "$DS_STATE/.ctl.tmp" "$DS_STATE/dockyardctl"; }; then
		die "cannot keep a copy of dockyardctl in $DS_STATE"
	fi
}

ds_systemd() {
	[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# ds_stop: the unit disabled and stopped, then everything stop does.
ds_stop() {
	if ds_systemd && [ -f "$DS_UNIT" ]; then
		say "systemctl disable --now ${DS_UNIT##*/}"
		systemctl disable --now "${DS_UNIT##*/}" >&2 || warn "systemctl disable --now ${DS_UNIT##*/} failed"
	fi
	set +e
	(
		set -e
		stop_all
	)
	_dst_rc=$?
	set -e
	[ "$_dst_rc" = 0 ] || die "stop failed; nothing was removed (run destroy again once the instance is stopped)"
}

# ds_root_procs: pids (one a line) of processes running a file from ROOT/bin.
ds_root_procs() {
	for _drp in /proc/[0-9]*; do
		_drp_exe=$(readlink "$_drp/exe" 2>/dev/null) || continue
		case $_drp_exe in
		"$BIN"/*) echo "${_drp#/proc/}" ;;
		esac
	done
}

# ds_kill_leftovers: processes still running from ROOT/bin (shims, strays):
# TERM, 5 s, KILL.
ds_kill_leftovers() {
	_dk_pids=$(ds_root_procs)
	[ -n "$_dk_pids" ] || return 0
	for _dk in $_dk_pids; do
		say "stopping leftover $(proc_desc "$_dk") running from $BIN"
		kill -TERM "$_dk" 2>/dev/null || :
	done
	dy_deadline 5
	while [ -n "$(ds_root_procs)" ] && ! dy_past_deadline; do
		sleep 0.1
	done
	for _dk in $(ds_root_procs); do
		warn "killing $(proc_desc "$_dk")"
		kill -KILL "$_dk" 2>/dev/null || :
	done
	sleep 0.2
}

# ds_pool_bridges: the bridges (not this instance's main bridge) whose every
# IPv4 network lies inside the pool, one a line.  Containment is computed
# on the numbers: the network's prefix is at least the pool's, and its
# address under the pool's mask is the pool's.
ds_pool_bridges() {
	net_cidr DOCKYARD_POOL_BASE "$DOCKYARD_POOL_BASE"
	_dp_mask=$net_mask
	_dp_net=$((net_addr & net_mask))
	_dp_len=$net_len
	_dp_list=$(ip -o -4 addr show 2>/dev/null | awk '{ sub(/@.*/, "", $2); print $2, $4 }')
	set -f
	for _dp_if in $(printf '%s\n' "$_dp_list" | awk 'NF == 2 { print $1 }' | sort -u); do
		[ "$_dp_if" != "$BRIDGE" ] || continue
		_dp_in=1
		for _dp_c in $(printf '%s\n' "$_dp_list" | awk -v i="$_dp_if" '$1 == i { print $2 }'); do
			net_cidr "address of $_dp_if" "$_dp_c"
			if [ "$net_len" -lt "$_dp_len" ] || [ $((net_addr & _dp_mask)) != "$_dp_net" ]; then
				_dp_in=0
			fi
		done
		[ "$_dp_in" = 1 ] || continue
		case $(ip -d -o link show dev "$_dp_if" 2>/dev/null) in
		*" bridge "*) printf '%s\n' "$_dp_if" ;;
		esac
	done
	set +f
}

ds_remove_pool_bridges() {
	for _dpb in $(ds_pool_bridges); do
		if ip link del dev "$_dpb" 2>/dev/null && ! ip link show dev "$_dpb" >/dev/null 2>&1; then
			say "removed bridge $_dpb (a network of pool $DOCKYARD_POOL_BASE)"
		else
			warn "could not remove bridge $_dpb"
		fi
	done
}

# ds_mounts: mount points at or below ROOT, deepest first, one a line
# (mountinfo's \040, \011 and \134 decoded; a name holding a newline stays
# encoded, so umount fails on it and the subtree is kept).
ds_mounts() {
	DY_ROOT=$ROOT awk '
		function dec(s,   out, i, c) {
			out = ""
			while ((i = index(s, "\\")) > 0) {
				c = substr(s, i + 1, 3)
				out = out substr(s, 1, i - 1)
				if (c == "040") out = out " "
				else if (c == "011") out = out "\t"
				else if (c == "134") out = out "\\"
				else out = out "\\" c
				s = substr(s, i + 4)
			}
			return out s
		}
		{
			m = dec($5)
			r = ENVIRON["DY_ROOT"]
			if (m == r || index(m, r "/") == 1) print gsub("/", "/", m) "\t" NR "\t" m
		}' /proc/self/mountinfo | sort -t "$(printf '\t')" -k1,1nr -k2,2nr | cut -f 3-
}

ds_unmount() {
	_du_pass=0
	while [ "$_du_pass" -lt 4 ]; do
		_du_list=$(ds_mounts)
		[ -n "$_du_list" ] || return 0
		_du_pass=$((_du_pass + 1))
		while IFS= read -r _du_m; do
			if umount "$_du_m" 2>/dev/null; then
				say "unmounted $_du_m"
			elif umount -l "$_du_m" 2>/dev/null; then
				say "unmounted $_du_m (lazily: it was busy)"
			else
				warn "could not unmount $_du_m"
			fi
		done <<MOUNTS
$_du_list
MOUNTS
		[ "$(ds_mounts)" != "$_du_list" ] || break
	done
}

# ds_shadow_rewrite FILE NAME START COUNT: remove the line NAME:START:COUNT
# from FILE under shadow's lock (FILE.lock, a hard link of a file holding
# our pid; a lock whose pid is gone is stale), keeping mode and owner.
ds_shadow_rewrite() {
	[ -f "$1" ] || return 0
	grep -qx "$2:$3:$4" "$1" || return 0
	printf '%s\n' "$$" >"$1.$$"
	if ! ln "$1.$$" "$1.lock" 2>/dev/null; then
		_dsr_pid=$(cat "$1.lock" 2>/dev/null) || _dsr_pid=""
		if pid_is_num "$_dsr_pid" && kill -0 "$_dsr_pid" 2>/dev/null; then
			rm -f "$1.$$"
			warn "$1 is locked by pid $_dsr_pid; its line $2:$3:$4 stays"
			return 0
		fi
		rm -f "$1.lock"
		ln "$1.$$" "$1.lock" 2>/dev/null || {
			rm -f "$1.$$"
			warn "cannot lock $1; its line $2:$3:$4 stays"
			return 0
		}
	fi
	rm -f "$1.$$"
	if grep -vx "$2:$3:$4" "$1" >"$1.dockyard.tmp" || [ $? = 1 ]; then
		if chmod --reference="$1" "$1.dockyard.tmp" && chown --reference="$1" "$1.dockyard.tmp" &&
			mv -f "$1.dockyard.tmp" "$1"; then
			say "removed $2:$3:$4 from $1"
		else
			warn "cannot rewrite $1"
		fi
	fi
	rm -f "$1.dockyard.tmp" "$1.lock"
}

# ds_account_exists FILE NAME: NAME has a line in /etc/passwd or /etc/group.
ds_account_exists() {
	[ -f "$1" ] && awk -F : -v n="$2" '$1 == n { found = 1 } END { exit !found }' "$1"
}

# ds_subids KIND (subuid|subgid) RANGES
ds_subids() {
	_dsi_opt=--del-subuids
	[ "$1" = subuid ] || _dsi_opt=--del-subgids
	while read -r _dsi_start _dsi_count; do
		[ -n "$_dsi_start" ] || continue
		if ds_account_exists /etc/passwd "$DS_USER" &&
			grep -qx "$DS_USER:$_dsi_start:$_dsi_count" "/etc/$1" 2>/dev/null; then
			if usermod "$_dsi_opt" "$_dsi_start-$((_dsi_start + _dsi_count - 1))" "$DS_USER" >&2; then
				say "removed $1 range $_dsi_start-$((_dsi_start + _dsi_count - 1)) of $DS_USER"
				continue
			fi
			warn "usermod $_dsi_opt failed; rewriting /etc/$1"
		fi
		ds_shadow_rewrite "/etc/$1" "${PREFIX}docker" "$_dsi_start" "$_dsi_count"
	done <<RANGES
$2
RANGES
}

# ds_apparmor FILE: remove the block between "# BEGIN dockyard PREFIX" and
# "# END dockyard PREFIX" and reload the profile that includes FILE.
ds_apparmor() {
	[ -f "$1" ] || return 0
	grep -qx "# BEGIN dockyard $PREFIX" "$1" || return 0
	if ! grep -qx "# END dockyard $PREFIX" "$1"; then
		warn "$1 has '# BEGIN dockyard $PREFIX' without its END line; left alone"
		return 0
	fi
	if ! { awk -v b="# BEGIN dockyard $PREFIX" -v e="# END dockyard $PREFIX" '
		$0 == b { skip = 1; next }
		skip && $0 == e { skip = 0; next }
		!skip' "$1" >"$1.dockyard.tmp" &&
		chmod --reference="$1" "$1.dockyard.tmp" && chown --reference="$1" "$1.dockyard.tmp" &&
		mv -f "$1.dockyard.tmp" "$1"; }; then
		rm -f "$1.dockyard.tmp"
		warn "cannot rewrite $1"
		return 0
	fi
	say "removed the AppArmor block of $PREFIX from $1"
	_da_prof=/etc/apparmor.d/${1##*/}
	if [ -f "$_da_prof" ] && [ -d /sys/kernel/security/apparmor ] &&
		command -v apparmor_parser >/dev/null 2>&1; then
		apparmor_parser -r "$_da_prof" >&2 || warn "apparmor_parser -r $_da_prof failed"
	fi
}

# ds_unit_mine: the receipt lists the unit file (else it is not ours).
ds_unit_mine() {
	printf '%s' "$DS_FILES" | grep -qxF "$DS_UNIT"
}

# ds_registry_mine FILE: FILE is a registry entry naming this root.
ds_registry_mine() {
	[ -f "$1" ] && [ "$(cat "$1" 2>/dev/null)" = "$ROOT" ]
}

ds_system_objects() {
	# An image install (--sysroot) enabled the unit with this link.
	if printf '%s' "$DS_FILES" | grep -qxF "$DS_WANTS" && [ -L "$DS_WANTS" ]; then
		rm -f "$DS_WANTS" && say "removed $DS_WANTS"
	fi
	if ds_unit_mine && { [ -f "$DS_UNIT" ] || [ -L "$DS_UNIT" ]; }; then
		rm -f "$DS_UNIT" && say "removed $DS_UNIT"
		if ds_systemd; then
			systemctl daemon-reload >&2 || warn "systemctl daemon-reload failed"
		fi
	fi
	if [ -n "$DS_REGISTRY" ] && [ -e "$DS_REGISTRY" ]; then
		if ds_registry_mine "$DS_REGISTRY"; then
			rm -f "$DS_REGISTRY" && say "removed $DS_REGISTRY"
		else
			warn "$DS_REGISTRY names another root; left alone"
		fi
	fi
	for _dso in $DS_AA; do
		ds_apparmor "$_dso"
	done
	ds_subids subuid "$DS_SUBUID"
	ds_subids subgid "$DS_SUBGID"
	if [ -n "$DS_USER" ] && ds_account_exists /etc/passwd "$DS_USER"; then
		if userdel "$DS_USER" >&2; then
			say "removed user $DS_USER"
		else
			warn "userdel $DS_USER failed"
		fi
	fi
	if [ -n "$DS_GROUP" ] && ds_account_exists /etc/group "$DS_GROUP"; then
		if groupdel "$DS_GROUP" >&2; then
			say "removed group $DS_GROUP"
		else
			warn "groupdel $DS_GROUP failed"
		fi
	fi
}

# ds_mount_below PATH: the first mount point at or below PATH (empty: none).
ds_mount_below() {
	printf '%s\n' "$DS_MOUNTS" | while IFS= read -r _dmb; do
		case $_dmb in
		"$1" | "$1"/*)
			printf '%s' "$_dmb"
			break
			;;
		esac
	done
}

# ds_rm PATH: remove PATH below ROOT, except (--keep-data) ROOT/lib/docker
# and the directories leading to it, and never across or onto a mount.
ds_rm() {
	[ -e "$1" ] || [ -L "$1" ] || return 0
	if [ "$DS_KEEP" = 1 ] && [ ! -L "$1" ]; then
		case $LIB/docker in
		"$1") return 0 ;;
		"$1"/*)
			for _drm in "$1"/* "$1"/.[!.]* "$1"/..?*; do
				ds_rm "$_drm"
			done
			return 0
			;;
		esac
	fi
	_drm_m=$(ds_mount_below "$1")
	if [ -n "$_drm_m" ]; then
		warn "not removing $1: $_drm_m is still mounted"
		return 0
	fi
	rm -rf --one-file-system -- "$1" || warn "could not remove all of $1"
}

# ds_targets: what to remove below the root: the root itself when the
# install created it, else what it listed there and the layout's
# directories.
ds_targets() {
	if printf '%s' "$DS_DIRS" | grep -qxF "$ROOT"; then
		printf '%s\n' "$ROOT"
		return 0
	fi
	printf '%s%s' "$DS_DIRS" "$DS_FILES" | while IFS= read -r _dt; do
		case $_dt in
		"$ROOT"/*) printf '%s\n' "$_dt" ;;
		esac
	done
	printf '%s\n' "$BIN" "$ETC" "$LIB" "$LOGDIR" "$RUN"
}

ds_remove_root() {
	DS_MOUNTS=$(ds_mounts)
	# Shortest first: once a directory is gone, what was listed below it is.
	for _drt in $(ds_targets | awk '{ print length($0) "\t" $0 }' | sort -k1,1n | cut -f 2- | awk '!seen[$0]++'); do
		ds_rm "$_drt"
	done
	if [ "$DS_KEEP" = 1 ] && [ -d "$LIB/docker" ]; then
		say "kept $LIB/docker (--keep-data)"
	elif [ ! -e "$ROOT" ]; then
		say "removed $ROOT"
	fi
	# The shared directories outside the root go only when empty.
	for _drt in $(printf '%s' "$DS_DIRS" | awk '{ print length($0) "\t" $0 }' | sort -k1,1nr | cut -f 2-); do
		case $_drt in
		"$ROOT" | "$ROOT"/*) ;;
		*) rmdir "$_drt" 2>/dev/null || : ;;
		esac
	done
}

# ds_root_left: what is left of the root tree (empty: nothing).
ds_root_left() {
	[ -e "$ROOT" ] || return 0
	if [ "$DS_KEEP" = 1 ]; then
		# Everything but lib/docker and the path to it must be gone.
		find "$ROOT" -xdev \( -path "$LIB/docker" -prune \) -o -print 2>/dev/null |
			grep -vxF -e "$ROOT" -e "$LIB" -e "$LIB/docker" | head -n 5
		return 0
	fi
	if [ "$DS_ROOT_MADE" = 1 ]; then
		printf '%s\n' "$ROOT"
		return 0
	fi
	for _drl in $(ds_targets); do
		[ ! -e "$_drl" ] || printf '%s\n' "$_drl"
	done
}

# _dr_add WHAT: one residue item.
_dr_add() {
	_dr_left="$_dr_left$*
"
}

# ds_residue: check that nothing of the instance is left; print the
# report; fail naming what is left.
ds_residue() {
	_dr_left=""
	while IFS= read -r _drf; do
		[ -z "$_drf" ] || _dr_add "file $_drf"
	done <<FILES
$(ds_root_left)
FILES
	while IFS= read -r _drf; do
		[ -z "$_drf" ] || _dr_add "mount $_drf"
	done <<MOUNTS
$(ds_mounts)
MOUNTS
	for _drf in $(ds_root_procs); do
		_dr_add "process $(proc_desc "$_drf")"
	done
	for _drf in /etc/dockyard/instances/*; do
		! ds_registry_mine "$_drf" || _dr_add "registry entry $_drf (names $ROOT)"
	done
	[ -z "$DS_LOCKS" ] || [ ! -e "$DS_LOCKS" ] || _dr_add "lock file $DS_LOCKS"
	if [ -n "$PREFIX" ]; then
		net_vars
		! ip link show dev "$BRIDGE" >/dev/null 2>&1 || _dr_add "bridge $BRIDGE"
		for _drf in $(ds_pool_bridges); do
			_dr_add "bridge $_drf (pool $NET_POOL)"
		done
		for _drt in filter nat mangle; do
			_dr_rules=$(iptables -w -t "$_drt" -S 2>/dev/null |
				grep -F -w -e "$BRIDGE" -e "$NET_FIXED" -e "$NET_POOL" -e "$NET_ISO_CHAIN") || :
			while IFS= read -r _drf; do
				[ -z "$_drf" ] || _dr_add "iptables -t $_drt: $_drf"
			done <<RULES
$_dr_rules
RULES
		done
		! ds_unit_mine || [ ! -e "$DS_UNIT" ] || _dr_add "unit file $DS_UNIT"
		if [ -n "$DS_USER" ] && ds_account_exists /etc/passwd "$DS_USER"; then
			_dr_add "user $DS_USER"
		fi
		if [ -n "$DS_GROUP" ] && ds_account_exists /etc/group "$DS_GROUP"; then
			_dr_add "group $DS_GROUP"
		fi
		for _drt in subuid subgid; do
			if [ "$_drt" = subuid ]; then _dr_r=$DS_SUBUID; else _dr_r=$DS_SUBGID; fi
			while read -r _drs _drc; do
				[ -n "$_drs" ] || continue
				! grep -qx "${PREFIX}docker:$_drs:$_drc" "/etc/$_drt" 2>/dev/null ||
					_dr_add "/etc/$_drt line ${PREFIX}docker:$_drs:$_drc"
			done <<RANGES
$_dr_r
RANGES
		done
		for _drf in $DS_AA; do
			! grep -qx "# BEGIN dockyard $PREFIX" "$_drf" 2>/dev/null ||
				_dr_add "AppArmor block '# BEGIN dockyard $PREFIX' in $_drf"
		done
	fi
	if [ -z "$_dr_left" ]; then
		[ "$DY_QUIET" = 1 ] || echo "residue check: nothing left of $ROOT${PREFIX:+ ($PREFIX)}"
		return 0
	fi
	echo "residue check: left of $ROOT${PREFIX:+ ($PREFIX)}:"
	printf '%s' "$_dr_left" | sed 's/^/  /'
	return 1
}

# ds_nothing: no receipt and no saved copy: report, and check that
# nothing that names the root is left.
ds_nothing() {
	PREFIX=""
	BIN=$ROOT/bin
	LIB=$ROOT/lib
	DS_USER=""
	DS_GROUP=""
	DS_AA=""
	DS_LOCKS=""
	# Data kept by destroy --keep-data is not a residue.
	DS_KEEP=1
	if [ -d "$LIB/docker" ]; then
		say "nothing to destroy at $ROOT; $LIB/docker (kept data) remains: remove it by hand when it is no longer needed"
	else
		say "nothing to destroy at $ROOT"
	fi
	ds_residue || exit 1
}

cmd_destroy() {
	ds_args "$@"
	PREFIX=""
	ds_root
	if [ -f "$ROOT/etc/receipt" ]; then
		DS_RECEIPT=$ROOT/etc/receipt
		_dd_env=$ROOT/etc/dockyard.env
	elif [ -f "$DS_STATE/receipt" ]; then
		DS_RECEIPT=$DS_STATE/receipt
		_dd_env=$DS_STATE/dockyard.env
		say "continuing an earlier destroy from $DS_STATE"
	elif [ -f "$ROOT/etc/dockyard.env" ]; then
		die "$ROOT/etc/receipt is missing: destroy removes only what an install recorded; nothing was changed"
	else
		ds_nothing
		return 0
	fi
	load_env_file "$_dd_env"
	dy_timeouts
	ds_read_receipt
	if printf '%s' "$DS_DIRS" | grep -qxF "$ROOT"; then DS_ROOT_MADE=1; else DS_ROOT_MADE=0; fi
	ds_confirm
	ds_lock
	ds_save_state
	say "destroying instance $PREFIX at $ROOT"
	ds_stop
	ds_kill_leftovers
	ds_remove_pool_bridges
	ds_unmount
	ds_system_objects
	ds_remove_root
	[ -z "$DS_LOCKS" ] || rm -f "$DS_LOCKS"
	if ds_residue; then
		rm -rf "$DS_STATE"
		say "destroyed instance $PREFIX"
		exit 0
	fi
	die "destroy is incomplete (see the residue check above); run it again once the cause is fixed ($DS_STATE keeps the receipt)"
}
