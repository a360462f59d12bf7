package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/herdbot/herdbot/internal/control"
	"github.com/herdbot/herdbot/sandbox/docker"
)

// cmdWorkspace is `herdbot workspace ls|get AGENT [PATH]`: the files of an
// agent whose workspace is a volume on a remote engine, read through the
// running herdbot.
func cmdWorkspace(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("workspace", e, true)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 || (pos[0] != "ls" && pos[0] != "get") || (pos[0] == "get" && len(pos) != 3) {
		return errors.New("usage: herdbot workspace ls AGENT [PATH] | get AGENT PATH")
	}
	agent, p := pos[1], ""
	if len(pos) == 3 {
		p = pos[2]
	}
	c, err := dial(fs)
	if err != nil {
		return err
	}
	q := "/v1/workspace/" + url.PathEscape(agent) + "/" + pos[0] + "?path=" + url.QueryEscape(p)
	if pos[0] == "get" {
		_, err := c.Raw(ctx, q, e.stdout)
		return err
	}
	var ents []control.WorkspaceEntry
	if err := c.Call(ctx, "GET", q, nil, &ents); err != nil {
		return err
	}
	return list(e, fs, ents, "(empty)", "MODE\tSIZE\tMODIFIED\tNAME", func(en control.WorkspaceEntry) []string {
		name := en.Name
		if en.Link != "" {
			name += " -> " + en.Link
		}
		return []string{fmt.Sprint(en.Mode), strconv.FormatInt(en.Size, 10), stamp(en.ModTime), name}
	})
}

// workspaces serves `herdbot workspace` from the agents' engines: an
// agent on a remote engine has its workspace there; a local one's is a
// directory on this host, which the operator reads directly.
type workspaces struct {
	svc *service
}

func (w workspaces) backend(agent string) (*docker.Backend, error) {
	cfg := w.svc.cfgNow.Load()
	if cfg == nil {
		cfg = w.svc.cfg
	}
	a := cfg.Agent(agent)
	if a == nil {
		return nil, fmt.Errorf("no agent %q", agent)
	}
	if a.Docker.Engine == "" || !a.Docker.Enabled {
		return nil, fmt.Errorf("agent %s runs on this host: its workspace is %s", agent, a.WorkingDirectory)
	}
	b := w.svc.engines[a.Docker.Engine]
	if b == nil {
		return nil, fmt.Errorf("agent %s: engine %s is not in use (restart herdbot after adding it)", agent, a.Docker.Engine)
	}
	return b, nil
}

func (w workspaces) List(ctx context.Context, agent, dir string) ([]control.WorkspaceEntry, error) {
	b, err := w.backend(agent)
	if err != nil {
		return nil, err
	}
	ents, err := b.WorkspaceList(ctx, agent, dir)
	if err != nil {
		return nil, err
	}
	out := make([]control.WorkspaceEntry, len(ents))
	for i, en := range ents {
		out[i] = control.WorkspaceEntry{Name: en.Name, Size: en.Size, Mode: en.Mode.String(), ModTime: en.ModTime, Link: en.LinkTarget}
	}
	return out, nil
}

func (w workspaces) Get(ctx context.Context, agent, p string, out io.Writer, max int64) (int64, error) {
	b, err := w.backend(agent)
	if err != nil {
		return 0, err
	}
	return b.WorkspaceGet(ctx, agent, p, out, max)
}
