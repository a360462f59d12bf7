package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// Migration is what `herdbot migrate` prints and, with --write, applies:
// the changes that turn a herdctl layout into herdbot's recommended one.
//
//   - Agents whose files share a directory (herdctl's agents/*.yaml), or
//     sit in a fleet file's directory, each get a directory of their own
//     (<dir>/<name>/herdctl-agent.yaml or agent.yaml): an agent's directory
//     holds its .env and is its default workspace, and agents never share
//     either. The old files stay where they were.
//   - Options an agent file may not set (permission_mode:
//     bypassPermissions, docker.enabled: false) move to the fleet file's
//     agents[].overrides for that agent.
//   - herdctl's old names are renamed (workspace → working_directory,
//     docker.base_image → image).
//   - A working_directory that would give the agent herdbot's files or
//     another agent's (the fleet directory, a shared workspace) is dropped,
//     and an option that would undo the container hardening without the
//     per-agent opt-in (network: host, Privileged…) is dropped, each with a
//     comment saying what it was and how to have it back knowingly.
//   - Every variable an agent file reads from the fleet .env is copied into
//     that agent's own .env (created with mode 0600), never the model
//     credential.
//   - Each field herdbot accepts with a warning gets a "# herdbot: …"
//     comment with that warning.
//
// Write writes every file atomically, keeps each replaced file as
// <file>.pre-migrate (or .pre-migrate.N), and never replaces a file that
// it did not read.
type Migration struct {
	Fleet   string       // the fleet file
	Changes []FileChange // in the order they are written
	Notes   []string     // what the operator should know or do by hand
}

// FileChange is one file Write creates or replaces.
type FileChange struct {
	Path    string   // absolute
	Create  bool     // a new file (Write refuses to replace one)
	Reasons []string // one line per edit, for the plan (no secret values)
	content []byte
	mode    fs.FileMode
	orig    []byte // Create false: the content read, to refuse a file changed since
}

// PlanMigration reads the fleet at path (a herdctl or herdbot fleet) and
// returns the changes that make it load in herdbot, securely laid out.
// It fails only when the files cannot be read or parsed at all.
func PlanMigration(path string) (*Migration, error) {
	return planMigration(path, os.LookupEnv)
}

func planMigration(path string, procEnv lookupFunc) (*Migration, error) {
	l, _, err := loadWith(path, procEnv, nil)
	if l.file == "" || l.root == nil {
		return nil, err
	}
	for _, p := range l.ps.list {
		if strings.HasPrefix(p.Message, "invalid YAML") || strings.Contains(p.Message, "top level must be a mapping") ||
			strings.Contains(p.Message, "more than one YAML document") {
			return nil, fmt.Errorf("fix this first: %s", p)
		}
	}
	m := &migrator{l: l, plan: &Migration{Fleet: l.file}, files: map[string]*yfile{}, envAdds: map[string]map[string]string{}}
	if err := m.run(); err != nil {
		return nil, err
	}
	return m.plan, nil
}

// yfile is a YAML file being edited, kept as a node tree so that
// comments and order survive.
type yfile struct {
	path    string // where it is written (a moved agent file: its new place)
	from    string // where it was read
	doc     *yaml.Node
	orig    []byte
	create  bool
	reasons []string
}

func (y *yfile) top() *yaml.Node {
	if y.doc.Kind == yaml.DocumentNode && len(y.doc.Content) > 0 {
		return y.doc.Content[0]
	}
	return y.doc
}

func (y *yfile) note(format string, args ...any) {
	y.reasons = append(y.reasons, fmt.Sprintf(format, args...))
}

type migrator struct {
	l       *loader
	plan    *Migration
	files   map[string]*yfile            // by the path it was read from
	order   []string                     // files, in the order first opened
	moved   map[*agentLoad]string        // agent -> its new agent file
	envAdds map[string]map[string]string // agent .env path -> variables to add
	envFrom map[string]string            // agent .env path -> the agent file, for reasons
}

// open returns the edit of the YAML file at path, read on first use.
func (m *migrator) open(path string) (*yfile, error) {
	if y, ok := m.files[path]; ok {
		return y, nil
	}
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n.Kind == 0 { // empty file
		n = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	y := &yfile{path: path, from: path, doc: &n, orig: b}
	m.files[path] = y
	m.order = append(m.order, path)
	return y, nil
}

func (m *migrator) run() error {
	l := m.l
	m.moved = map[*agentLoad]string{}
	m.envFrom = map[string]string{}
	// Open every fleet file and agent file up front.
	for _, lv := range l.levels {
		if _, err := m.open(lv.file); err != nil {
			return err
		}
	}
	for _, a := range l.agents {
		if a.file == "" {
			continue
		}
		if _, err := m.open(a.file); err != nil {
			return err
		}
	}
	m.renameOldNames()
	m.separateAgents()
	m.moveDangerousOptions()
	m.dropUnsafe()
	m.copyVariables()
	m.annotate()
	return m.finish()
}

// agentFile returns the edit of a's agent file.
func (m *migrator) agentFile(a *agentLoad) *yfile { return m.files[a.file] }

// renameOldNames renames herdctl's workspace and base_image everywhere.
func (m *migrator) renameOldNames() {
	for _, path := range m.order {
		y := m.files[path]
		var walk func(n *yaml.Node, where string)
		walk = func(n *yaml.Node, where string) {
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					k := n.Content[i]
					to := ""
					switch {
					case k.Value == "workspace" && (where == "" || where == "defaults" || strings.HasSuffix(where, "overrides")):
						to = "working_directory"
					case k.Value == "base_image" && strings.HasSuffix(where, "docker"):
						to = "image"
					}
					if to != "" {
						if _, v, _ := mapGet(n, to); v != nil {
							y.note("removed %s, herdctl's old name for %s, which is also set", joinPath(where, k.Value), to)
							n.Content = append(n.Content[:i], n.Content[i+2:]...)
							i -= 2
							continue
						}
						y.note("renamed %s to %s (herdctl's old name)", joinPath(where, k.Value), to)
						k.Value = to
					}
					walk(n.Content[i+1], joinPath(where, k.Value))
				}
			}
			if n.Kind == yaml.SequenceNode {
				for i, c := range n.Content {
					walk(c, fmt.Sprintf("%s[%d]", where, i))
				}
			}
		}
		walk(y.top(), "")
	}
}

// separateAgents gives every agent whose file shares a directory with
// another agent's, or sits in a fleet file's directory, a directory of its
// own.
func (m *migrator) separateAgents() {
	l := m.l
	byDir := map[string][]*agentLoad{}
	fleetDirs := map[string]bool{}
	for _, lv := range l.levels {
		fleetDirs[lv.dir] = true
	}
	for _, a := range l.agents {
		if a.file != "" {
			byDir[a.dir] = append(byDir[a.dir], a)
		}
	}
	taken := map[string]bool{}
	for _, group := range byDir {
		for _, a := range group {
			taken[a.dir] = true
		}
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		group := byDir[dir]
		if len(group) < 2 && !fleetDirs[dir] {
			continue
		}
		for _, a := range group {
			m.moveAgent(a, taken)
		}
	}
}

var dirNameRe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// moveAgent plans a's file at <dir>/<name>/<agent file name>.
func (m *migrator) moveAgent(a *agentLoad, taken map[string]bool) {
	y := m.agentFile(a)
	name := ""
	if _, v, _ := mapGet(y.top(), "name"); v != nil && v.Kind == yaml.ScalarNode {
		name = v.Value
	}
	if name == "" || !agentNamePattern.MatchString(name) {
		name = strings.TrimSuffix(filepath.Base(a.file), filepath.Ext(a.file))
	}
	name = strings.Trim(dirNameRe.ReplaceAllString(name, "-"), "-.")
	if name == "" {
		name = "agent"
	}
	newDir := filepath.Join(a.dir, name)
	for i := 2; taken[newDir] || dirHasAgentFile(newDir); i++ {
		newDir = filepath.Join(a.dir, fmt.Sprintf("%s-%d", name, i))
	}
	taken[newDir] = true
	base := "agent.yaml"
	if strings.HasPrefix(filepath.Base(m.l.file), "herdctl") {
		base = "herdctl-agent.yaml"
	}
	newFile := filepath.Join(newDir, base)
	m.moved[a] = newFile
	y.path, y.create = newFile, true
	y.note("copied from %s, which stays as it was: each agent has a directory of its own for its .env and, by default, its workspace", a.file)

	// Relative paths in the file stay pointing where they did.
	if _, v, _ := mapGet(y.top(), "working_directory"); v != nil {
		var target *yaml.Node
		switch v.Kind {
		case yaml.ScalarNode:
			target = v
		case yaml.MappingNode:
			_, target, _ = mapGet(v, "root")
		}
		if target != nil && target.Value != "" && !filepath.IsAbs(target.Value) && !strings.HasPrefix(target.Value, "~") {
			if rel, err := filepath.Rel(newDir, filepath.Join(a.dir, target.Value)); err == nil {
				y.note("working_directory %s rewritten as %s (the same directory, from the new place)", target.Value, rel)
				target.Value = rel
			}
		}
	} else if !m.workspaceSetOutside(a) {
		m.plan.Notes = append(m.plan.Notes, fmt.Sprintf("agent %s now works in %s instead of %s (agents never share a workspace); move any files it keeps there",
			name, newDir, a.dir))
	}
	// The fleet file names the new file.
	fy := m.files[a.level.file]
	if ref := seqItem(fy.top(), "agents", a.index); ref != nil {
		if _, pv, _ := mapGet(ref, "path"); pv != nil {
			rel, err := filepath.Rel(a.level.dir, newFile)
			if err != nil {
				rel = newFile
			} else if !strings.HasPrefix(rel, "..") {
				rel = "./" + filepath.ToSlash(rel)
			}
			fy.note("agents[%d].path: %s → %s", a.index, pv.Value, rel)
			pv.Value, pv.Style = rel, 0
		}
	}
}

// workspaceSetOutside reports whether a's working_directory comes from the
// fleet file (defaults or overrides), so that moving its file does not
// move its workspace.
func (m *migrator) workspaceSetOutside(a *agentLoad) bool {
	if a.level.doc.has(fmt.Sprintf("agents[%d].overrides.working_directory", a.index)) {
		return true
	}
	for _, s := range a.level.defSources {
		if s.d.has(s.prefix + ".working_directory") {
			return true
		}
	}
	return false
}

func dirHasAgentFile(dir string) bool {
	for _, n := range AgentFileNames {
		if exists(filepath.Join(dir, n)) {
			return true
		}
	}
	return false
}

// moveDangerousOptions moves the options an agent file may not set to the
// fleet file's overrides for that agent.
func (m *migrator) moveDangerousOptions() {
	for _, a := range m.l.agents {
		if a.file == "" {
			continue
		}
		y := m.agentFile(a)
		fy := m.files[a.level.file]
		ref := seqItem(fy.top(), "agents", a.index)
		if ref == nil {
			continue
		}
		if _, v, _ := mapGet(y.top(), "permission_mode"); v != nil && v.Value == "bypassPermissions" {
			deleteKey(y.top(), "permission_mode")
			y.note("permission_mode: bypassPermissions moved to the fleet file's agents[].overrides (an agent may not skip approvals from a file it could be tricked into editing)")
			ov := ensureMap(ref, "overrides")
			if _, have, _ := mapGet(ov, "permission_mode"); have == nil {
				setScalar(ov, "permission_mode", "bypassPermissions", "!!str")
				fy.note("agents[%d].overrides.permission_mode: bypassPermissions, from %s", a.index, a.file)
			}
		}
		if _, d, _ := mapGet(y.top(), "docker"); d != nil {
			if _, v, _ := mapGet(d, "enabled"); v != nil && v.Value == "false" {
				deleteKey(d, "enabled")
				if len(d.Content) == 0 {
					deleteKey(y.top(), "docker")
				}
				y.note("docker.enabled: false moved to the fleet file's agents[].overrides (an agent may not turn its own sandbox off)")
				dv := ensureMap(ensureMap(ref, "overrides"), "docker")
				if _, have, _ := mapGet(dv, "enabled"); have == nil {
					setScalar(dv, "enabled", "false", "!!bool")
					fy.note("agents[%d].overrides.docker.enabled: false, from %s (the agent runs without isolation, as in herdctl)", a.index, a.file)
				}
			}
		}
	}
}

// dropUnsafe drops what the first load refused as unsafe: a
// working_directory that holds herdbot's or another agent's files, and
// docker options that would undo the hardening without the opt-in.
func (m *migrator) dropUnsafe() {
	for _, p := range m.l.ps.list {
		var why string
		switch {
		case strings.HasSuffix(p.Field, "working_directory") && strings.Contains(p.Message, "an agent's workspace may not") &&
			!strings.Contains(p.Message, "this is the agent's own directory"):
			why = "it would give the agent " + strings.SplitN(p.Message, ";", 2)[0] + "; the agent works in its own directory instead. To keep a shared checkout, clone it for this agent alone and point working_directory there"
		case strings.Contains(p.Message, "undoes the container hardening"):
			why = strings.SplitN(p.Message, ", which", 2)[0] + ", which would undo the container hardening. To keep it, set docker.dangerous_host_config: true under this agent's agents[].overrides in the fleet file"
		default:
			continue
		}
		y, ok := m.files[p.File]
		if !ok {
			continue
		}
		parent, key := nodeParent(y.top(), p.Field)
		if parent == nil {
			continue
		}
		k, v, _ := mapGet(parent, key)
		if v == nil {
			continue
		}
		shown := v.Value
		if v.Kind != yaml.ScalarNode {
			shown = "…"
		}
		comment := fmt.Sprintf("herdbot migrate dropped %s: %s (%s)", p.Field, shown, why)
		deleteKey(parent, key)
		_ = k
		addHeadComment(y.top(), comment)
		y.note("dropped %s: %s", p.Field, why)
	}
}

var varRefRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// copyVariables copies into each agent's .env the variables its file reads
// from the fleet .env (or, for a moved agent, from its old directory's
// .env).
func (m *migrator) copyVariables() {
	l := m.l
	for _, a := range l.agents {
		if a.file == "" {
			continue
		}
		y := m.agentFile(a)
		envFile := filepath.Join(filepath.Dir(y.path), EnvFileName)
		names := map[string]bool{}
		var walk func(n *yaml.Node, key, p string)
		walk = func(n *yaml.Node, key, p string) {
			if hcIgnoredAt(hcAgentFile, p) {
				return // herdbot does not read it
			}
			switch n.Kind {
			case yaml.ScalarNode:
				for _, mm := range varRefRe.FindAllStringSubmatch(n.Value, -1) {
					names[mm[1]] = true
				}
				if strings.HasSuffix(key, "_env") && isVarName(n.Value) {
					names[n.Value] = true
				}
			case yaml.MappingNode:
				for i := 0; i+1 < len(n.Content); i += 2 {
					walk(n.Content[i+1], n.Content[i].Value, joinPath(p, n.Content[i].Value))
				}
				if key == "slack" {
					for k, def := range map[string]string{"bot_token_env": "SLACK_BOT_TOKEN", "app_token_env": "SLACK_APP_TOKEN"} {
						if _, v, _ := mapGet(n, k); v == nil {
							names[def] = true
						}
					}
				}
			default:
				for i, c := range n.Content {
					walk(c, key, fmt.Sprintf("%s[%d]", p, i))
				}
			}
		}
		walk(y.top(), "", "")
		have := a.env
		if y.create {
			have = readEnvQuietly(envFile)
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		sort.Strings(sorted)
		for _, n := range sorted {
			if _, ok := have[n]; ok {
				continue
			}
			if l.modelCredential(n) {
				m.plan.Notes = append(m.plan.Notes, fmt.Sprintf("%s reads %s, the model credential, which herdbot never gives an agent: use another variable there", y.path, n))
				continue
			}
			v, ok := a.env[n]
			if !ok {
				v, ok = l.env[n]
			}
			if !ok {
				if _, inProc := l.procEnv(n); inProc {
					m.plan.Notes = append(m.plan.Notes, fmt.Sprintf("%s reads %s from herdbot's environment: set it in %s", y.path, n, envFile))
				}
				continue
			}
			if m.envAdds[envFile] == nil {
				m.envAdds[envFile] = map[string]string{}
			}
			m.envAdds[envFile][n] = v
			m.envFrom[envFile] = y.path
		}
	}
}

func readEnvQuietly(path string) map[string]string {
	b, err := readFile(path)
	if err != nil {
		return map[string]string{}
	}
	vars, _ := parseDotenv(string(b))
	return vars
}

// annotate puts each warning of the first load above the field it is
// about, unless a "herdbot:" comment is there already.
func (m *migrator) annotate() {
	for _, w := range m.l.warnings {
		switch {
		case w.Field == "", strings.Contains(w.Message, " comes from "), strings.Contains(w.Message, "herdctl's old name"):
			continue
		}
		y, ok := m.files[w.File]
		if !ok {
			continue
		}
		parent, key := nodeParent(y.top(), w.Field)
		if parent == nil {
			continue
		}
		k, _, _ := mapGet(parent, key)
		if k == nil || strings.Contains(k.HeadComment, "herdbot:") {
			continue
		}
		k.HeadComment = strings.TrimSpace(k.HeadComment + "\n# herdbot: " + strings.Join(strings.Fields(w.Message), " "))
		y.note("noted at %s: %s", w.Field, truncate(w.Message, 90))
	}
}

// finish turns the edits into FileChanges.
func (m *migrator) finish() error {
	for _, path := range m.order {
		y := m.files[path]
		if len(y.reasons) == 0 {
			continue
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(y.doc); err != nil {
			return fmt.Errorf("%s: %w", y.path, err)
		}
		enc.Close()
		ch := FileChange{Path: y.path, Create: y.create, Reasons: y.reasons, content: buf.Bytes(), mode: 0o644}
		if !y.create {
			ch.orig = y.orig
			if st, err := os.Stat(y.path); err == nil {
				ch.mode = st.Mode().Perm()
			}
		}
		m.plan.Changes = append(m.plan.Changes, ch)
	}
	envs := make([]string, 0, len(m.envAdds))
	for p := range m.envAdds {
		envs = append(envs, p)
	}
	sort.Strings(envs)
	for _, p := range envs {
		adds := m.envAdds[p]
		keys := make([]string, 0, len(adds))
		for k := range adds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		ch := FileChange{Path: p, mode: 0o600}
		if orig, err := os.ReadFile(p); err == nil {
			ch.orig = orig
			b.Write(orig)
			if len(orig) > 0 && orig[len(orig)-1] != '\n' {
				b.WriteByte('\n')
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			ch.Create = true
		} else {
			return err
		}
		fmt.Fprintf(&b, "# Copied by herdbot migrate from the fleet .env: the variables %s reads.\n", filepath.Base(m.envFrom[p]))
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s\n", k, quoteEnv(adds[k]))
		}
		ch.content = []byte(b.String())
		ch.Reasons = []string{fmt.Sprintf("%s %s (mode 0600; values not shown)", map[bool]string{true: "new, with", false: "adds"}[ch.Create], strings.Join(keys, ", "))}
		m.plan.Changes = append(m.plan.Changes, ch)
	}
	return nil
}

// quoteEnv writes a value so that parseDotenv reads it back unchanged.
func quoteEnv(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t#'\"\\\n\r$") {
		return v
	}
	if !strings.Contains(v, "'") {
		return "'" + v + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "$", `\$`)
	return `"` + r.Replace(v) + `"`
}

// Print writes the plan: each file with what changes in it, then the notes.
func (m *Migration) Print(w io.Writer) error {
	p := &printer{w: w}
	if len(m.Changes) == 0 {
		p.line("nothing to change in %s", m.Fleet)
	}
	for _, c := range m.Changes {
		verb := "update"
		if c.Create {
			verb = "create"
		}
		p.line("%s %s", verb, c.Path)
		for _, r := range c.Reasons {
			p.line("  - %s", r)
		}
	}
	if len(m.Notes) > 0 {
		p.line("")
		p.line("notes:")
		for _, n := range m.Notes {
			p.line("  - %s", n)
		}
	}
	return p.err
}

// Write applies the plan. Each file is written to a temporary file beside
// it and renamed into place; a replaced file is first kept as
// <file>.pre-migrate (.pre-migrate.1, … if that exists). A file to create
// that exists, or a file to replace that changed since it was read, stops
// Write before anything more is written. It returns the backups made.
func (m *Migration) Write() (backups []string, err error) {
	for _, c := range m.Changes {
		if c.Create {
			if exists(c.Path) {
				return backups, fmt.Errorf("%s exists now; not replacing it (run herdbot migrate again)", c.Path)
			}
			continue
		}
		cur, err := os.ReadFile(c.Path)
		if err != nil {
			return backups, err
		}
		if !bytes.Equal(cur, c.orig) {
			return backups, fmt.Errorf("%s changed since it was read; not replacing it (run herdbot migrate again)", c.Path)
		}
	}
	for _, c := range m.Changes {
		if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
			return backups, err
		}
		if !c.Create {
			b, err := backup(c.Path, c.orig, c.mode)
			if err != nil {
				return backups, err
			}
			backups = append(backups, b)
		}
		if err := writeAtomic(c.Path, c.content, c.mode, c.Create); err != nil {
			return backups, err
		}
	}
	return backups, nil
}

// backup keeps content as path.pre-migrate, or .pre-migrate.N, never
// replacing an existing backup.
func backup(path string, content []byte, mode fs.FileMode) (string, error) {
	for i := 0; ; i++ {
		name := path + ".pre-migrate"
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		_, werr := f.Write(content)
		if err := f.Sync(); werr == nil {
			werr = err
		}
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return "", fmt.Errorf("back up %s: %w", path, werr)
		}
		return name, nil
	}
}

// writeAtomic writes content to path through a temporary file in the same
// directory, synced and renamed into place. create: path must not exist.
func writeAtomic(path string, content []byte, mode fs.FileMode, create bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".migrate-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	_, werr := tmp.Write(content)
	if err := tmp.Chmod(mode); werr == nil {
		werr = err
	}
	if err := tmp.Sync(); werr == nil {
		werr = err
	}
	if err := tmp.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if create {
		// Link, not rename: fails instead of replacing a file that
		// appeared meanwhile.
		if err := os.Link(name, path); err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		return nil
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// YAML node helpers.

// mapGet returns key's key and value nodes in mapping n.
func mapGet(n *yaml.Node, key string) (k, v *yaml.Node, i int) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil, -1
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1], i
		}
	}
	return nil, nil, -1
}

// deleteKey removes key from mapping n.
func deleteKey(n *yaml.Node, key string) {
	if _, _, i := mapGet(n, key); i >= 0 {
		n.Content = append(n.Content[:i], n.Content[i+2:]...)
	}
}

// ensureMap returns the mapping under key in n, creating it.
func ensureMap(n *yaml.Node, key string) *yaml.Node {
	if _, v, _ := mapGet(n, key); v != nil {
		if v.Kind != yaml.MappingNode {
			*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// setScalar sets key in mapping n to value.
func setScalar(n *yaml.Node, key, value, tag string) {
	if _, v, _ := mapGet(n, key); v != nil {
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
		return
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value})
}

// seqItem returns item i of the sequence under key in mapping n.
func seqItem(n *yaml.Node, key string, i int) *yaml.Node {
	_, v, _ := mapGet(n, key)
	if v == nil || v.Kind != yaml.SequenceNode || i >= len(v.Content) {
		return nil
	}
	return v.Content[i]
}

// nodeParent returns the mapping holding the last key of field path p
// ("a.b[0].c": the mapping a.b[0], key c).
func nodeParent(root *yaml.Node, p string) (*yaml.Node, string) {
	cur := root
	parts := splitPath(p)
	for _, part := range parts[:len(parts)-1] {
		if part.index >= 0 {
			if cur.Kind != yaml.SequenceNode || part.index >= len(cur.Content) {
				return nil, ""
			}
			cur = cur.Content[part.index]
			continue
		}
		_, v, _ := mapGet(cur, part.key)
		if v == nil {
			return nil, ""
		}
		cur = v
	}
	last := parts[len(parts)-1]
	if last.index >= 0 || cur.Kind != yaml.MappingNode {
		return nil, ""
	}
	return cur, last.key
}

type pathPart struct {
	key   string
	index int // -1: a key
}

func splitPath(p string) []pathPart {
	var out []pathPart
	for _, seg := range strings.Split(p, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			out = append(out, pathPart{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, _ := strconv.Atoi(num)
			out = append(out, pathPart{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	if len(out) == 0 {
		out = append(out, pathPart{index: -1})
	}
	return out
}

// addHeadComment adds a comment line at the top of mapping n.
func addHeadComment(n *yaml.Node, text string) {
	if len(n.Content) == 0 {
		n.HeadComment = strings.TrimSpace(n.HeadComment + "\n# " + text)
		return
	}
	k := n.Content[0]
	k.HeadComment = strings.TrimSpace(k.HeadComment + "\n# " + text)
}
