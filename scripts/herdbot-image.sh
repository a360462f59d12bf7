#!/usr/bin/env bash
# Builds herdbot's own image without any registry: the same image as
# deploy/Dockerfile (static binary, CA certificates, /etc/passwd naming the
# non-root user 65532, /tmp, a private /state, no shell), but FROM scratch
# from `make build` output in a temporary build context, so it builds on
# machines where no base image can be pulled. Needs Go, make and a running
# Docker engine.
#
#   scripts/herdbot-image.sh [TAG]      default TAG: herdbot:<git describe>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-herdbot:$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
case "$tag" in
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "herdbot-image.sh: unknown option $tag (usage: scripts/herdbot-image.sh [TAG])" >&2; exit 2 ;;
esac
certs=/etc/ssl/certs/ca-certificates.crt
[ -r "$certs" ] || { echo "herdbot-image.sh: $certs not found (install ca-certificates)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# Static binary (no cgo), time zone database embedded (scratch has no
# /usr/share/zoneinfo). BIN on the command line keeps bin/herdbot untouched.
CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=timetzdata" \
  make -C "$root" --no-print-directory build BIN="$ctx/herdbot"

mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp" "$ctx/owned/state"
cp "$certs" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
echo 'herdbot:x:65532:65532:herdbot:/nonexistent:/sbin/nologin' > "$ctx/rootfs/etc/passwd"
echo 'herdbot:x:65532:' > "$ctx/rootfs/etc/group"
chmod 0644 "$ctx/rootfs/etc/passwd" "$ctx/rootfs/etc/group" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$ctx/rootfs/tmp"
chmod 0700 "$ctx/owned/state"

cat > "$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 owned/ /
COPY herdbot /herdbot
USER 65532:65532
ENTRYPOINT ["/herdbot"]
CMD ["start"]
EOF

# The classic builder needs nothing from a registry for FROM scratch.
DOCKER_BUILDKIT=0 docker build -q -t "$tag" \
  --label org.opencontainers.image.source=https://github.com/herdbot/herdbot \
  --label org.opencontainers.image.version="${tag##*:}" \
  "$ctx" 2> >(grep -v -e DEPRECATED -e 'legacy builder' -e BuildKit -e 'environment-variable' >&2) >/dev/null
docker run --rm --network none "$tag" version >/dev/null
echo "built $tag"
