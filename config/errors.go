package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	File    string // the file the problem is in; empty when it concerns no single file
	Line    int    // 1-based line in File where YAML gives it; 0 when unknown
	Field   string // field path such as "agents[0].overrides.docker.image"; empty for whole-file problems
	Message string // what is wrong and, where possible, how to fix it
}

// String formats the problem as "file:line: field: message", leaving out
// the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Errors is the error Load returns when the configuration is invalid. It
// holds every problem found, not only the first.
type Errors struct {
	Problems []Problem
	// Warnings found before loading failed, formatted like Fleet.Warnings.
	Warnings []string
}

// Error prints one problem per line, ordered by file and line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems while loading.
type problems struct {
	list []Problem
}

func (ps *problems) add(file string, line int, field, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns nil or an *Errors with the problems sorted and deduplicated,
// every known secret value masked.
func (ps *problems) err(secrets []string) *Errors {
	if len(ps.list) == 0 {
		return nil
	}
	list := make([]Problem, 0, len(ps.list))
	seen := make(map[Problem]bool, len(ps.list))
	for _, p := range ps.list {
		p.Message = redact(p.Message, secrets)
		if seen[p] {
			continue
		}
		seen[p] = true
		list = append(list, p)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].File != list[j].File {
			return list[i].File < list[j].File
		}
		return list[i].Line < list[j].Line
	})
	return &Errors{Problems: list}
}

// redact replaces every occurrence of a secret in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}
