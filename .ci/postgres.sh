#!/usr/bin/env bash
# A throw-away PostgreSQL for the tests: the distribution's server (installed
# with apt-get when missing), a fresh cluster in a temporary directory, run
# by an unprivileged user, listening only on a unix socket in that directory.
#
#   eval "$(.ci/postgres.sh start)"   # exports NEWSBOT_TEST_POSTGRES and NEWSBOT_PG_DIR
#   .ci/postgres.sh stop              # stops the cluster of $NEWSBOT_PG_DIR and removes it
#
# start prints shell "export" lines on stdout (everything else goes to stderr).
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v postgres >/dev/null; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

install_server() {
	if [ "$(id -u)" != 0 ]; then
		log "PostgreSQL server not found and not root: install the postgresql package"
		exit 1
	fi
	log "installing the distribution's PostgreSQL server"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends postgresql >&2
}

# run_as USER CMD...: runs CMD as the cluster's owner (root may not run it).
run_as() {
	local user=$1
	shift
	if [ "$user" = "$(id -un)" ]; then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$user" -- "$@"
	else
		su -s /bin/sh "$user" -c "$(printf '%q ' "$@")"
	fi
}

cluster_user() {
	if [ "$(id -u)" != 0 ]; then
		id -un
		return
	fi
	if ! id postgres >/dev/null 2>&1; then
		useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres >&2
	fi
	echo postgres
}

start() {
	local bindir user dir
	bindir=$(find_bindir) || { install_server; bindir=$(find_bindir); }
	user=$(cluster_user)
	# /tmp: the cluster user must reach it (a TMPDIR under /root would not do).
	dir=$(mktemp -d /tmp/newsbot-pg.XXXXXX)
	chmod 700 "$dir"
	[ "$user" = "$(id -un)" ] || chown "$user" "$dir"
	run_as "$user" "$bindir/initdb" -D "$dir/data" -U newsbot --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		run_as "$user" "$bindir/initdb" -D "$dir/data" -U newsbot --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	# Only a unix socket in $dir: nothing listens on the network. Enough
	# connections for parallel test packages, each with its pool.
	run_as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >&2 || { cat "$dir/server.log" >&2; exit 1; }
	run_as "$user" "$bindir/psql" -h "$dir" -U newsbot -d postgres -qAt -c 'CREATE DATABASE newsbot' >&2
	log "$("$bindir/postgres" --version) running in $dir (user $user)"
	echo "export NEWSBOT_PG_DIR='$dir'"
	echo "export NEWSBOT_TEST_POSTGRES='postgres://newsbot@/newsbot?host=$dir&sslmode=disable'"
}

stop() {
	local dir=${1:-${NEWSBOT_PG_DIR:-}} bindir user
	if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
		log "nothing to stop"
		return 0
	fi
	bindir=$(find_bindir) || true
	user=$(stat -c %U "$dir/data")
	if [ -n "$bindir" ]; then
		run_as "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
	echo "usage: $0 start|stop [DIR]" >&2
	exit 2
	;;
esac
