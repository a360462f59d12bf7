package config

import (
	"testing"
)

func BenchmarkLoadExample(b *testing.B) {
	for b.Loop() {
		if _, err := load(exampleDir, mapLookup(nil)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadHerdctl(b *testing.B) {
	for b.Loop() {
		if _, err := load("testdata/herdctl", mapLookup(nil)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInterpolate(b *testing.B) {
	env := mapLookup(map[string]string{"A": "value-a", "B": "value-b"})
	s := "prefix ${A} middle ${B:-default} ${C:-fallback} suffix"
	for b.Loop() {
		interpolate(s, env)
	}
}
