package config

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/herdbot/herdbot/internal/pathguard"
	"github.com/herdbot/herdbot/internal/sshdial"
)

// engineNamePattern is what an engine name may be: it is in log lines,
// metrics labels and `herdbot doctor` output.
var engineNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// resolveEngines reads the top fleet file's engines: into f.Engines. Cert,
// key and known_hosts paths are made absolute (relative to the fleet file); checkEngines, once
// the agents are known, refuses one inside an agent's reach.
func (l *loader) resolveEngines(f *Fleet) {
	if len(l.spec.Engines) == 0 {
		return
	}
	names := make([]string, 0, len(l.spec.Engines))
	for n := range l.spec.Engines {
		names = append(names, n)
	}
	sort.Strings(names)
	f.Engines = make(map[string]Engine, len(names))
	l.badEngines = map[string]bool{}
	for _, n := range names {
		l.badEngines[n] = true // until it resolves
		s := l.spec.Engines[n]
		p := "engines." + n
		at := func(q string) int {
			if l.doc.has(q) {
				return l.doc.line(q)
			}
			return l.doc.line(p)
		}
		if !engineNamePattern.MatchString(n) || n == LocalEngine {
			l.ps.add(l.file, at(p), p, "engine name %q: want letters, digits, '_', '.', '-' (at most 63), and not %q (the local engine's name)", truncate(n, 60), LocalEngine)
			continue
		}
		e := Engine{Name: n, Host: s.Host}
		u, err := url.Parse(s.Host)
		switch {
		case s.Host == "":
			l.ps.add(l.file, at(p), p+".host", "required: tcp://HOST:PORT (with tls), ssh://USER@HOST[:PORT] (with ssh) or unix:///path/to/docker.sock")
			continue
		case err != nil:
			l.ps.add(l.file, at(p+".host"), p+".host", "%q is not an address: %v", truncate(s.Host, 80), err)
			continue
		case u.Scheme == "ssh":
			if _, _, err := sshdial.ParseHost(s.Host); err != nil {
				l.ps.add(l.file, at(p+".host"), p+".host", "%v", err)
				continue
			}
			if s.TLS != (engineTLSSpec{}) {
				l.ps.add(l.file, at(p+".tls"), p+".tls", "tls is for tcp:// engines; an ssh:// engine is reached with ssh: {key, known_hosts}")
				continue
			}
			if s.SSH.Key == "" || s.SSH.KnownHosts == "" {
				l.ps.add(l.file, at(p+".ssh"), p+".ssh", "an ssh:// engine needs ssh: {key, known_hosts}: herdbot logs in with the key and always checks the machine's host key against known_hosts")
				continue
			}
			e.Socket = s.SSH.Socket
			if e.Socket == "" {
				e.Socket = sshdial.DefaultSocket
			}
			if !filepath.IsAbs(e.Socket) || filepath.Clean(e.Socket) != e.Socket {
				fp := p + ".ssh.socket"
				l.ps.add(l.file, at(fp), fp, "%q: want the engine socket's absolute path on that machine", truncate(s.SSH.Socket, 80))
				continue
			}
		case u.Scheme == "tcp":
			if u.Host == "" || u.Port() == "" {
				l.ps.add(l.file, at(p+".host"), p+".host", "%q: want tcp://HOST:PORT", truncate(s.Host, 80))
				continue
			}
			if s.TLS.CA == "" || s.TLS.Cert == "" || s.TLS.Key == "" {
				l.ps.add(l.file, at(p+".tls"), p+".tls", "a tcp:// engine needs tls: {ca, cert, key}: an engine API without client certificates gives root on its machine to anyone who reaches the port")
				continue
			}
		case u.Scheme == "unix":
			if u.Path == "" || !filepath.IsAbs(u.Path) {
				l.ps.add(l.file, at(p+".host"), p+".host", "%q: want unix:///absolute/path", truncate(s.Host, 80))
				continue
			}
			if s.TLS != (engineTLSSpec{}) {
				l.ps.add(l.file, at(p+".tls"), p+".tls", "tls is for tcp:// engines; a unix socket is protected by its file mode")
				continue
			}
		default:
			l.ps.add(l.file, at(p+".host"), p+".host", "%q: want tcp://HOST:PORT, ssh://USER@HOST[:PORT] or unix:///path", truncate(s.Host, 80))
			continue
		}
		if u.Scheme != "ssh" && s.SSH != (engineSSHSpec{}) {
			l.ps.add(l.file, at(p+".ssh"), p+".ssh", "ssh is for ssh:// engines")
			continue
		}
		ok := true
		for _, c := range []struct {
			field   string
			in      string
			dst     *string
			private bool
		}{{"tls.ca", s.TLS.CA, &e.CA, false}, {"tls.cert", s.TLS.Cert, &e.Cert, false}, {"tls.key", s.TLS.Key, &e.Key, true},
			{"ssh.key", s.SSH.Key, &e.SSHKey, true}, {"ssh.known_hosts", s.SSH.KnownHosts, &e.KnownHosts, false}} {
			if c.in == "" {
				continue
			}
			fp := p + "." + c.field
			path, err := expandHome(c.in, l.home)
			if err != nil {
				l.ps.add(l.file, at(fp), fp, "%v", err)
				ok = false
				continue
			}
			if !filepath.IsAbs(path) {
				path = filepath.Join(l.dir, path)
			}
			path = filepath.Clean(path)
			st, err := os.Stat(path)
			if err != nil {
				l.ps.add(l.file, at(fp), fp, "%s: %v", path, unwrapPathErr(err))
				ok = false
				continue
			}
			if !st.Mode().IsRegular() {
				l.ps.add(l.file, at(fp), fp, "%s is not a regular file", path)
				ok = false
				continue
			}
			if c.private || c.field == "ssh.known_hosts" {
				// Only the operator may have written it (known_hosts
				// decides which machine herdbot trusts).
				if err := checkOperatorFile(path, l.euid); err != nil {
					l.ps.add(l.file, at(fp), fp, "%v", err)
					ok = false
					continue
				}
			}
			if c.private {
				if st.Mode().Perm()&0o077 != 0 {
					l.ps.add(l.file, at(fp), fp, "%s can be read by group or others (mode %04o): chmod 600 %s", path, st.Mode().Perm(), path)
					ok = false
					continue
				}
			}
			*c.dst = path
		}
		if ok {
			f.Engines[n] = e
			delete(l.badEngines, n)
		}
	}
}

// checkEngines checks every agent's docker.engine against f.Engines and
// that no engine's TLS or SSH file lies where an agent can write (or read) it.
func (l *loader) checkEngines(f *Fleet) {
	for _, a := range f.Agents {
		r := l.resFor(a)
		switch e := a.Docker.Engine; {
		case e == "" || e == LocalEngine:
			a.Docker.Engine = ""
		case !a.Docker.Enabled:
			r.errf("docker.engine", "engine %q places the agent's container, but docker.enabled is false (the agent runs natively, here)", truncate(e, 60))
		default:
			if _, ok := f.Engines[e]; !ok && !l.badEngines[e] {
				known := make([]string, 0, len(f.Engines))
				for n := range f.Engines {
					known = append(known, n)
				}
				sort.Strings(known)
				r.errf("docker.engine", "unknown engine %q: name one under the fleet file's engines (%v) or %s", truncate(e, 60), known, LocalEngine)
			}
		}
	}
	names := make([]string, 0, len(f.Engines))
	for n := range f.Engines {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := f.Engines[n]
		for _, c := range [][2]string{{"tls.ca", e.CA}, {"tls.cert", e.Cert}, {"tls.key", e.Key}, {"ssh.key", e.SSHKey}, {"ssh.known_hosts", e.KnownHosts}} {
			field, path := c[0], c[1]
			if path == "" {
				continue
			}
			real := pathguard.Resolve(path)
			for _, a := range f.Agents {
				for _, d := range []struct{ dir, what string }{{a.Dir, "directory"}, {a.WorkingDirectory, "workspace"}} {
					if d.dir == "" {
						continue
					}
					if pathguard.Within(real, pathguard.Resolve(d.dir)) {
						fp := "engines." + n + "." + field
						l.ps.add(l.file, l.doc.line(fp), fp, "%s is inside agent %s's %s (%s): the agent could read or replace it; keep engine certificates and keys beside the fleet file", path, a.Name, d.what, d.dir)
					}
				}
			}
		}
	}
}
