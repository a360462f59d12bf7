package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/herdbot/herdbot/internal/statedir"
	"github.com/herdbot/herdbot/sandbox/docker"
)

// checkSameNamedFleets reports Docker resources of other herdbot
// installations whose fleet has this fleet's name. herdbot tells
// installations apart by the id in its state dir, so they are never
// touched; but they look alike in `docker ps`, and resources an older
// herdbot made (before installation ids) are nobody's to clean up.
func (d *doctor) checkSameNamedFleets(ctx context.Context, eng *engineClient) {
	if eng == nil {
		return
	}
	own, err := statedir.ReadInstallationID(d.cfg.StateDir)
	if err != nil {
		d.report(statusWarn, "installation id: %v", err)
	}
	found := map[string]*fleetResources{} // by installation id ("" = none)
	for _, kind := range []string{"containers", "networks"} {
		items, err := eng.labelled(ctx, kind, docker.LabelFleet+"="+d.cfg.Name)
		if err != nil {
			d.report(statusWarn, "other installations: list %s: %v", kind, err)
			return
		}
		for _, labels := range items {
			id := labels[docker.LabelInstallation]
			if id == own && own != "" {
				continue
			}
			r := found[id]
			if r == nil {
				r = &fleetResources{}
				found[id] = r
			}
			if kind == "containers" {
				r.containers++
			} else {
				r.networks++
			}
		}
	}
	if len(found) == 0 {
		d.report(statusOK, "other installations: no other herdbot on this engine has a fleet named %q", d.cfg.Name)
		return
	}
	ids := make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := found[id]
		if id == "" {
			d.report(statusWarn, "other installations: %d container(s) and %d network(s) labelled fleet %q carry no installation id: an older herdbot made them and no cleanup removes them; when no older herdbot runs, remove them (docker ps -a --filter label=%s=%s; docker network ls --filter label=%s=%s)",
				r.containers, r.networks, d.cfg.Name, docker.LabelFleet, d.cfg.Name, docker.LabelFleet, d.cfg.Name)
			continue
		}
		d.report(statusWarn, "other installations: another herdbot installation (%s) runs a fleet named %q on this engine (%d container(s), %d network(s)); herdbot leaves them alone, but a distinct fleet.name tells them apart in `docker ps`",
			id, d.cfg.Name, r.containers, r.networks)
	}
}

type fleetResources struct{ containers, networks int }

// labelled lists the labels of the containers (all, running or not) or
// networks carrying label (key=value).
func (e *engineClient) labelled(ctx context.Context, kind, label string) ([]map[string]string, error) {
	f, _ := json.Marshal(map[string][]string{"label": {label}})
	q := url.Values{"filters": {string(f)}}
	if kind == "containers" {
		q.Set("all", "1")
		kind = "containers/json"
	}
	code, _, b, err := e.get(ctx, "/"+kind+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /%s: HTTP %d", strings.SplitN(kind, "/", 2)[0], code)
	}
	var items []struct {
		Labels map[string]string `json:"Labels"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("GET /%s: %w", kind, err)
	}
	out := make([]map[string]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.Labels)
	}
	return out, nil
}
