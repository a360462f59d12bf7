package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// cliImageFormat versions the layout BuildCLIImage produces; bump it when
// the layout changes so existing images are rebuilt.
const cliImageFormat = "2"

// ManagedSettingsPath is where the Claude Code CLI reads managed (policy)
// settings on Linux: /etc/claude-code (not configurable), plus drop-ins in
// managed-settings.d beside it. Managed settings apply whatever
// --setting-sources says. In the agent images the directory and the file
// belong to root and the container's root file system is read-only, so
// the agent can neither change the file nor add a drop-in.
const ManagedSettingsPath = "/etc/claude-code/managed-settings.json"

// ManagedSettings is the managed settings file of the agent images (this
// image and deploy/agent/managed-settings.json, kept equal by a test).
// allowManagedHooksOnly: no hook runs unless managed settings define it
// (none do), whatever settings, plugin, subagent or skill file the agent
// writes. It holds nothing more on purpose:
//   - allowManagedPermissionRulesOnly would also drop herdbot's
//     --allowedTools (measured on 2.1.330); agent-written permission rules
//     are kept out by --setting-sources= instead (agents/claude.Command);
//   - disableBypassPermissionsMode would also forbid the
//     bypassPermissions mode a fleet file may choose; agents/claude.Command
//     passes it per run (--settings) for every other mode.
//
// The CLI silently ignores a managed settings file that fails validation,
// so a test checks that this one takes effect.
const ManagedSettings = `{
  "allowManagedHooksOnly": true
}
`

// cliPasswd and cliGroup give the image a non-root "agent" user (uid 1000)
// for tools that look the user up; containers run with a numeric uid.
const (
	cliPasswd = "root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:1000:1000:agent:/home/agent:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	cliGroup  = "root:x:0:\nagent:x:1000:\nnogroup:x:65534:\n"
)

// cliFile is one host file copied into the image.
type cliFile struct {
	dest string // absolute path in the image
	src  string // host path (symbolic links followed)
	mode int64
}

// BuildCLIImage builds a local agent image, FROM scratch, holding the real
// Claude Code CLI: the native claudeBin (a symbolic link such as
// .tools/node_modules/.bin/claude is resolved) with the shared libraries it
// needs, /bin/bash and its libraries (the CLI's Bash tool), a static busybox
// for sh-style tools (ls, cat, touch, grep…), /etc/passwd and /etc/group
// with user agent (1000), the host's CA certificates, and the managed
// settings file ManagedSettings at ManagedSettingsPath (root's, mode 0444,
// read-only like the rest of the root file system). No registry is
// used. The image is tagged tag (default DefaultAgentImage) and labelled
// with a hash of its content; when an image with that tag and hash exists,
// nothing is rebuilt.
func (b *Backend) BuildCLIImage(ctx context.Context, tag, claudeBin string) error {
	if tag == "" {
		tag = DefaultAgentImage
	}
	files, links, err := cliImageFiles(claudeBin)
	if err != nil {
		return fmt.Errorf("agent image: %w", err)
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/agent\nUSER 1000:1000\nWORKDIR /workspace\n"
	sum, err := cliContentHash(files, links, dockerfile)
	if err != nil {
		return fmt.Errorf("agent image: %w", err)
	}
	labels, ok, err := b.imageLabels(ctx, tag)
	if err != nil {
		return fmt.Errorf("agent image: %w", err)
	}
	if ok && labels[LabelContent] == sum {
		b.log.Info("agent image up to date", "image", tag)
		return nil
	}
	start := time.Now()
	lbl := map[string]string{LabelManaged: "1", LabelRole: roleAgentImage, LabelContent: sum, LabelInstallation: b.cfg.Installation}
	err = b.buildImage(ctx, tag, lbl, func(tw *tar.Writer) error {
		if err := tarFile(tw, "Dockerfile", 0o644, []byte(dockerfile)); err != nil {
			return err
		}
		for _, d := range []struct {
			name string
			mode int64
		}{{"rootfs", 0o755}, {"rootfs/etc", 0o755}, {"rootfs" + path.Dir(ManagedSettingsPath), 0o755}, {"rootfs/tmp", 0o1777},
			{"rootfs/home", 0o755}, {"rootfs/home/agent", 0o700}, {"rootfs/workspace", 0o755}} {
			if err := tarDir(tw, d.name, d.mode, 0, 0); err != nil {
				return err
			}
		}
		if err := tarFile(tw, "rootfs/etc/passwd", 0o644, []byte(cliPasswd)); err != nil {
			return err
		}
		if err := tarFile(tw, "rootfs/etc/group", 0o644, []byte(cliGroup)); err != nil {
			return err
		}
		if err := tarFile(tw, "rootfs"+ManagedSettingsPath, 0o444, []byte(ManagedSettings)); err != nil {
			return err
		}
		for _, f := range files {
			if err := tarCopy(tw, "rootfs"+f.dest, f.src, f.mode); err != nil {
				return err
			}
		}
		for _, l := range links {
			if err := tarSymlink(tw, "rootfs"+l[0], l[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent image: %w", err)
	}
	b.log.Info("agent image built", "image", tag, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// cliImageFiles lists the host files and the symbolic links
// ([image path, target]) of the agent image.
func cliImageFiles(claudeBin string) ([]cliFile, [][2]string, error) {
	if claudeBin == "" {
		return nil, nil, fmt.Errorf("no Claude Code CLI given (run `make tools`)")
	}
	claude, err := filepath.EvalSymlinks(claudeBin)
	if err != nil {
		return nil, nil, fmt.Errorf("claude CLI: %w", err)
	}
	bash, err := filepath.EvalSymlinks("/bin/bash")
	if err != nil {
		return nil, nil, fmt.Errorf("bash: %w", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return nil, nil, fmt.Errorf("busybox (Debian package busybox-static): %w", err)
	}
	if interp, _, err := elfDeps(busybox); err != nil || interp != "" {
		return nil, nil, fmt.Errorf("busybox %s must be the static build (Debian package busybox-static)", busybox)
	}
	files := map[string]cliFile{
		"/usr/local/bin/claude":              {src: claude, mode: 0o555},
		"/bin/bash":                          {src: bash, mode: 0o555},
		"/bin/busybox":                       {src: busybox, mode: 0o555},
		"/etc/ssl/certs/ca-certificates.crt": {src: "/etc/ssl/certs/ca-certificates.crt", mode: 0o444},
	}
	for _, exe := range []string{claude, bash} {
		interp, libs, err := elfDeps(exe)
		if err != nil {
			return nil, nil, err
		}
		if interp != "" {
			files[interp] = cliFile{src: interp, mode: 0o555}
		}
		for _, l := range libs {
			files[l] = cliFile{src: l, mode: 0o555}
		}
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("busybox --list: %w", err)
	}
	links := [][2]string{{"/bin/sh", "bash"}}
	for _, applet := range strings.Fields(string(out)) {
		dest := "/usr/bin/" + applet
		if _, clash := files[dest]; clash || applet == "sh" || applet == "bash" || strings.ContainsAny(applet, "/[") {
			continue
		}
		links = append(links, [2]string{dest, "/bin/busybox"})
	}
	list := make([]cliFile, 0, len(files))
	for dest, f := range files {
		f.dest = path.Clean(dest)
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].dest < list[j].dest })
	return list, links, nil
}

// cliContentHash hashes everything that goes into the image.
func cliContentHash(files []cliFile, links [][2]string, dockerfile string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "format %s\n%s\n%s%s%s", cliImageFormat, dockerfile, cliPasswd, cliGroup, ManagedSettings)
	for _, f := range files {
		fmt.Fprintf(h, "file %s %o\n", f.dest, f.mode)
		fh, err := os.Open(f.src)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", f.src, err)
		}
	}
	for _, l := range links {
		fmt.Fprintf(h, "link %s %s\n", l[0], l[1])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
