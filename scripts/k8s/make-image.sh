#!/bin/bash
# Pack a directory into a docker-archive image tarball (manifest.json + config + one layer)
# that `ctr images import` accepts.
# usage: make-image.sh ROOTFS_DIR NAME:TAG OUT.tar ENTRYPOINT_JSON [CMD_JSON]
#   e.g. make-image.sh /tmp/root ferry.local/pause:3.9 pause.tar '["/pause"]'
set -euo pipefail
ROOT="$1"; REF="$2"; OUT="$3"; EP="$4"; CMD="${5:-null}"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$ROOT" -cf "$W/layer.tar" .
DIFF=$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
mkdir -p "$W/$DIFF"; mv "$W/layer.tar" "$W/$DIFF/layer.tar"
cat > "$W/config.json.tmp" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$EP,"Cmd":$CMD,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$DIFF"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"ferry scripts/k8s/make-image.sh"}]}
JSON
CFG=$(sha256sum "$W/config.json.tmp" | cut -d' ' -f1)
mv "$W/config.json.tmp" "$W/$CFG.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$CFG" "$REF" "$DIFF" > "$W/manifest.json"
tar --owner=0 --group=0 --numeric-owner -C "$W" -cf "$OUT" manifest.json "$CFG.json" "$DIFF"
echo "$OUT: $REF (layer sha256:$DIFF)"
