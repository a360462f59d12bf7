package config

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Fleet and agent file names, in the order Load looks for them.
var (
	FleetFileNames = []string{"herdbot.yaml", "herdctl.yaml"}
	AgentFileNames = []string{"agent.yaml", "herdctl-agent.yaml"}
)

// EnvFileName is the name of the fleet and agent .env files.
const EnvFileName = ".env"

// Load reads the fleet file at path and every agent file it names,
// substitutes variables, applies defaults and validates everything.
//
// path "" means ./herdbot.yaml, then ./herdctl.yaml; a directory means
// those names inside it. When the configuration is invalid the error is an
// *Errors listing every problem (and the Fleet is nil). Warnings (accepted
// herdctl fields herdbot does not support, and the like) are on
// Fleet.Warnings, or on Errors.Warnings when loading failed.
func Load(path string) (*Fleet, error) {
	return load(path, os.LookupEnv)
}

// Reload loads prev's fleet file again, as Load does, except that every
// agent already running keeps the agent file it was first loaded from: an
// agent file name that appeared beside it since (agent.yaml beside
// herdctl-agent.yaml, say) is ignored with a warning, and one that replaced
// it is an error. Restart herdbot to switch an agent to another file.
func Reload(prev *Fleet) (*Fleet, error) {
	return loadPinned(prev.Path, os.LookupEnv, pinsOf(prev))
}

// pinsOf maps each agent directory of f to its agent file.
func pinsOf(f *Fleet) map[string]string {
	pins := make(map[string]string, len(f.Agents))
	for _, a := range f.Agents {
		pins[a.Dir] = a.File
	}
	return pins
}

// loader holds the state of one Load.
type loader struct {
	ps       problems
	warnings []Problem
	procEnv  lookupFunc

	file    string // fleet file, absolute
	dir     string
	env     map[string]string // fleet .env
	envFile string
	doc     *doc
	spec    fleetSpec
	raw     map[string]any // fleet file as a map, interpolated

	agents []*agentLoad

	euid  int               // herdbot's user, who must own the agent files
	home  string            // herdbot's home directory, for ~ ("" if unknown)
	homes []string          // every home directory herdbot may have, for the workspace rules
	pins  map[string]string // agent directory -> agent file (Reload)
}

// agentLoad is one entry of the fleet's agents list while loading.
type agentLoad struct {
	index   int
	file    string // absolute agent file; "" when it could not be found
	dir     string
	env     map[string]string
	envFile string
	doc     *doc
	raw     map[string]any // agent file, interpolated, fleet-only keys removed
	agent   *Agent
}

func load(path string, procEnv lookupFunc) (*Fleet, error) {
	return loadPinned(path, procEnv, nil)
}

func loadPinned(path string, procEnv lookupFunc, pins map[string]string) (*Fleet, error) {
	l := &loader{procEnv: procEnv, euid: os.Geteuid(), pins: pins}
	l.findHomes()
	file, err := findFleetFile(path)
	if err != nil {
		return nil, &Errors{Problems: []Problem{{File: path, Message: err.Error()}}}
	}
	l.file = file
	l.dir = filepath.Dir(file)
	f := l.loadFleet()
	if err := l.result(f); err != nil {
		if f != nil {
			err.Warnings = f.Warnings
		}
		return nil, err
	}
	return f, nil
}

// result turns the collected problems into the error Load returns and
// moves the warnings onto f.
func (l *loader) result(f *Fleet) *Errors {
	var secrets []string
	if f != nil {
		secrets = f.Secrets()
	}
	for _, a := range l.agents {
		for _, v := range a.env {
			secrets = append(secrets, v)
		}
	}
	for _, v := range l.env {
		secrets = append(secrets, v)
	}
	secrets = cleanSecrets(secrets, minErrorSecretLen)
	if f != nil {
		for _, w := range l.warnings {
			w.Message = redact(w.Message, secrets)
			f.Warnings = append(f.Warnings, w.String())
		}
	}
	return l.ps.err(secrets)
}

// findFleetFile resolves the fleet file path.
func findFleetFile(path string) (string, error) {
	if path == "" {
		path = "."
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("fleet file: %w", err)
	}
	if !st.IsDir() {
		return abs, nil
	}
	if ext := filepath.Ext(abs); ext == ".yaml" || ext == ".yml" {
		return "", fmt.Errorf("%s is a directory, not a file", abs)
	}
	for _, name := range FleetFileNames {
		p := filepath.Join(abs, name)
		if exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s in %s: name the fleet file with -c PATH (e.g. -c deploy/example/herdbot.yaml), or make a new fleet with `herdbot init`", strings.Join(FleetFileNames, " or "), abs)
}

var overridesPathRe = regexp.MustCompile(`^agents\[(\d+)\]\.overrides(\.|\[|$)`)

// loadFleet does the work; problems go to l.ps.
func (l *loader) loadFleet() *Fleet {
	b, err := readFile(l.file)
	if err != nil {
		l.ps.add(l.file, 0, "", "%v", err)
		return nil
	}
	l.doc = parseYAML(l.file, b, &l.ps)
	if l.doc == nil {
		return nil
	}
	l.envFile = filepath.Join(l.dir, EnvFileName)
	l.env = l.loadEnv(l.envFile)

	// First pass: find the agent files, whose .env files the overrides
	// blocks resolve against. Its problems are reported by the second pass.
	quiet := &doc{file: l.doc.file, root: l.doc.root, pos: map[string]int{}, order: map[string][]string{}, probs: &problems{}}
	first := quiet.toMap(func(p string) (lookupFunc, string) {
		if overridesPathRe.MatchString(p) {
			return func(string) (string, bool) { return "", true }, ""
		}
		return l.fleetScope(p)
	})
	l.doc.pos = quiet.pos // lines for problems found before the second pass
	refs, _ := first["agents"].([]any)
	badEnv := map[string]bool{}
	for i, r := range refs {
		a := &agentLoad{index: i}
		l.agents = append(l.agents, a)
		p, _ := asMap(r)["path"].(string)
		if p == "" {
			continue
		}
		a.file = l.findAgentFile(i, p)
		if a.file != "" {
			a.dir = filepath.Dir(a.file)
			a.envFile = filepath.Join(a.dir, EnvFileName)
			if a.envFile == l.envFile {
				l.ps.add(l.file, l.doc.line(fmt.Sprintf("agents[%d].path", i)), fmt.Sprintf("agents[%d].path", i),
					"agent file %s is in the fleet directory, so its .env would be the fleet .env; give each agent its own directory", a.file)
				continue
			}
			// An agent .env feeds the agent file and the fleet's
			// overrides for the agent: only the operator may write it.
			bad, checked := badEnv[a.envFile]
			if !checked && exists(a.envFile) {
				if err := checkOperatorFile(a.envFile, l.euid); err != nil {
					l.ps.add(a.envFile, 0, "", "%v", err)
					bad = true
				}
				badEnv[a.envFile] = bad
			}
			if bad {
				a.env = map[string]string{}
				continue
			}
			a.env = l.loadEnv(a.envFile)
		}
	}

	// Second pass with the right scope for every field.
	l.raw = l.doc.toMap(l.fleetScope)
	l.checkFleetWarnings()
	for _, fe := range decode(l.raw, &l.spec, true) {
		l.ps.add(l.file, l.doc.line(fe.Path), fe.Path, "%s", fe.Msg)
	}
	f := l.resolveFleet()
	for _, a := range l.agents {
		if a.file == "" {
			continue
		}
		if ag := l.loadAgent(a, f); ag != nil {
			a.agent = ag
			f.Agents = append(f.Agents, ag)
		}
	}
	l.checkAgents(f)
	return f
}

// fleetScope is the variable scope of a fleet file field.
func (l *loader) fleetScope(p string) (lookupFunc, string) {
	if m := overridesPathRe.FindStringSubmatch(p); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i < len(l.agents) && l.agents[i].envFile != "" {
			a := l.agents[i]
			return chain(mapLookup(a.env), mapLookup(l.env), l.procEnv),
				fmt.Sprintf("agents[].overrides read the agent's %s, then the fleet %s, then the process environment", a.envFile, l.envFile)
		}
	}
	return chain(mapLookup(l.env), l.procEnv),
		fmt.Sprintf("the fleet file reads the fleet %s, then the process environment", l.envFile)
}

// loadEnv reads an optional .env file.
func (l *loader) loadEnv(path string) map[string]string {
	if !exists(path) {
		return map[string]string{}
	}
	b, err := readFile(path)
	if err != nil {
		l.ps.add(path, 0, "", "%v", err)
		return map[string]string{}
	}
	vars, errs := parseDotenv(string(b))
	for _, e := range errs {
		l.ps.add(path, e.Line, "", "%s", e.Msg)
	}
	return vars
}

// findAgentFile resolves agents[i].path.
func (l *loader) findAgentFile(i int, p string) string {
	field := fmt.Sprintf("agents[%d].path", i)
	line := l.doc.line(field)
	p, err := expandHome(p, l.home)
	if err != nil {
		l.ps.add(l.file, line, field, "%v", err)
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, p)
	}
	p = filepath.Clean(p)
	st, err := os.Stat(p)
	if err != nil {
		l.ps.add(l.file, line, field, "agent file %s: %v", p, unwrapPathErr(err))
		return ""
	}
	if !st.IsDir() {
		return p
	}
	// An empty file is the read-only placeholder herdbot puts over an
	// absent agent file name so that the agent cannot create it: never
	// the agent file.
	found := ""
	for _, name := range AgentFileNames {
		c := filepath.Join(p, name)
		if exists(c) && !isPlaceholder(c) {
			found = c
			break
		}
	}
	if pinned, ok := l.pins[p]; ok && found != pinned {
		if exists(pinned) && !isPlaceholder(pinned) {
			l.warnings = append(l.warnings, Problem{File: l.file, Line: line, Field: field, Message: fmt.Sprintf(
				"%s appeared beside %s after herdbot started and is ignored: herdbot keeps reading %s until it restarts (if you did not create it, the agent may have tried to)",
				found, pinned, pinned)})
			return pinned
		}
		if found != "" {
			l.ps.add(l.file, line, field, "agent file %s is gone and %s is there instead; a reload never switches an agent to another file: restart herdbot to use it", pinned, found)
			return ""
		}
	}
	if found == "" {
		l.ps.add(l.file, line, field, "directory %s has no %s (an empty file is herdbot's read-only placeholder, not an agent file)", p, strings.Join(AgentFileNames, " or "))
	}
	return found
}

// findHomes notes herdbot's home directory: $HOME for ~, and also the
// account's home for the workspace rules.
func (l *loader) findHomes() {
	if h, ok := l.procEnv("HOME"); ok && filepath.IsAbs(h) {
		l.home = filepath.Clean(h)
	} else if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		l.home = filepath.Clean(h)
	}
	if l.home != "" {
		l.homes = append(l.homes, l.home)
	}
	if u, err := user.Current(); err == nil && filepath.IsAbs(u.HomeDir) && filepath.Clean(u.HomeDir) != l.home {
		l.homes = append(l.homes, filepath.Clean(u.HomeDir))
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
