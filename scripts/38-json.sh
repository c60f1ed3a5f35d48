#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Structured JSON for status --json (docs/schemas/status.json).

# json_q STRING: json_str, without its pipeline when nothing needs escaping
# (status prints one object per rule and must stay quick).
json_q() {
	case $1 in
	*[\"\\]* | *[![:print:]]*) json_str "$1" ;;
	*) printf '"%s"' "$1" ;;
	esac
}

# net_line_json LINE: one line of net_status as an object
# {"kind": "bridge"|"address"|"rule"|"isolation", "object": ..., "state":
# ..., "detail": ...}: "bridge dy1docker0: up", "bridge address
# 172.22.147.1/24: present", "rule -I FORWARD ...: missing", "isolation:
# off (configured on)".
net_line_json() {
	_nl_detail=null
	case $1 in
	"bridge address "*)
		_nl_kind=address
		_nl_rest=${1#bridge address }
		;;
	"bridge "*)
		_nl_kind=bridge
		_nl_rest=${1#bridge }
		;;
	"rule "*)
		_nl_kind=rule
		_nl_rest=${1#rule }
		;;
	"isolation: "*)
		_nl_state=${1#isolation: }
		case $_nl_state in
		*" ("*")")
			_nl_detail=${_nl_state#* (}
			_nl_detail=$(json_q "${_nl_detail%)}")
			_nl_state=${_nl_state%% (*}
			;;
		esac
		printf '{"kind":"isolation","object":null,"state":%s,"detail":%s}' \
			"$(json_q "$_nl_state")" "$_nl_detail"
		return
		;;
	*)
		printf '{"kind":"other","object":null,"state":null,"detail":%s}' "$(json_q "$1")"
		return
		;;
	esac
	printf '{"kind":"%s","object":%s,"state":%s,"detail":null}' "$_nl_kind" \
		"$(json_q "${_nl_rest%: *}")" "$(json_q "${_nl_rest##*: }")"
}
