// Package envconf reads configuration from environment variables with the
// v1 API's conventions: durations as whole seconds ("30") or Go durations
// ("500ms", "2m"). Errors name the variable and the rule it broke.
package envconf

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lookup reads one variable; tests pass a map's lookup instead of os.LookupEnv.
type Lookup func(name string) (string, bool)

// OS reads the process environment.
var OS Lookup = os.LookupEnv

// Map turns a map into a Lookup, for tests.
func Map(m map[string]string) Lookup {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// Reader collects errors so a config can report every bad variable at once.
type Reader struct {
	lookup Lookup
	errs   []error
}

// New returns a Reader over lookup.
func New(lookup Lookup) *Reader { return &Reader{lookup: lookup} }

// Err joins every error seen so far, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Fail records an error about name.
func (r *Reader) Fail(name, rule string) { r.errs = append(r.errs, fmt.Errorf("%s: %s", name, rule)) }

// String returns the trimmed value of name, or def when unset or empty.
func (r *Reader) String(name, def string) string {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return def
	}
	return v
}

// Required returns name's value, recording an error when it is unset.
func (r *Reader) Required(name, example string) string {
	v := r.String(name, "")
	if v == "" {
		r.Fail(name, "is required (e.g. "+name+"="+example+")")
	}
	return v
}

// Duration parses name as whole seconds or a Go duration; it must be > 0.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil || d <= 0 {
		r.Fail(name, fmt.Sprintf("%q must be a positive duration: whole seconds (30) or a Go duration (500ms, 2m)", v))
		return def
	}
	return d
}

// Int parses name as an integer within [min, max].
func (r *Reader) Int(name string, def, min, max int) int {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.Fail(name, fmt.Sprintf("%q must be a whole number from %d to %d", v, min, max))
		return def
	}
	return n
}

// Bool parses name as true or false (also 1/0, t/f, as strconv.ParseBool).
func (r *Reader) Bool(name string, def bool) bool {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.Fail(name, fmt.Sprintf("%q must be true or false", v))
		return def
	}
	return b
}

// List splits name on commas, dropping empty items.
func (r *Reader) List(name string) []string {
	var out []string
	for _, item := range strings.Split(r.String(name, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// ParseDuration accepts whole seconds ("30", as v1 writes them) or
// anything time.ParseDuration accepts.
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}
