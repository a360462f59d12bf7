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
	FleetFileNames = []string{"herdbot.yaml", "herdctl.yaml", "herdctl.yml"}
	AgentFileNames = []string{"agent.yaml", "herdctl-agent.yaml", "agent.yml", "herdctl-agent.yml"}
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
	doc     *doc // the top fleet file (root.doc)
	spec    fleetSpec
	raw     map[string]any // the top fleet file as a map, interpolated (root.raw)

	root   *fleetLevel
	levels []*fleetLevel // the top fleet file, then its sub-fleets
	agents []*agentLoad  // every level's agents, in load order
	badEnv map[string]bool

	// read holds a digest of every file this load read, and "absent" for
	// a .env it looked for and did not find (see Fleet.ChangedSinceLoad).
	read map[string]string

	euid  int               // herdbot's user, who must own the agent files
	home  string            // herdbot's home directory, for ~ ("" if unknown)
	homes []string          // every home directory herdbot may have, for the workspace rules
	pins  map[string]string // agent directory -> agent file (Reload)
	// badEngines are engines: entries with a problem already reported; an
	// agent placed on one is not reported again as unknown.
	badEngines map[string]bool
}

// agentLoad is one entry of a fleet file's agents list while loading.
type agentLoad struct {
	level   *fleetLevel
	index   int    // in level's agents list
	file    string // absolute agent file; "" when it could not be found
	dir     string
	env     map[string]string
	envFile string
	doc     *doc
	raw     map[string]any // agent file, interpolated, fleet-only keys removed
	vars    *agentVars     // where the agent file's variables come from
	// inFleetDir: the file is in the fleet directory (refused; not loaded).
	inFleetDir bool
	agent      *Agent
}

func load(path string, procEnv lookupFunc) (*Fleet, error) {
	return loadPinned(path, procEnv, nil)
}

func loadPinned(path string, procEnv lookupFunc, pins map[string]string) (*Fleet, error) {
	_, f, err := loadWith(path, procEnv, pins)
	return f, err
}

// loadWith loads the fleet at path and returns the loader too, for
// PlanMigration to look at what it read.
func loadWith(path string, procEnv lookupFunc, pins map[string]string) (*loader, *Fleet, error) {
	l := &loader{procEnv: procEnv, euid: os.Geteuid(), pins: pins, badEnv: map[string]bool{}, read: map[string]string{}}
	l.findHomes()
	file, err := findFleetFile(path)
	if err != nil {
		return l, nil, &Errors{Problems: []Problem{{File: path, Message: err.Error()}}}
	}
	l.file = file
	l.dir = filepath.Dir(file)
	f := l.loadFleet()
	if err := l.result(f); err != nil {
		if f != nil {
			err.Warnings = f.Warnings
		}
		return l, nil, err
	}
	f.read = l.read
	return l, f, nil
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

// fleetLevel is one fleet file: the top one, or a sub-fleet (herdctl's
// fleets:) of another.
type fleetLevel struct {
	file, dir string
	doc       *doc
	raw       map[string]any // interpolated, checked against herdctl's schema
	names     []string       // sub-fleet names from the top; nil for the top
	parent    *fleetLevel
	agents    []*agentLoad // this file's agents list
	// defaults are the agent defaults in effect here: this file's (with
	// its fleets[] entry's overrides merged over them) over its parent's.
	defaults map[string]any
	// defSources say where a defaults field may be written, first match
	// wins: the parent's fleets[] overrides, this file, then the parent's.
	defSources []fieldSource
}

// fieldSource is a place in a file where fields of one kind are written.
type fieldSource struct {
	d      *doc
	prefix string
	dir    string // relative paths written there are relative to dir
}

// loadFleet does the work; problems go to l.ps.
func (l *loader) loadFleet() *Fleet {
	l.envFile = filepath.Join(l.dir, EnvFileName)
	l.env = l.loadEnv(l.envFile)
	root := l.loadLevel(l.file, nil, nil, 0)
	if root == nil {
		return nil
	}
	l.root, l.doc, l.raw = root, root.doc, root.raw
	for _, fe := range decodeMap(l.raw, &l.spec, true) {
		l.ps.add(l.file, l.doc.line(fe.Path), fe.Path, "%s", fe.Msg)
	}
	f := l.resolveFleet()
	l.loadSubFleets(root, map[string]bool{root.file: true}, []string{root.file})
	for _, lv := range l.levels[1:] {
		f.SubFleetFiles = append(f.SubFleetFiles, lv.file)
	}
	for _, a := range l.agents {
		if a.file == "" || a.inFleetDir {
			continue
		}
		if ag := l.loadAgent(a, f); ag != nil {
			a.agent = ag
			f.Agents = append(f.Agents, ag)
		}
	}
	l.checkAgents(f)
	l.checkEngines(f)
	return f
}

// loadLevel reads one fleet file. ref is its fleets[] entry in parent
// (refIndex), whose overrides go over the file; nil for the top file.
func (l *loader) loadLevel(file string, parent *fleetLevel, ref map[string]any, refIndex int) *fleetLevel {
	b, err := l.readFile(file)
	if err != nil {
		if parent != nil {
			p := fmt.Sprintf("fleets[%d].path", refIndex)
			l.ps.add(parent.file, parent.doc.line(p), p, "sub-fleet %s: %v", file, unwrapPathErr(err))
			return nil
		}
		l.ps.add(file, 0, "", "%v", err)
		return nil
	}
	lv := &fleetLevel{file: file, dir: filepath.Dir(file), parent: parent}
	lv.doc = parseYAML(file, b, &l.ps)
	if lv.doc == nil {
		return nil
	}
	lv.doc.warn = l.warn
	l.levels = append(l.levels, lv)

	// First pass: find the agent files, whose .env files the overrides
	// blocks resolve against. Its problems are reported by the second pass.
	quiet := &doc{file: lv.doc.file, root: lv.doc.root, pos: map[string]int{}, order: map[string][]string{}, probs: &problems{}}
	first := quiet.toMap(func(p string) (lookupFunc, string) {
		if overridesPathRe.MatchString(p) {
			return func(string) (string, bool) { return "", true }, ""
		}
		return l.fleetScope(lv, p)
	})
	lv.doc.pos = quiet.pos // lines for problems found before the second pass
	refs, _ := first["agents"].([]any)
	for i, r := range refs {
		a := &agentLoad{index: i, level: lv}
		lv.agents = append(lv.agents, a)
		l.agents = append(l.agents, a)
		p, _ := asMap(r)["path"].(string)
		if p == "" {
			continue
		}
		l.findAgent(a, p)
	}

	// Second pass with the right scope for every field.
	lv.raw = lv.doc.toMap(func(p string) (lookupFunc, string) { return l.fleetScope(lv, p) })
	lv.raw = hcWalk{l: l, d: lv.doc}.object(hcFleetFile, lv.raw, "", fleetSpecType, false)
	l.checkDangerousFlag(lv.doc)
	own := asMap(lv.raw["defaults"])
	lv.defSources = []fieldSource{{lv.doc, "defaults", lv.dir}}
	if parent != nil {
		refPrefix := fmt.Sprintf("fleets[%d].overrides", refIndex)
		ov := asMap(ref["overrides"])
		for _, k := range []string{"agents", "fleets"} {
			if _, set := ov[k]; set {
				p := refPrefix + "." + k
				l.warnings = append(l.warnings, Problem{File: parent.file, Line: parent.doc.line(p), Field: p,
					Message: "a sub-fleet's " + k + " cannot be overridden from its parent: ignored"})
			}
		}
		ov = without(without(ov, "agents"), "fleets")
		// The file with its fleets[] entry's overrides over it; its agents'
		// defaults: the parent's, this file's, the overrides' defaults.
		k, err := merge(lv.raw, ov)
		if err != nil {
			l.ps.add(file, 0, "", "%v", err)
			return nil
		}
		lv.raw = k.Raw()
		defs, err := merge(parent.defaults, own, asMap(ov["defaults"]))
		if err != nil {
			l.ps.add(file, 0, "", "%v", err)
			return nil
		}
		lv.defaults = defs.Raw()
		lv.defSources = append([]fieldSource{{parent.doc, refPrefix + ".defaults", lv.dir}}, lv.defSources...)
		lv.defSources = append(lv.defSources, parent.defSources...)
		var sub fleetSpec
		for _, fe := range decode(k, &sub, true) {
			l.ps.add(file, lv.doc.line(fe.Path), fe.Path, "%s", fe.Msg)
		}
		// Settings of the whole herdbot process come from the top file.
		for _, k := range []string{"state_dir", "timezone", "http", "model_api", "docker", "engines"} {
			if lv.doc.has(k) {
				l.warnings = append(l.warnings, Problem{File: file, Line: lv.doc.line(k), Field: k,
					Message: "ignored in a sub-fleet: only the top fleet file's " + k + " applies"})
			}
		}
	} else {
		lv.defaults = own
	}
	return lv
}

// loadSubFleets loads lv's fleets: entries, depth first, as herdctl does:
// each sub-fleet's agents, then its own sub-fleets. visited and chain are
// the files on the way down, for cycles.
func (l *loader) loadSubFleets(lv *fleetLevel, visited map[string]bool, chain []string) {
	refs, _ := lv.raw["fleets"].([]any)
	names := map[string]string{} // name -> file, at this level
	for j, r := range refs {
		ref := asMap(r)
		pathField := fmt.Sprintf("fleets[%d].path", j)
		p, _ := ref["path"].(string)
		if p == "" {
			continue // hcWalk said it is required
		}
		p, err := expandHome(p, l.home)
		if err != nil {
			l.ps.add(lv.file, lv.doc.line(pathField), pathField, "%v", err)
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(lv.dir, p)
		}
		p = filepath.Clean(p)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			l.ps.add(lv.file, lv.doc.line(pathField), pathField, "%s is a directory: name the sub-fleet's fleet file", p)
			continue
		}
		if visited[p] {
			l.ps.add(lv.file, lv.doc.line(pathField), pathField, "fleet composition cycle: %s", strings.Join(append(append([]string{}, chain...), p), " -> "))
			continue
		}
		sub := l.loadLevel(p, lv, ref, j)
		if sub == nil {
			continue
		}
		name, nameField := "", pathField
		if n, _ := ref["name"].(string); n != "" {
			name, nameField = n, fmt.Sprintf("fleets[%d].name", j)
		} else if n, _ := asMap(sub.raw["fleet"])["name"].(string); n != "" {
			name = n
		} else {
			name = filepath.Base(sub.dir)
		}
		if !agentNamePattern.MatchString(name) {
			l.ps.add(lv.file, lv.doc.line(nameField), nameField, "sub-fleet name %q is not valid: use letters, digits, _ and -, starting with a letter or digit (no dots); set name: on this entry", truncate(name, 60))
		}
		if prev, dup := names[name]; dup {
			l.ps.add(lv.file, lv.doc.line(pathField), pathField, "two sub-fleets of %s are named %q (%s and %s); add name: to one of these entries", lv.file, name, prev, p)
		}
		names[name] = p
		sub.names = append(append([]string{}, lv.names...), name)
		visited[p] = true
		l.loadSubFleets(sub, visited, append(append([]string{}, chain...), p))
	}
}

// warn adds a warning.
func (l *loader) warn(p Problem) { l.warnings = append(l.warnings, p) }

// findAgent finds the agent file of a and reads its .env.
func (l *loader) findAgent(a *agentLoad, p string) {
	lv := a.level
	a.file = l.findAgentFile(lv, a.index, p)
	if a.file == "" {
		return
	}
	a.dir = filepath.Dir(a.file)
	a.envFile = filepath.Join(a.dir, EnvFileName)
	if a.envFile == l.envFile {
		field := fmt.Sprintf("agents[%d].path", a.index)
		l.ps.add(lv.file, lv.doc.line(field), field,
			"agent file %s is in the fleet directory, so its .env would be the fleet .env; give each agent its own directory (`herdbot migrate` moves it)", a.file)
		a.inFleetDir = true
		return
	}
	// An agent .env feeds the agent file and the fleet's overrides for the
	// agent: only the operator may write it.
	bad, checked := l.badEnv[a.envFile]
	if !checked && exists(a.envFile) {
		if err := checkOperatorFile(a.envFile, l.euid); err != nil {
			l.ps.add(a.envFile, 0, "", "%v", err)
			bad = true
		}
		l.badEnv[a.envFile] = bad
	}
	if bad {
		a.env = map[string]string{}
		return
	}
	a.env = l.loadEnv(a.envFile)
}

// fleetScope is the variable scope of a field of lv's fleet file. Every
// fleet file reads the top fleet's .env, as herdctl reads one .env.
func (l *loader) fleetScope(lv *fleetLevel, p string) (lookupFunc, string) {
	if m := overridesPathRe.FindStringSubmatch(p); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i < len(lv.agents) && lv.agents[i].envFile != "" {
			a := lv.agents[i]
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
		l.read[filepath.Clean(path)] = fileAbsent
		return map[string]string{}
	}
	b, err := l.readFile(path)
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

// findAgentFile resolves agents[i].path of lv.
func (l *loader) findAgentFile(lv *fleetLevel, i int, p string) string {
	field := fmt.Sprintf("agents[%d].path", i)
	line := lv.doc.line(field)
	file := lv.file
	p, err := expandHome(p, l.home)
	if err != nil {
		l.ps.add(file, line, field, "%v", err)
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(lv.dir, p)
	}
	p = filepath.Clean(p)
	st, err := os.Stat(p)
	if err != nil {
		l.ps.add(file, line, field, "agent file %s: %v", p, unwrapPathErr(err))
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
			l.warnings = append(l.warnings, Problem{File: file, Line: line, Field: field, Message: fmt.Sprintf(
				"%s appeared beside %s after herdbot started and is ignored: herdbot keeps reading %s until it restarts (if you did not create it, the agent may have tried to)",
				found, pinned, pinned)})
			return pinned
		}
		if found != "" {
			l.ps.add(file, line, field, "agent file %s is gone and %s is there instead; a reload never switches an agent to another file: restart herdbot to use it", pinned, found)
			return ""
		}
	}
	if found == "" {
		l.ps.add(file, line, field, "directory %s has no %s (an empty file is herdbot's read-only placeholder, not an agent file)", p, strings.Join(AgentFileNames, " or "))
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
