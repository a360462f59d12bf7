#!/usr/bin/env bash
# Builds the local agent image (herdbot-agent:<CLI version>) holding the real
# pinned Claude Code CLI, FROM scratch, without any registry: the CLI's native
# binary and the libraries it needs, bash, a static busybox, /etc/passwd with
# user agent (1000) and CA certificates. Needs a running Docker engine, the
# CLI (`make tools`) and Debian's busybox-static. Takes about 8 s the first
# time and under 1 s when the image is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^CLAUDE_VERSION *:= *//p' Makefile)
claude=.tools/node_modules/.bin/claude
[ -x "$claude" ] || make tools
exec go run ./scripts/agentimage -tag "herdbot-agent:${version}" -claude "$claude" "$@"
