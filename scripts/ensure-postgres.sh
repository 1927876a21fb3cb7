#!/bin/sh
# Make sure a PostgreSQL server (initdb, pg_ctl, postgres) is installed, for the tests that start a real one.
#
# Why Debian's package: it is the server most operators run, it installs in seconds from the distribution's own
# mirror (no extra registry, no binary download at test time), its binaries are the ones security updates reach,
# and the machine image often has it already. The tests find the binaries under /usr/lib/postgresql/*/bin.
# Idempotent: when the binaries are there it prints one line and exits at once.
set -eu

find_bindir() {
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
        fi
    done | sort -V | tail -n 1
}

bindir=$(find_bindir)
if [ -n "$bindir" ]; then
    echo "PostgreSQL server found in $bindir"
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    echo "PostgreSQL server binaries are missing and this user cannot install them." >&2
    echo "Install Debian's package as root: apt-get install -y postgresql   (then run make test again)" >&2
    exit 1
fi

echo "Installing Debian's postgresql package (for the tests that start a real PostgreSQL)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
bindir=$(find_bindir)
if [ -z "$bindir" ]; then
    echo "apt-get installed postgresql but no initdb was found under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
echo "PostgreSQL server installed in $bindir"
