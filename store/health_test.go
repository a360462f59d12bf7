package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/store"
)

func TestWriteProbe(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(t.Context(), filepath.Join(dir, "h.db"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Health(t.Context()); err != nil {
		t.Fatalf("Health of a writable store: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".herdbot-probe-") {
			t.Errorf("probe file %s left behind", e.Name())
		}
	}
	db.Close()
	if err := db.WriteProbe(t.Context()); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("WriteProbe on a closed store: %v", err)
	}
}
