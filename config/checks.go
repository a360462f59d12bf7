package config

import (
	"fmt"
	"path/filepath"
	"strings"
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
			l.ps.add(l.file, l.doc.line(fmt.Sprintf("agents[%d].path", r.a.index)), fmt.Sprintf("agents[%d].path", r.a.index),
				"agent file %s is listed twice (also for %s)", a.File, prev.Name)
			continue
		}
		byFile[a.File] = a
		if prev, ok := byDir[a.Dir]; ok && exists(a.EnvFile) {
			l.ps.add(a.File, 0, "", "agents %s and %s share the directory %s and its .env; give each agent its own directory so its secrets stay its own",
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
	// A workspace set in an agent file must not expose the fleet directory
	// or another agent's directory: the agent could point it there itself.
	for _, a := range f.Agents {
		r := l.resFor(a)
		if a.WorkingDirectory == a.Dir || r.origin("working_directory").fleet {
			continue
		}
		if within(l.dir, a.WorkingDirectory) {
			r.errf("working_directory", "%s contains the fleet directory; an agent file may not choose that (set it in the fleet file under agents[].overrides if you mean it)", a.WorkingDirectory)
			continue
		}
		for _, b := range f.Agents {
			if b != a && within(b.Dir, a.WorkingDirectory) {
				r.errf("working_directory", "%s contains agent %s's directory; an agent file may not choose that", a.WorkingDirectory, b.Name)
				break
			}
		}
	}
}

// resFor returns a resolver view of an already resolved agent, for errors.
func (l *loader) resFor(a *Agent) *agentRes {
	for _, al := range l.agents {
		if al.agent == a {
			return &agentRes{l: l, a: al, ovPrefix: fmt.Sprintf("agents[%d].overrides", al.index), out: a}
		}
	}
	return &agentRes{l: l, a: &agentLoad{file: a.File}, out: a}
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
