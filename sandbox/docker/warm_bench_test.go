package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox"
)

// BenchmarkWarmAgentMemory measures how many warm agents one host holds:
// it starts HERDBOT_WARM_AGENTS (default 8) agents, each the real CLI in
// its hardened container with its own egress sidecar, gives each one turn
// (stream-json in, as herdbot drives it) against the scripted model, and
// then, with every CLI idle and warm, reads each container's memory from
// the engine's stats API (one sample): usage less the page cache (what
// `docker stats` shows) and RSS. It reports MiB per agent (CLI container
// and sidecar) and warm agents per GiB; docs/scale-out.md has the figures.
// The loop runs once whatever b.N is: the figure is a level, not a rate.
//
//	HERDBOT_REQUIRE_DOCKER=1 HERDBOT_REQUIRE_CLAUDE=1 go test ./sandbox/docker -run '^$' -bench WarmAgentMemory -benchtime 1x
func BenchmarkWarmAgentMemory(b *testing.B) {
	n := 8
	if v, err := strconv.Atoi(os.Getenv("HERDBOT_WARM_AGENTS")); err == nil && v > 0 {
		n = v
	}
	be := newTestBackend(b)
	claudeBin := testenv.RequireClaude(b)
	tag := "herdbot-agent-test:" + randomHex(6)
	if err := be.BuildCLIImage(testCtx(b), tag, claudeBin); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = be.cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{PruneChildren: true})
	})
	model := claudetest.New(func(*claudetest.Request) claudetest.Reply { return claudetest.Text("warm") })
	port := serveOnAll(b, model)
	egressNet, err := be.ensureEgressNetwork(testCtx(b))
	if err != nil {
		b.Fatal(err)
	}
	gw := egressNet.gateways[0].String()

	type warm struct {
		p   sandbox.Process
		out *bufio.Reader
	}
	procs := make([]warm, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			spec := sandbox.Spec{
				Agent: fmt.Sprintf("warm%d", i), Job: "warm", Image: tag,
				Command: []string{"claude", "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose", "--model", "claude-sonnet-4-5"},
				Env:     cliEnv(), Workspace: workspace(b, 1000, 1000), StateDir: b.TempDir(),
				Network: sandbox.Network{Private: []string{gw + "/32:" + port},
					Model: sandbox.ModelUpstream{URL: "http://" + gw + ":" + port, APIKey: realModelKey}},
			}
			p, err := be.Start(testCtx(b), spec)
			if err != nil {
				errs <- err
				return
			}
			go func() { _, _ = io.Copy(io.Discard, p.Stderr()) }()
			br := bufio.NewReaderSize(p.Stdout(), 1<<20)
			if _, err := io.WriteString(p.Stdin(), `{"type":"user","message":{"role":"user","content":"hello"}}`+"\n"); err != nil {
				errs <- err
				return
			}
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("agent %d: no result: %w", i, err)
					return
				}
				if strings.Contains(line, `"type":"result"`) {
					break
				}
			}
			procs[i] = warm{p: p, out: br}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, w := range procs {
			_ = w.p.Stdin().Close()
			_, _ = io.Copy(io.Discard, w.out)
			_, _ = w.p.Wait(context.Background())
		}
	})

	var agentUse, agentRSS, sideUse []float64
	for i, w := range procs {
		u, r := memOf(b, be, w.p.(*process).id)
		su, _ := memOf(b, be, be.sidecarName(fmt.Sprintf("warm%d", i)))
		agentUse, agentRSS, sideUse = append(agentUse, u), append(agentRSS, r), append(sideUse, su)
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	sort.Float64s(agentUse)
	per := mean(agentUse) + mean(sideUse)
	b.Logf("%d warm agents: CLI container usage-cache mean %.1f MiB (min %.1f, max %.1f), RSS mean %.1f MiB; sidecar mean %.1f MiB; per agent %.1f MiB → %.2f warm agents per GiB",
		n, mean(agentUse), agentUse[0], agentUse[len(agentUse)-1], mean(agentRSS), mean(sideUse), per, 1024/per)
	b.ReportMetric(mean(agentUse), "MiB/cli")
	b.ReportMetric(mean(sideUse), "MiB/sidecar")
	b.ReportMetric(1024/per, "agents/GiB")
}

// memOf reads one stats sample of a container: usage less page cache, and
// RSS, in MiB.
func memOf(b *testing.B, be *Backend, id string) (usage, rss float64) {
	b.Helper()
	res, err := be.cli.ContainerStats(testCtx(b), id, client.ContainerStatsOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	m := st.MemoryStats
	cache := m.Stats["total_inactive_file"]
	if cache == 0 {
		cache = m.Stats["cache"]
	}
	rssB := m.Stats["total_rss"]
	if rssB == 0 {
		rssB = m.Stats["rss"]
	}
	return float64(m.Usage-cache) / (1 << 20), float64(rssB) / (1 << 20)
}
