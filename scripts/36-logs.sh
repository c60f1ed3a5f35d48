#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bounded daemon logs.  Without systemd each daemon writes into a FIFO
# that one awk process reads; it appends every line to log/NAME.log and,
# when the next line would pass DOCKYARD_LOG_MAX_SIZE (default 10M), closes
# the file and renames it to NAME.log.1 (NAME.log.1 to .2, ..., keeping
# DOCKYARD_LOG_KEEP, default 3).  One reader, which closes, renames and
# reopens between two lines: no line is lost or split at a rotation, and a
# daemon never writes into a file being renamed.  Under systemd
# (JOURNAL_STREAM set: stdout is the journal) the reader writes each line,
# prefixed with the daemon's name, to the journal, which bounds itself.

# shellcheck disable=SC2016 # an awk program, not shell
DY_ROTATE_AWK='
function rotate(i, cmd) {
	close(file)
	cmd = ""
	for (i = keep - 1; i >= 1; i--)
		cmd = cmd "mv -f " file "." i " " file "." (i + 1) " 2>/dev/null; "
	system(cmd "mv -f " file " " file ".1")
	size = 0
}
BEGIN {
	size = 0
	if (!journal && (getline line < file) >= 0) {
		close(file)
		cmd = "wc -c < " file
		cmd | getline size
		close(cmd)
		size += 0
	}
}
journal {
	print name ": " $0
	fflush()
	next
}
{
	n = length($0) + 1
	if (size > 0 && size + n > max)
		rotate()
	print >> file
	fflush(file)
	size += n
}'

# log_bytes SIZE: "10M" as bytes (the installer checked the form).
log_bytes() {
	case $1 in
	'') echo $((10 * 1024 * 1024)) ;;
	*[Kk]) echo $((${1%?} * 1024)) ;;
	*[Mm]) echo $((${1%?} * 1024 * 1024)) ;;
	*[Gg]) echo $((${1%?} * 1024 * 1024 * 1024)) ;;
	*) echo $(($1)) ;;
	esac
}

# log_to_journal: the daemons' output goes to systemd's journal.
log_to_journal() {
	[ -n "${JOURNAL_STREAM:-}" ]
}

# log_sink NAME: start the reader of NAME's output; DY_LOG_SINK is the
# FIFO to send the daemon's output to.  Under the journal the reader
# prefixes each line with "NAME: " (the journal sees one stream per unit).
log_sink() {
	_lk_journal=0
	! log_to_journal || _lk_journal=1
	case ${DOCKYARD_LOG_MAX_SIZE:-} in
	'' | [1-9] | [1-9]*[0-9KkMmGg]) ;;
	*) die "DOCKYARD_LOG_MAX_SIZE '$DOCKYARD_LOG_MAX_SIZE' is not a size such as 10M" ;;
	esac
	case ${DOCKYARD_LOG_KEEP:-3} in
	[1-9] | [1-9][0-9]) ;;
	*) die "DOCKYARD_LOG_KEEP '$DOCKYARD_LOG_KEEP' is not a number from 1 to 99" ;;
	esac
	_lk_fifo=$RUN/$1.log.fifo
	if [ -e "$_lk_fifo" ] || [ -L "$_lk_fifo" ]; then
		rm -f "$_lk_fifo"
	fi
	mkfifo -m 600 "$_lk_fifo" || die "cannot create $_lk_fifo"
	# Opening the FIFO waits for the daemon's end; the reader ends when
	# the last writer closes it.  Descriptor 8 is the supervisor's lock.
	# mawk reads a pipe in blocks unless told to read it line by line:
	# a line would wait in its buffer until more output came.
	# Asked once per dockyardctl: the answer does not change.
	if [ -z "${DY_AWK_W+set}" ]; then
		DY_AWK_W=""
		case $(awk -W version 2>/dev/null </dev/null) in
		mawk*) DY_AWK_W=interactive ;;
		esac
	fi
	_lk_w=$DY_AWK_W
	if [ "$_lk_journal" = 1 ]; then
		LC_ALL=C setsid awk ${_lk_w:+-W "$_lk_w"} -v journal=1 -v name="$1" "$DY_ROTATE_AWK" <"$_lk_fifo" 8>&- &
	else
		LC_ALL=C setsid awk ${_lk_w:+-W "$_lk_w"} -v journal=0 -v file="$LOGDIR/$1.log" \
			-v max="$(log_bytes "${DOCKYARD_LOG_MAX_SIZE:-}")" -v keep="${DOCKYARD_LOG_KEEP:-3}" \
			"$DY_ROTATE_AWK" <"$_lk_fifo" >/dev/null 2>&1 8>&- &
	fi
	DY_LOG_SINK=$_lk_fifo
}

# log_unit_journal: dockyardctl logs reads the journal: systemd runs the
# unit, or runs and no log file was ever written.
log_unit_journal() {
	[ -d /run/systemd/system ] && command -v journalctl >/dev/null 2>&1 || return 1
	systemctl is-active --quiet "${PREFIX}docker.service" 2>/dev/null && return 0
	for _lu_c in $COMPONENTS; do
		[ ! -f "$LOGDIR/$_lu_c.log" ] || return 1
	done
	return 0
}

# log_note NAME TEXT: a line of dockyardctl's own in NAME's log.
log_note() {
	if log_to_journal; then
		printf '%s\n' "$2" >&2
	else
		printf '%s %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$2" >>"$LOGDIR/$1.log"
	fi
}
