/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the installer writes for an instance, rendered in memory with every
 * path expanded: etc/daemon.json, etc/containerd.toml, the bin/docker
 * wrapper, the sysbox-runc runtime wrapper, and the systemd unit.  Pure
 * functions of the configuration and the payload metadata, so a re-run can
 * compare bytes and write nothing when nothing changed.
 */
#ifndef DY_RENDER_H
#define DY_RENDER_H

#include <stddef.h>

#include "../common/err.h"
#include "../verify/meta.h"
#include "config.h"

/* How containers are run, from the payload's components. */
enum dy_runtime_mode {
	DY_RUNTIME_RUNC,	/* no sysbox in the payload: runc is the default */
	DY_RUNTIME_SYSBOX_ARGS, /* sysbox-run-dir=args: runtimeArgs --run-dir */
	DY_RUNTIME_SYSBOX_ENV,	/* sysbox-run-dir=env: SYSBOX_RUN_DIR wrapper */
};
enum dy_runtime_mode dy_runtime_mode(const struct dy_meta *m);

/* Payload path of the real sysbox-runc, and where the installer moves it
 * when bin/sysbox-runc becomes the wrapper. */
#define DY_SYSBOX_RUNC "bin/sysbox-runc"
#define DY_SYSBOX_RUNC_BIN "bin/sysbox-runc-bin"

struct json_t;

struct dy_render_in {
	const struct dy_config *cfg;
	const struct dy_meta *meta;
	const char *const *dns; /* upstream DNS servers; may be empty */
	size_t ndns;
	const struct json_t *dropins;	/* merged etc/daemon.d (dropin.h); NULL: none */
	const char *containerd_dropins; /* "# drop-in NAME sha256 HEX" lines; NULL: none */
};

/* A rendered file: malloc'd text, its mode, and its path (relative to the
 * root for instance files, absolute for the unit). */
struct dy_rendered {
	char path[DY_ROOT_MAX + 64];
	char *data;
	size_t len;
	unsigned mode;
};
void dy_rendered_free(struct dy_rendered *r);

/* etc/daemon.json (jansson; keys sorted, 2-space indent, LF at the end):
 * bridge, fixed-cidr, default-address-pools, iptables/ip-masq false,
 * data-root lib/docker, exec-root run/docker, pidfile run/docker/dockerd.pid
 * (run/dockerd.pid is dockyardctl's), hosts unix://run/docker.sock,
 * containerd run/containerd/containerd.sock, group ${PREFIX}docker,
 * cgroup-parent ${PREFIX}docker, storage-driver (DOCKYARD_STORAGE_DRIVER; overlay2
 * when unset or auto: the installer resolves auto before rendering),
 * userland-proxy-path bin/docker-proxy, deprecated-key-path etc/key.json
 * (dockerd 20.10 reads /etc/docker/key.json otherwise), dns when ndns > 0,
 * runtimes.sysbox-runc {path bin/sysbox-runc, runtimeArgs --run-dir
 * run/sysbox in args mode} and default-runtime sysbox-runc when the
 * payload has sysbox; runc default otherwise.  Then the drop-ins, merged
 * over it (dropin.h). */
int dy_render_daemon_json(const struct dy_render_in *in, struct dy_rendered *out,
			  struct dy_err *err);

/* etc/containerd.toml: version 2, imports etc/containerd.d/ *.toml (the
 * operator's drop-ins, listed with their SHA-256 in comments), root
 * lib/containerd, state run/containerd/state, grpc address
 * run/containerd/containerd.sock, ttrpc beside it, debug/metrics off, cri
 * plugin disabled. */
int dy_render_containerd_toml(const struct dy_render_in *in, struct dy_rendered *out,
			      struct dy_err *err);

/* bin/docker: #!/bin/sh wrapper exporting DOCKER_HOST=unix://run/docker.sock
 * and DOCKER_CONFIG=lib/docker-config, then exec bin/docker-cli "$@". */
int dy_render_docker_wrapper(const struct dy_render_in *in, struct dy_rendered *out,
			     struct dy_err *err);

/* bin/sysbox-runc (sysbox payloads only): #!/bin/sh wrapper that execs
 * bin/sysbox-runc-bin with the arguments unchanged; in env mode it exports
 * SYSBOX_RUN_DIR=run/sysbox first.  When run/debug-runtime exists
 * (dockyardctl start --debug-runtime writes it) it runs the binary instead
 * of exec'ing it and, after it exits, copies the file named by --log into
 * log/runtime/ (containerd deletes it before anyone reads it). */
int dy_render_runtime_wrapper(const struct dy_render_in *in, struct dy_rendered *out,
			      struct dy_err *err);

/* /etc/systemd/system/${PREFIX}docker.service: Type=notify,
 * NotifyAccess=all, ExecStartPre=dockyardctl net-up, ExecStart=dockyardctl
 * run, ExecStopPost=dockyardctl stop, Delegate=yes, KillMode=process,
 * LimitNOFILE/NPROC/CORE=infinity, TasksMax=infinity, OOMScoreAdjust=-500,
 * Restart=on-failure with StartLimitIntervalSec/Burst,
 * TimeoutStartSec/TimeoutStopSec above dockyardctl's own bounds,
 * RequiresMountsFor=ROOT, After/Wants=network-online.target,
 * WantedBy=multi-user.target.  No reference to the installer file. */
int dy_render_unit(const struct dy_render_in *in, struct dy_rendered *out, struct dy_err *err);

/* The host's upstream DNS servers (containers cannot use a stub resolver
 * on the host's loopback, such as 127.0.0.53): systemd-resolved's
 * upstream list (sysroot/run/systemd/resolve/resolv.conf) when present,
 * else sysroot/etc/resolv.conf; loopback, link-local and duplicates
 * dropped; at most 3 kept.  Returns the count (0: none found, dns
 * omitted); servers[i] are NUL-terminated. */
int dy_dns_detect(const char *sysroot, char servers[][64], size_t max);
/* The same from resolv.conf text (tests). */
int dy_dns_parse(const char *text, size_t len, char servers[][64], size_t max);

#endif
