package diskuse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The tree is made once per test binary (making 100,000 files takes far
// longer than walking them) and removed by TestMain.
var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

func makeTree() (string, error) {
	dir, err := os.MkdirTemp("", "diskuse-bench-")
	if err != nil {
		return "", err
	}
	for d := range 100 {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(sub, 0o755); err != nil {
			return dir, err
		}
		for f := range 1000 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", f)), []byte("x"), 0o644); err != nil {
				return dir, err
			}
		}
	}
	return dir, nil
}

// BenchmarkMeasure walks a tree of 100,000 small files (100 directories of
// 1,000) with a warm cache, as herdbot re-measures a workspace during a
// run. Figures are in docs/benchmarks/disk.md.
func BenchmarkMeasure100kFiles(b *testing.B) {
	benchOnce.Do(func() { benchDir, benchErr = makeTree() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	dir := benchDir
	var u Usage
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if u, err = Measure(context.Background(), []string{dir}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	if u.Entries != 100_101 {
		b.Fatalf("entries %d, want 100101", u.Entries)
	}
	b.ReportMetric(float64(u.Entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkFree is the watcher's poll between walks: one statfs per root.
func BenchmarkFree(b *testing.B) {
	roots := []string{b.TempDir(), b.TempDir()}
	for b.Loop() {
		if _, err := Free(roots); err != nil {
			b.Fatal(err)
		}
	}
}
