package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/herdbot/herdbot/internal/pathguard"
)

// checkAgents runs the checks that span agents: unique names, one bot per
// agent, private .env files, workspaces that do not swallow the fleet.
func (l *loader) checkAgents(f *Fleet) {
	byName := map[string]*Agent{}
	byFile := map[string]*Agent{}
	byDir := map[string]*Agent{}
	type tokenUse struct {
		agent *Agent
		what  string
	}
	tokens := map[string]tokenUse{}
	for _, a := range f.Agents {
		r := l.resFor(a)
		if a.Name != "" {
			if prev, ok := byName[a.Name]; ok {
				r.errf("name", "agent name %q is already used by %s", a.Name, prev.File)
			}
			byName[a.Name] = a
		}
		if prev, ok := byFile[a.File]; ok {
			d := r.fleetDoc()
			l.ps.add(d.file, d.line(fmt.Sprintf("agents[%d].path", r.a.index)), fmt.Sprintf("agents[%d].path", r.a.index),
				"agent file %s is listed twice (also for %s)", a.File, prev.Name)
			continue
		}
		byFile[a.File] = a
		if prev, ok := byDir[a.Dir]; ok && exists(a.EnvFile) {
			l.ps.add(a.File, 0, "", "agents %s and %s share the directory %s and its .env; give each agent its own directory so its secrets stay its own (run `herdbot migrate`: it moves each agent into a directory of its own)",
				prev.Name, a.Name, a.Dir)
		}
		byDir[a.Dir] = a

		use := func(p, token, what string) {
			if token == "" {
				return
			}
			if prev, ok := tokens[token]; ok {
				r.errf(p, "the %s is the same as agent %s's %s; each agent needs its own bot", what, prev.agent.Name, prev.what)
				return
			}
			tokens[token] = tokenUse{a, what}
		}
		if d := a.Chat.Discord; d != nil {
			use("chat.discord.bot_token_env", d.Token, "Discord bot token")
		}
		if s := a.Chat.Slack; s != nil {
			use("chat.slack.bot_token_env", s.BotToken, "Slack bot token")
			use("chat.slack.app_token_env", s.AppToken, "Slack app token")
		}
	}
	l.checkWorkspaces(f)
}

// checkWorkspaces applies the workspace rules to every agent, wherever its
// working_directory was set (the fleet file too): a workspace may not be,
// contain or lie inside herdbot's state directory, another agent's
// directory, another agent's workspace or volumes (unless both sides are
// read-only), / or a system directory; and it may not be or contain the
// fleet directory or herdbot's home. Paths are compared after resolving
// symbolic links; the Docker backend checks again when it mounts.
func (l *loader) checkWorkspaces(f *Fleet) {
	for _, a := range f.Agents {
		if a.WorkingDirectory == "" {
			continue
		}
		if err := pathguard.Check(a.WorkingDirectory, WorkspaceRules(f, a)); err != nil {
			r := l.resFor(a)
			msg := err.Error() + "; an agent's workspace may not hold or lie in herdbot's own files, another agent's files or a system directory"
			if a.WorkingDirectory == a.Dir {
				msg += " (this is the agent's own directory, the default working_directory: give the agent a directory of its own or set working_directory; run `herdbot migrate`: it moves agents that share a directory into directories of their own)"
			} else {
				msg += " (run `herdbot migrate`: it drops a working_directory that breaks this rule, with a note in the file, and the agent works in its own directory)"
			}
			r.errf("working_directory", "%s", msg)
		}
	}
}

// WorkspaceRules are the paths agent a's workspace must keep clear of,
// besides / and the system directories (pathguard.System): herdbot's state
// directory, the fleet directory and herdbot's home directories (only
// containing them is refused), every other agent's directory, and every
// other agent's workspace and volumes unless both mounts are read-only.
func WorkspaceRules(f *Fleet, a *Agent) []pathguard.Rule {
	rules := []pathguard.Rule{{Path: f.Dir, What: "the fleet directory", MayLieInside: true}}
	for _, sf := range f.SubFleetFiles {
		rules = append(rules, pathguard.Rule{Path: filepath.Dir(sf), What: "the directory of sub-fleet " + sf, MayLieInside: true})
	}
	for _, h := range f.Homes {
		rules = append(rules, pathguard.Rule{Path: h, What: "herdbot's home directory", MayLieInside: true})
	}
	rules = append(rules, pathguard.Rule{Path: f.StateDir, What: "herdbot's state directory"})
	aRO := a.Docker.Enabled && a.Docker.WorkspaceMode == "ro"
	for _, b := range f.Agents {
		if b == a {
			continue
		}
		rules = append(rules, pathguard.Rule{Path: b.Dir, What: "agent " + b.Name + "'s directory"})
		bRO := b.Docker.Enabled && b.Docker.WorkspaceMode == "ro"
		if !aRO || !bRO {
			rules = append(rules, pathguard.Rule{Path: b.WorkingDirectory, What: "agent " + b.Name + "'s workspace"})
		}
		for _, v := range b.Docker.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if filepath.IsAbs(src) && (!aRO || !strings.HasSuffix(v, ":ro")) {
				rules = append(rules, pathguard.Rule{Path: src, What: "a volume of agent " + b.Name})
			}
		}
	}
	return rules
}

// resFor returns a resolver view of an already resolved agent, for errors.
func (l *loader) resFor(a *Agent) *agentRes {
	for _, al := range l.agents {
		if al.agent == a {
			r := l.newAgentRes(al, nil)
			r.out = a
			return r
		}
	}
	return &agentRes{l: l, a: &agentLoad{file: a.File}, out: a}
}
