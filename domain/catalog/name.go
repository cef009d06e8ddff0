// Package catalog holds the registry's values: service names, instances and
// their leases. It does no I/O and never reads the clock: time is an argument.
package catalog

import (
	"fmt"
	"strings"
)

// MaxNameLen bounds a service name so it fits in URLs, Redis keys and
// Prometheus label values without surprises.
const MaxNameLen = 64

// ValidateServiceName checks the v1 API's naming rule: lowercase letters,
// digits and underscores (osint_service). The error lists every rule the
// name broke, so OSINT-Service is told about uppercase letters and hyphens.
func ValidateServiceName(name string) error {
	if name == "" {
		return &FieldError{Field: "service_name", Rule: "is required"}
	}
	broken := brokenNameRules(name)
	if len(name) > MaxNameLen {
		broken = append(broken, fmt.Sprintf("must be at most %d characters", MaxNameLen))
	}
	if len(broken) == 0 {
		return nil
	}
	return &FieldError{
		Field: "service_name",
		Rule: fmt.Sprintf("%q %s; use lowercase letters, digits and underscores (e.g. osint_service)",
			name, strings.Join(broken, ", ")),
	}
}

func brokenNameRules(name string) []string {
	var upper, hyphen, dot, space, other bool
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
		case r >= 'A' && r <= 'Z':
			upper = true
		case r == '-':
			hyphen = true
		case r == '.':
			dot = true
		case r == ' ' || r == '\t' || r == '\n':
			space = true
		default:
			other = true
		}
	}
	var broken []string
	add := func(cond bool, rule string) {
		if cond {
			broken = append(broken, rule)
		}
	}
	add(upper, "must not contain uppercase letters")
	add(hyphen, "must not contain hyphens")
	add(dot, "must not contain dots")
	add(space, "must not contain spaces")
	add(other, "must not contain other characters")
	return broken
}
