#!/bin/sh
# The compose `mongo` service's entrypoint: makes the replica set's keyfile, then hands over to the official
# image's docker-entrypoint.sh with the same arguments.
#
# A replica set with authentication needs `--keyFile` (its members authenticate to each other with it), and mongod
# refuses a keyfile that is readable by anyone but its owner. A file mounted from the host keeps the host's owner,
# which is not the image's `mongodb` user, so the key is made here instead: on the first start, as root (the
# image's default user), from /dev/urandom, into the path that follows `--keyFile` in the command (a directory on
# a named volume, so it survives a restart and a new container), then owned by mongodb with mode 400. Later starts
# keep the key and only set its owner and mode again. docker-entrypoint.sh then creates the root user from
# MONGO_INITDB_ROOT_USERNAME / MONGO_INITDB_ROOT_PASSWORD on an empty data directory (with a temporary mongod
# started without --replSet, --auth and --keyFile) and runs mongod as mongodb.
set -eu

keyfile=
previous=
for argument in "$@"; do
    if [ "$previous" = "--keyFile" ]; then
        keyfile=$argument
    fi
    previous=$argument
done
if [ -z "$keyfile" ]; then
    echo "mongo entrypoint: the command has no --keyFile <path>" >&2
    exit 64
fi

if [ ! -s "$keyfile" ]; then
    umask 077
    mkdir -p "$(dirname "$keyfile")"
    # 756 random bytes are 1008 base64 characters, no padding: mongod takes 6 to 1024 of the base64 set.
    head -c 756 /dev/urandom | base64 -w 0 > "$keyfile.new"
    mv "$keyfile.new" "$keyfile"
    echo "mongo entrypoint: made the replica set keyfile $keyfile"
fi
if [ "$(id -u)" = 0 ]; then
    chown mongodb:mongodb "$keyfile"
fi
chmod 400 "$keyfile"

exec docker-entrypoint.sh "$@"
