package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/vertice/vertice/domain/catalog"
)

// clean makes text a registrant chose safe for a terminal: control
// characters (escape sequences that could rewrite the screen, tabs that
// would break the columns, newlines) are shown as \xNN, not sent.
func clean(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// table writes aligned columns; call flush when done.
func table(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(header) > 0 {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	return tw
}

func row(w io.Writer, cells ...string) { fmt.Fprintln(w, strings.Join(cells, "\t")) }

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ago is how long before now t was, for people: "12s ago", "3m ago".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return short(now.Sub(t)) + " ago"
}

// short is a duration to the unit that matters: 42s, 3m, 5h, 2d.
func short(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// status is an instance's health as the registry judges it.
func status(in catalog.Instance) string {
	if in.Healthy() {
		return "healthy"
	}
	return "unhealthy"
}

// metadataText is k=v pairs in key order.
func metadataText(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(md))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		parts = append(parts, clean(k)+"="+clean(md[k]))
	}
	return strings.Join(parts, " ")
}

// changedAt is when a service last changed, from its index.
func changedAt(index uint64) (time.Time, bool) { return catalog.IndexTime(index) }

// sortByID orders a service's instances by ID, so output is stable.
func sortByID(list []catalog.Instance) {
	slices.SortFunc(list, func(a, b catalog.Instance) int { return strings.Compare(a.InstanceID, b.InstanceID) })
}
