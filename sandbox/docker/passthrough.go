package docker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
)

// appendKeys are list fields that the passthrough extends instead of
// replacing, so that adding a seccomp profile or a bind keeps ours.
var appendKeys = map[string]bool{
	"CapDrop": true, "SecurityOpt": true, "Binds": true, "Mounts": true,
	"ExtraHosts": true, "Dns": true, "DnsSearch": true, "DnsOptions": true,
}

var (
	hostConfigKeysOnce sync.Once
	hostConfigKeys     map[string]string // normalised name -> JSON name
)

// normKey folds "cpu_shares", "CpuShares" and "cpushares" together.
func normKey(k string) string {
	return strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(k, "_", ""), "-", ""))
}

func jsonFieldNames(t reflect.Type, into map[string]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("json"); ok {
			n := strings.Split(tag, ",")[0]
			if n == "-" {
				continue
			}
			if n != "" {
				name = n
			}
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if _, tagged := f.Tag.Lookup("json"); !tagged {
				jsonFieldNames(f.Type, into)
				continue
			}
		}
		into[normKey(name)] = name
		into[normKey(f.Name)] = name
	}
}

// mergePassthrough returns base with the fleet's host_config passthrough
// merged on top. Keys are the Docker API's HostConfig field names; case,
// '_' and '-' are ignored ("cpu_shares" = "CpuShares"). Objects merge key by
// key; the lists in appendKeys are extended; other values replace. An
// unknown key is an error naming it.
func mergePassthrough(base *container.HostConfig, pass map[string]any) (*container.HostConfig, error) {
	if len(pass) == 0 {
		return base, nil
	}
	hostConfigKeysOnce.Do(func() {
		hostConfigKeys = make(map[string]string)
		jsonFieldNames(reflect.TypeFor[container.HostConfig](), hostConfigKeys)
	})
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, fmt.Errorf("host_config: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("host_config: %w", err)
	}
	keys := make([]string, 0, len(pass))
	setKeys := make(map[string]bool, len(pass))
	for k := range pass {
		keys = append(keys, k)
		setKeys[normKey(k)] = true
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, ok := hostConfigKeys[normKey(k)]
		if !ok {
			return nil, fmt.Errorf("host_config: unknown field %q", k)
		}
		// Round-trip the value through JSON so YAML-decoded values
		// (map[string]any, int) look like JSON-decoded ones.
		v, err := jsonValue(pass[k])
		if err != nil {
			return nil, fmt.Errorf("host_config.%s: %w", name, err)
		}
		m[name] = mergeValue(m[name], v, appendKeys[name])
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("host_config: %w", err)
	}
	var hc container.HostConfig
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&hc); err != nil {
		return nil, fmt.Errorf("host_config: %w", err)
	}
	if setKeys["memory"] && !setKeys["memoryswap"] {
		hc.MemorySwap = hc.Memory // keep "no swap" when only the limit changes
	}
	return &hc, nil
}

func jsonValue(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(raw, &out)
	return out, err
}

func mergeValue(old, v any, appendList bool) any {
	switch nv := v.(type) {
	case map[string]any:
		om, ok := old.(map[string]any)
		if !ok {
			return nv
		}
		merged := make(map[string]any, len(om)+len(nv))
		for k, x := range om {
			merged[k] = x
		}
		for k, x := range nv {
			merged[k] = mergeValue(om[k], x, false)
		}
		return merged
	case []any:
		if ol, ok := old.([]any); ok && appendList {
			return append(append([]any{}, ol...), nv...)
		}
		return nv
	default:
		return v
	}
}
