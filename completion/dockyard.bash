# SPDX-License-Identifier: Apache-2.0
# bash completion for dockyard-build, dockyard-installer and dockyardctl.
# Options and commands are read from the program's own --help output, which
# each program prints from its option and command tables: completion cannot
# fall behind the program it completes.

# _dockyard_options PROG: "LONG ARG" per option of PROG's --help
# (ARG empty for a flag).  The help column is 28 wide: a longer option
# and argument are followed by a single space, not two.
_dockyard_options() {
	"$1" --help 2>/dev/null |
		sed -n -E -e 's/^ +(-[A-Za-z0-9], )?(--[a-z][a-z0-9-]*)( ([^ ]+))?  .*/\2 \4/p' -e t \
			-e 's/^ +(-[A-Za-z0-9], )?(--[a-z][a-z0-9-]*) ([^ ]+) .*/\2 \3/p'
}

# _dockyard_commands PROG: the command names listed under "commands:".
_dockyard_commands() {
	"$1" --help 2>/dev/null |
		sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p'
}

# _dockyard_command_line PROG CMD: the options on CMD's usage line.
_dockyard_command_options() {
	"$1" --help 2>/dev/null |
		sed -n "/^commands:/,/^\$/s/^  $2\\( .*\\)\$/\\1/p" |
		grep -oE -- '--?[a-z][a-z0-9-]*'
}

# _dockyard_complete_arg ARG: complete the argument of an option whose
# placeholder is ARG (directories for DIR, files for FILE, PATH and the
# like, the words of a list of choices such as auto|overlay2|zfs).
_dockyard_complete_arg() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	case $1 in
	DIR) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	*FILE* | *.pem | PATH | *DIR*) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	ARCH) mapfile -t COMPREPLY < <(compgen -W "x86_64 aarch64" -- "$cur") ;;
	[a-z]*'|'*) mapfile -t COMPREPLY < <(compgen -W "${1//|/ }" -- "$cur") ;;
	*) COMPREPLY=() ;;
	esac
}

_dockyard() {
	local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev="" opts line arg i cmd=""
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	opts=$(_dockyard_options "$prog")
	# The previous word is an option that takes an argument.
	while read -r line arg; do
		if [[ $prev == "$line" && -n $arg ]]; then
			_dockyard_complete_arg "$arg"
			return
		fi
	done <<<"$opts"
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -* ]] || { cmd=${COMP_WORDS[i]}; break; }
	done
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(cut -d' ' -f1 <<<"$opts")" -- "$cur")
	elif [[ -z $cmd ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_dockyard_commands "$prog")" -- "$cur")
	fi
}

# dockyardctl's --help is prose: its commands are listed under "commands:"
# with each command's own options on its line; the options before the
# command are those of its usage lines (-q, --help, --version).
_dockyardctl() {
	local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} i cmd=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -* ]] || { cmd=${COMP_WORDS[i]}; break; }
	done
	if [[ -z $cmd && $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "--quiet --help --version" -- "$cur")
	elif [[ -z $cmd ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_dockyard_commands "$prog")" -- "$cur")
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_dockyard_command_options "$prog" "$cmd")" \
			-- "$cur")
	elif [[ $cmd == isolate ]]; then
		mapfile -t COMPREPLY < <(compgen -W "on off" -- "$cur")
	elif [[ $cmd == load-images ]]; then
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
	fi
}

complete -F _dockyard dockyard-build dockyard-installer
complete -F _dockyardctl dockyardctl
