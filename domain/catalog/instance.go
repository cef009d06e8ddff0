package catalog

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// Limits on what one registration may carry; they keep a single client from
// filling the store.
const (
	MaxMetadataKeys     = 64
	MaxMetadataKeyLen   = 128
	MaxMetadataValueLen = 1024
	MaxInstanceIDLen    = 128
	DefaultHealthPath   = "/health"
)

// Metadata keys with a meaning to Vértice. StatusKey carries the sidecar's
// latest health probe, so routers can skip a live but sick instance.
const (
	StatusKey       = "status"
	StatusHealthy   = "healthy"
	StatusUnhealthy = "unhealthy"
)

// Registration is what a client asks to register. InstanceID may be empty:
// it then defaults to the endpoint's host:port, so one process = one instance.
type Registration struct {
	ServiceName    string
	InstanceID     string
	Endpoint       string
	HealthEndpoint string
	Metadata       map[string]string
}

// Normalize fills defaults and validates. The returned copy is safe to store.
func (r Registration) Normalize() (Registration, error) {
	if err := ValidateServiceName(r.ServiceName); err != nil {
		return r, err
	}
	host, err := validateEndpoint(r.Endpoint)
	if err != nil {
		return r, err
	}
	if r.InstanceID == "" {
		r.InstanceID = host
	}
	if err := ValidateInstanceID(r.InstanceID); err != nil {
		return r, err
	}
	if r.HealthEndpoint == "" {
		r.HealthEndpoint = DefaultHealthPath
	}
	if !strings.HasPrefix(r.HealthEndpoint, "/") {
		return r, &FieldError{Field: "health_endpoint", Rule: "must be a path starting with /"}
	}
	if err := validateMetadata(r.Metadata); err != nil {
		return r, err
	}
	r.Metadata = copyMetadata(r.Metadata)
	return r, nil
}

func validateEndpoint(endpoint string) (host string, err error) {
	if endpoint == "" {
		return "", &FieldError{Field: "endpoint", Rule: "is required"}
	}
	u, perr := url.Parse(endpoint)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &FieldError{Field: "endpoint",
			Rule: fmt.Sprintf("%q must be an absolute http(s) URL such as http://vertice-nmap:8047", endpoint)}
	}
	return u.Host, nil
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

func validateMetadata(md map[string]string) error {
	if len(md) > MaxMetadataKeys {
		return &FieldError{Field: "metadata",
			Rule: fmt.Sprintf("has %d keys; at most %d are allowed", len(md), MaxMetadataKeys)}
	}
	for k, v := range md {
		if k == "" || len(k) > MaxMetadataKeyLen {
			return &FieldError{Field: "metadata",
				Rule: fmt.Sprintf("keys must be 1 to %d characters", MaxMetadataKeyLen)}
		}
		if len(v) > MaxMetadataValueLen {
			return &FieldError{Field: "metadata." + k,
				Rule: fmt.Sprintf("must be at most %d characters", MaxMetadataValueLen)}
		}
	}
	return nil
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
