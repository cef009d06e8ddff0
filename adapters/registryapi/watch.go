package registryapi

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vertice/vertice/domain/catalog"
)

// Blocking reads and the change feed (docs/watch.md).
const (
	// IndexHeader carries the index of every read answer.
	IndexHeader = "X-Vertice-Index"
	// PathChanges is the change feed: GET ?index=N&wait=D[&service=…].
	PathChanges = "/v1/catalog/indexes"
)

// ParseIndex reads IndexHeader's value; 0 when absent or not a number.
func ParseIndex(v string) uint64 {
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// FormatIndex writes an index for IndexHeader (at least 1).
func FormatIndex(index uint64) string { return strconv.FormatUint(max(index, 1), 10) }

// Changes is the change feed's body: the live services that moved after
// the client's index (all when Complete) and those removed since, each with
// its index.
type Changes struct {
	Services map[string]uint64 `json:"services"`
	Removed  map[string]uint64 `json:"removed"`
	Complete bool              `json:"complete"`
}

// NewChanges renders ch (its Index goes in IndexHeader).
func NewChanges(ch catalog.Changes) Changes {
	return Changes{Services: indexMap(ch.Services), Removed: indexMap(ch.Removed), Complete: ch.Complete}
}

func indexMap(list []catalog.ServiceIndex) map[string]uint64 {
	m := make(map[string]uint64, len(list))
	for _, si := range list {
		m[si.Name] = si.Index
	}
	return m
}

// Catalog reads the body back, with the index from IndexHeader; services
// come sorted by name.
func (c Changes) Catalog(index uint64) catalog.Changes {
	return catalog.Changes{Index: index, Services: indexList(c.Services), Removed: indexList(c.Removed), Complete: c.Complete}
}

func indexList(m map[string]uint64) []catalog.ServiceIndex {
	out := make([]catalog.ServiceIndex, 0, len(m))
	for name, idx := range m {
		out = append(out, catalog.ServiceIndex{Name: name, Index: idx})
	}
	slices.SortFunc(out, func(a, b catalog.ServiceIndex) int { return strings.Compare(a.Name, b.Name) })
	return out
}
