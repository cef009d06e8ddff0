package catalog

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what one registration may carry; they keep a single client from
// filling the store, and keep what it stores harmless where it is shown
// again (Prometheus labels, logs, URLs built from it).
const (
	MaxMetadataKeys     = 64
	MaxMetadataKeyLen   = 64
	MaxMetadataValueLen = 1024
	MaxInstanceIDLen    = 128
	MaxEndpointLen      = 512
	MaxHealthPathLen    = 256
	DefaultHealthPath   = "/health"
	// DefaultMaxMetadataBytes bounds the keys and values of one
	// instance's metadata together (Limits.MetadataBytes).
	DefaultMaxMetadataBytes = 4096
	// Tags (Consul's service tags: Traefik routing rules, Prometheus
	// selectors) have bounds of their own: how many, how long each, and
	// how many bytes all together.
	MaxTags     = 64
	MaxTagLen   = 512
	MaxTagBytes = 4096
)

// Limits are the bounds a registry may set itself; zero fields mean the
// defaults.
type Limits struct {
	// MetadataBytes bounds the sum of the lengths of one instance's
	// metadata keys and values (DefaultMaxMetadataBytes).
	MetadataBytes int
}

func (l Limits) metadataBytes() int {
	if l.MetadataBytes <= 0 {
		return DefaultMaxMetadataBytes
	}
	return l.MetadataBytes
}

// Metadata keys with a meaning to Vértice. StatusKey carries the sidecar's
// latest health probe, so routers can skip a live but sick instance;
// VersionKey the instance's version, which the gateway can split traffic by.
const (
	StatusKey       = "status"
	VersionKey      = "version"
	StatusHealthy   = "healthy"
	StatusUnhealthy = "unhealthy"
	// StatusWarning is Consul's "warning" (a TTL check updated with warn):
	// sick but still routable, as Consul's DNS and Healthy both take it.
	StatusWarning = "warning"
)

// Registration is what a client asks to register. InstanceID may be empty:
// it then defaults to the endpoint's host:port, so one process = one instance.
type Registration struct {
	ServiceName    string
	InstanceID     string
	Endpoint       string
	HealthEndpoint string
	Metadata       map[string]string
	// Tags are free-form labels in the client's order (Consul's service
	// tags); nil when none. See validateTags for the rules.
	Tags []string
	// DefaultID is true when the client gave no instance ID and
	// InstanceID was derived from the endpoint (the v1 API's clients,
	// which know no instance IDs). Only such instances are renewed by a
	// heartbeat that names the service alone: an instance registered with
	// its own ID is renewed by its own heartbeats only, so one sidecar
	// cannot keep another's crashed instance alive. Normalize sets it.
	DefaultID bool
}

// Normalize fills defaults and validates with the default Limits. The
// returned copy is safe to store.
func (r Registration) Normalize() (Registration, error) { return r.NormalizeWithin(Limits{}) }

// NormalizeWithin fills defaults and validates within l. The returned
// copy is safe to store.
func (r Registration) NormalizeWithin(l Limits) (Registration, error) {
	if err := ValidateServiceName(r.ServiceName); err != nil {
		return r, err
	}
	host, err := validateEndpoint(r.Endpoint)
	if err != nil {
		return r, err
	}
	if r.InstanceID == "" {
		r.InstanceID, r.DefaultID = host, true
	}
	if err := ValidateInstanceID(r.InstanceID); err != nil {
		return r, err
	}
	if r.HealthEndpoint == "" {
		r.HealthEndpoint = DefaultHealthPath
	}
	if err := validateHealthPath(r.HealthEndpoint); err != nil {
		return r, err
	}
	if err := validateMetadata(r.Metadata, l); err != nil {
		return r, err
	}
	r.Metadata = copyMetadata(r.Metadata)
	if err := validateTags(r.Tags); err != nil {
		return r, err
	}
	r.Tags = copyTags(r.Tags)
	return r, nil
}

// validateEndpoint accepts an absolute http(s) URL to a host, with an
// optional port and base path, and nothing a client could smuggle
// through it: no credentials (they would come back in every lookup, in
// service discovery and in logs), no query or fragment (a base URL has
// none; the gateway appends its own), no spaces or control characters.
func validateEndpoint(endpoint string) (host string, err error) {
	fail := func(rule string) (string, error) { return "", &FieldError{Field: "endpoint", Rule: rule} }
	switch {
	case endpoint == "":
		return fail("is required")
	case len(endpoint) > MaxEndpointLen:
		return fail(fmt.Sprintf("must be at most %d characters", MaxEndpointLen))
	case hasSpaceOrControl(endpoint):
		return fail("must not contain spaces or control characters")
	}
	u, perr := url.Parse(endpoint)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fail(fmt.Sprintf("%q must be an absolute http(s) URL such as http://vertice-nmap:8047", endpoint))
	}
	switch {
	case u.User != nil:
		return fail("must not contain credentials (user:password@); the registry hands endpoints to anyone who asks")
	case u.RawQuery != "" || u.ForceQuery:
		return fail("must not contain a query (?...): it is a base URL")
	case u.Fragment != "" || strings.Contains(endpoint, "#"):
		return fail("must not contain a fragment (#...): it is a base URL")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fail(fmt.Sprintf("port %q must be a number from 1 to 65535", p))
		}
	}
	return u.Host, nil
}

// validateHealthPath accepts a path on the endpoint's host: it starts
// with one slash (two would name another host), and holds printable
// ASCII without spaces (a CR or LF would split the probe's request).
func validateHealthPath(path string) error {
	fail := func(rule string) error { return &FieldError{Field: "health_endpoint", Rule: rule} }
	switch {
	case !strings.HasPrefix(path, "/"):
		return fail("must be a path starting with /")
	case strings.HasPrefix(path, "//"):
		return fail("must be a path starting with a single / (// would name another host)")
	case len(path) > MaxHealthPathLen:
		return fail(fmt.Sprintf("must be at most %d characters", MaxHealthPathLen))
	case hasSpaceOrControl(path):
		return fail("must not contain spaces or control characters")
	case strings.Contains(path, "#"):
		return fail("must not contain a fragment (#...)")
	}
	if _, err := url.ParseRequestURI(path); err != nil {
		return fail(fmt.Sprintf("%q must be a valid URL path (%% must start an escape such as %%20)", path))
	}
	return nil
}

// hasSpaceOrControl reports an ASCII space or control character, or a
// byte outside ASCII (URLs carry those percent-encoded).
func hasSpaceOrControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return true
		}
	}
	return false
}

// ValidateInstanceID allows the characters of host:port and of common IDs.
func ValidateInstanceID(id string) error {
	if id == "" {
		return &FieldError{Field: "instance_id", Rule: "is required"}
	}
	if len(id) > MaxInstanceIDLen {
		return &FieldError{Field: "instance_id", Rule: fmt.Sprintf("must be at most %d characters", MaxInstanceIDLen)}
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return &FieldError{Field: "instance_id",
				Rule: fmt.Sprintf("%q may contain only letters, digits, '-', '_', '.' and ':'", id)}
		}
	}
	return nil
}

// MetadataKeyRule is the rule every metadata key follows, as the API
// documents it.
const MetadataKeyRule = "a letter or _ followed by letters, digits, '_', '.' or '-' " +
	"(at most 64 characters, not starting with __)"

func validateMetadata(md map[string]string, l Limits) error {
	if len(md) > MaxMetadataKeys {
		return &FieldError{Field: "metadata",
			Rule: fmt.Sprintf("has %d keys; at most %d are allowed", len(md), MaxMetadataKeys)}
	}
	var bad string // the first bad key in sorted order, so the answer is stable
	var badErr error
	total := 0
	for k, v := range md {
		total += len(k) + len(v)
		var err error
		if rule := metadataKeyProblem(k); rule != "" {
			err = &FieldError{Field: "metadata", Rule: fmt.Sprintf("key %q %s; use %s", k, rule, MetadataKeyRule)}
		} else if len(v) > MaxMetadataValueLen {
			err = &FieldError{Field: "metadata." + k, Rule: fmt.Sprintf("must be at most %d characters", MaxMetadataValueLen)}
		}
		if err != nil && (badErr == nil || k < bad) {
			bad, badErr = k, err
		}
	}
	if badErr != nil {
		return badErr
	}
	if limit := l.metadataBytes(); total > limit {
		return &FieldError{Field: "metadata",
			Rule: fmt.Sprintf("keys and values add up to %d bytes; at most %d are allowed per instance", total, limit)}
	}
	return nil
}

// metadataKeyProblem says which part of MetadataKeyRule key breaks, or
// "" when it follows it. Keys become Prometheus label names in service
// discovery (__meta_vertice_metadata_<key>), where a leading __ is
// reserved, so the rule is Prometheus's label charset plus '.' and '-'.
func metadataKeyProblem(key string) string {
	switch {
	case key == "":
		return "is empty"
	case len(key) > MaxMetadataKeyLen:
		return fmt.Sprintf("is longer than %d characters", MaxMetadataKeyLen)
	case strings.HasPrefix(key, "__"):
		return "starts with __, which Prometheus reserves"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		switch {
		case i == 0 && !letter:
			return "must start with a letter or _"
		case !letter && !(c >= '0' && c <= '9') && c != '.' && c != '-':
			return "has a character outside the allowed ones"
		}
	}
	return ""
}

// TagRule is the rule every tag follows, as the API documents it.
const TagRule = "a tag is 1 to 512 bytes of UTF-8 text without control characters (no tabs or newlines)"

// validateTags accepts what Consul clients put in tags (Traefik rules such
// as Host(`example.com`) && PathPrefix(`/api`) hold spaces, quotes and
// parentheses): any UTF-8 text but control characters, which would split
// log lines and label values where tags are shown again.
func validateTags(tags []string) error {
	if len(tags) > MaxTags {
		return &FieldError{Field: "tags", Rule: fmt.Sprintf("has %d tags; at most %d are allowed", len(tags), MaxTags)}
	}
	total := 0
	for i, tag := range tags {
		total += len(tag)
		if problem := tagProblem(tag); problem != "" {
			return &FieldError{Field: fmt.Sprintf("tags[%d]", i), Rule: fmt.Sprintf("%q %s; %s", tag, problem, TagRule)}
		}
	}
	if total > MaxTagBytes {
		return &FieldError{Field: "tags",
			Rule: fmt.Sprintf("add up to %d bytes; at most %d are allowed per instance", total, MaxTagBytes)}
	}
	return nil
}

func tagProblem(tag string) string {
	switch {
	case tag == "":
		return "is empty"
	case len(tag) > MaxTagLen:
		return fmt.Sprintf("is longer than %d bytes", MaxTagLen)
	case !utf8.ValidString(tag):
		return "is not valid UTF-8"
	case strings.IndexFunc(tag, unicode.IsControl) >= 0:
		return "holds a control character"
	}
	return ""
}

// copyTags keeps nil for no tags, so an instance without tags reads the
// same whether or not it went through a store.
func copyTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	return slices.Clone(tags)
}

func copyMetadata(md map[string]string) map[string]string {
	out := make(map[string]string, len(md))
	for k, v := range md {
		out[k] = v
	}
	return out
}

// Instance is one registered process of a service, with its lease.
type Instance struct {
	Registration
	RegisteredAt  time.Time
	LastHeartbeat time.Time
	TTL           time.Duration
}

// NewInstance starts a lease of ttl at now.
func NewInstance(r Registration, now time.Time, ttl time.Duration) Instance {
	return Instance{Registration: r, RegisteredAt: now, LastHeartbeat: now, TTL: ttl}
}

// Renewed returns the instance with its lease restarted at now.
func (i Instance) Renewed(now time.Time) Instance {
	i.LastHeartbeat = now
	return i
}

// ExpiresAt is when the lease ends without another heartbeat.
func (i Instance) ExpiresAt() time.Time { return i.LastHeartbeat.Add(i.TTL) }

// Expired reports whether the lease has ended at now.
func (i Instance) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt()) }

// TTLRemaining is the v1 API's ttl_remaining: whole seconds left, rounded to
// the nearest second as Redis's TTL command does, never negative.
func (i Instance) TTLRemaining(now time.Time) int {
	left := i.ExpiresAt().Sub(now)
	if left <= 0 {
		return 0
	}
	return int(math.Round(left.Seconds()))
}

// Healthy is false only when the instance's own status says unhealthy; an
// instance that reports nothing is presumed healthy, as in v1.
func (i Instance) Healthy() bool { return i.Metadata[StatusKey] != StatusUnhealthy }

// Version is the instance's metadata.version, "" when it reports none.
func (i Instance) Version() string { return i.Metadata[VersionKey] }
