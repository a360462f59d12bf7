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
	// LabelInstallation is the installation id (Config.Installation):
	// what Cleanup goes by, so that another herdbot whose fleet has the
	// same name is never touched.
	LabelInstallation = "herdbot.installation"
	LabelAgent        = "herdbot.agent"
	LabelJob          = "herdbot.job"
	LabelRole         = "herdbot.role" // "agent", "egress", "network", "egress-network"
	LabelContent      = "herdbot.content"
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
		LabelManaged:      "1",
		LabelFleet:        b.cfg.Fleet,
		LabelInstallation: b.cfg.Installation,
		LabelRole:         role,
	}
}

// prefix starts every resource name: the fleet name for people, and the
// start of the installation id, so that two fleets of one name (two copies
// of deploy/example, say) never share a network or a sidecar name.
func (b *Backend) prefix() string {
	return "herdbot-" + b.cfg.Fleet + "-" + b.shortInstallation()
}

// shortInstallation is the start of the installation id (New makes sure
// there is one of 32 digits).
func (b *Backend) shortInstallation() string {
	if id := b.cfg.Installation; len(id) > shortID {
		return id[:shortID]
	}
	return b.cfg.Installation
}

// shortID is how much of the installation id is in resource names.
const shortID = 8

func (b *Backend) agentNetworkName(agent string) string {
	return b.prefix() + "-" + agent
}

func (b *Backend) egressNetworkName() string {
	return b.prefix() + "-egress"
}

func (b *Backend) sidecarName(agent string) string {
	return b.prefix() + "-" + agent + "-egress"
}

// containerName is unique per process: the job id is sanitized and
// shortened, and a random suffix keeps two processes of one job apart.
func (b *Backend) containerName(agent, job string) string {
	j := sanitize(job, 40)
	if j == "" {
		j = "run"
	}
	return b.prefix() + "-" + agent + "-" + j + "-" + randomHex(4)
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
