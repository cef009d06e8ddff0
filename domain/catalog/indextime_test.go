package catalog_test

import (
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

func TestIndexTimeReadsNextIndex(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	idx := catalog.NextIndex(7, at)
	got, ok := catalog.IndexTime(idx)
	if !ok || !got.Equal(at) {
		t.Fatalf("IndexTime(%d) = %v %v, want %v", idx, got, ok, at)
	}
	// Two changes in one microsecond: the second reads a microsecond late.
	got, ok = catalog.IndexTime(catalog.NextIndex(idx, at))
	if !ok || got.Sub(at) != time.Microsecond {
		t.Fatalf("second change: %v %v", got, ok)
	}
	for _, old := range []uint64{1, 42, 1 << 54} {
		if _, ok := catalog.IndexTime(old); ok {
			t.Errorf("IndexTime(%d) should not read as a time", old)
		}
	}
}
