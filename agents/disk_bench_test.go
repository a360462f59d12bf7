package agents

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDiskCheck is the disk check before a run: with a reading still
// fresh (the hot path of a chat message after a quiet walk) and with a walk
// of a small workspace (1,000 files).
func BenchmarkDiskCheck(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fresh bool
	}{{"Fresh", true}, {"Walk1kFiles", false}} {
		b.Run(tc.name, func(b *testing.B) {
			r := newDiskRig(b, 1<<30, false, DiskOptions{})
			for i := range 1000 {
				fill(b, filepath.Join(r.ws, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%d", i)), 100)
			}
			r.check(b)
			for b.Loop() {
				if !tc.fresh {
					r.clk.Advance(time.Hour)
				}
				if de := r.check(b); de != nil {
					b.Fatal(de)
				}
			}
		})
	}
}
