package docker

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Labels herdbot puts on every container, network and image it creates.
const (
	LabelManaged = "herdbot.managed" // always "1"
	LabelFleet   = "herdbot.fleet"
	LabelAgent   = "herdbot.agent"
	LabelJob     = "herdbot.job"
	LabelRole    = "herdbot.role" // "agent", "egress", "network", "egress-network"
	LabelContent = "herdbot.content"
)

// Roles (values of LabelRole).
const (
	roleAgent      = "agent"
	roleEgress     = "egress"
	roleNetwork    = "agent-network"
	roleEgressNet  = "egress-network"
	roleEgressImg  = "egress-image"
	roleAgentImage = "agent-image"
)

// egressAlias is the sidecar's name on an agent network. Each agent network
// is separate, so every agent finds its own sidecar under the same name.
const egressAlias = "egress"

// Ports the sidecar listens on (egress.DefaultListen, DefaultModelListen).
const (
	proxyPort = "3128"
	modelPort = "8080"
)

func (b *Backend) baseLabels(role string) map[string]string {
	return map[string]string{
		LabelManaged: "1",
		LabelFleet:   b.cfg.Fleet,
		LabelRole:    role,
	}
}

func (b *Backend) agentNetworkName(agent string) string {
	return "herdbot-" + b.cfg.Fleet + "-" + agent
}

func (b *Backend) egressNetworkName() string {
	return "herdbot-" + b.cfg.Fleet + "-egress"
}

func (b *Backend) sidecarName(agent string) string {
	return "herdbot-" + b.cfg.Fleet + "-" + agent + "-egress"
}

// containerName is unique per process: the job id is sanitized and
// shortened, and a random suffix keeps two processes of one job apart.
func (b *Backend) containerName(agent, job string) string {
	j := sanitize(job, 40)
	if j == "" {
		j = "run"
	}
	return "herdbot-" + b.cfg.Fleet + "-" + agent + "-" + j + "-" + randomHex(4)
}

// sanitize keeps the characters Docker allows in names.
func sanitize(s string, max int) string {
	var sb strings.Builder
	for _, r := range s {
		if sb.Len() >= max {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			sb.WriteRune(r)
		default:
			sb.WriteByte('-')
		}
	}
	return strings.Trim(sb.String(), "-.")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
