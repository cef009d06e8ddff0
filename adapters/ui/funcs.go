package ui

import (
	"fmt"
	"html/template"
	"strconv"
	"time"
)

// funcs are the templates' helpers: formatting only, no escaping of their
// own (html/template escapes what they return).
var funcs = template.FuncMap{
	"clock": clock,
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ms":    func(d time.Duration) int64 { return d.Milliseconds() },
	"since": func(now, t time.Time) time.Duration { return max(now.Sub(t), 0) },
	"ago":   func(d time.Duration) string { return span(d) + " ago" },
	"span":  span,
	"secs":  func(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) },
	"count": count,
}

// clock is a time for people, in UTC so every replica and operator reads
// the same.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// span is a duration for people, to the second; app.js writes it the same
// way as it ticks.
func span(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + " s"
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%d h %d min", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%d d %d h", s/86400, s%86400/3600)
}

// count is "1 instance", "2 instances".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
