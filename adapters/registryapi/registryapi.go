// Package registryapi is the registry's wire contract: the JSON bodies of
// its native HTTP API (the v1 API the seed's clients speak), the error body
// {"detail": "..."}, and conversions between them and domain/catalog
// values. The server (adapters/ginapi) and the client
// (adapters/registryclient) both use it, so each shape is written once.
//
// Field names and order are part of the contract: the seed's clients read
// these bytes, so a change here is a change of the v1 API.
package registryapi

import (
	"net/url"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// Paths of the API, relative to the registry's base URL.
const (
	PathRegister  = "/register"
	PathHeartbeat = "/heartbeat"
	PathServices  = "/services"
	PathHealth    = "/health"
)

// ServicePath is /services/{name}, escaped.
func ServicePath(service string) string { return PathServices + "/" + url.PathEscape(service) }

// InstancePath is /services/{name}/{instance_id}, escaped.
func InstancePath(service, instanceID string) string {
	return ServicePath(service) + "/" + url.PathEscape(instanceID)
}

// RegisterRequest is POST /register. An absent field and an empty one are
// the same mistake, and catalog.Registration.Normalize names it.
type RegisterRequest struct {
	ServiceName    string            `json:"service_name"`
	InstanceID     string            `json:"instance_id,omitempty"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	// Tags are optional (Vértice; Consul's service tags): absent when
	// none, so a v1 body is byte for byte what it was.
	Tags []string `json:"tags,omitempty"`
}

// NewRegisterRequest is r as sent on the wire; no metadata is sent as {}.
func NewRegisterRequest(r catalog.Registration) RegisterRequest {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return RegisterRequest{ServiceName: r.ServiceName, InstanceID: r.InstanceID, Endpoint: r.Endpoint,
		HealthEndpoint: r.HealthEndpoint, Metadata: md, Tags: r.Tags}
}

// Registration is the request as the domain sees it.
func (b RegisterRequest) Registration() catalog.Registration {
	return catalog.Registration{ServiceName: b.ServiceName, InstanceID: b.InstanceID, Endpoint: b.Endpoint,
		HealthEndpoint: b.HealthEndpoint, Metadata: b.Metadata, Tags: b.Tags}
}

// HeartbeatRequest is POST /heartbeat; without an instance ID it renews the
// service's instances as the seed's name-only heartbeat did.
type HeartbeatRequest struct {
	ServiceName string `json:"service_name"`
	InstanceID  string `json:"instance_id,omitempty"`
}

// Instance is the seed's object, field for field: registered_at and
// last_heartbeat are Unix seconds with fractions, ttl_remaining whole
// seconds. InstanceID appears only where the seed had no object to stay
// compatible with (register, heartbeat and the instances array).
type Instance struct {
	ServiceName    string            `json:"service_name"`
	InstanceID     string            `json:"instance_id,omitempty"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint"`
	Metadata       map[string]string `json:"metadata"`
	RegisteredAt   float64           `json:"registered_at"`
	LastHeartbeat  float64           `json:"last_heartbeat"`
	TTLRemaining   int               `json:"ttl_remaining"`
	// Tags appear only when the instance has some (Vértice), so the
	// seed's object keeps its exact bytes.
	Tags []string `json:"tags,omitempty"`
}

// NewInstance renders in as seen at now; withID adds instance_id.
func NewInstance(in catalog.Instance, now time.Time, withID bool) Instance {
	md := in.Metadata
	if md == nil {
		md = map[string]string{}
	}
	out := Instance{
		ServiceName:    in.ServiceName,
		Endpoint:       in.Endpoint,
		HealthEndpoint: in.HealthEndpoint,
		Metadata:       md,
		RegisteredAt:   UnixSeconds(in.RegisteredAt),
		LastHeartbeat:  UnixSeconds(in.LastHeartbeat),
		TTLRemaining:   in.TTLRemaining(now),
		Tags:           in.Tags,
	}
	if withID {
		out.InstanceID = in.InstanceID
	}
	return out
}

// Catalog converts one object. Without an instance_id (the seed's single
// object) the ID is the endpoint's host:port, the registry's own default.
// TTL holds ttl_remaining as read: the registry, not the reader, judges
// expiry.
func (j Instance) Catalog() catalog.Instance {
	id := j.InstanceID
	if id == "" {
		if u, err := url.Parse(j.Endpoint); err == nil {
			id = u.Host
		}
	}
	return catalog.Instance{
		Registration: catalog.Registration{
			ServiceName: j.ServiceName, InstanceID: id, Endpoint: j.Endpoint,
			HealthEndpoint: j.HealthEndpoint, Metadata: j.Metadata, Tags: j.Tags,
		},
		RegisteredAt:  FromUnixSeconds(j.RegisteredAt),
		LastHeartbeat: FromUnixSeconds(j.LastHeartbeat),
		TTL:           time.Duration(j.TTLRemaining) * time.Second,
	}
}

// Lookup is GET /services/{name}: the preferred instance as the seed's
// object, plus every instance when there is more than one or when the one
// was registered with its own instance ID (the seed's clients never send
// one, so they always read the seed's object; a client that names its
// instances learns their IDs).
type Lookup struct {
	Instance
	Instances []Instance `json:"instances,omitempty"`
}

// NewLookup renders a non-empty list whose first instance is the preferred
// one.
func NewLookup(list []catalog.Instance, now time.Time) Lookup {
	out := Lookup{Instance: NewInstance(list[0], now, false)}
	if len(list) > 1 || !list[0].DefaultID {
		out.Instances = make([]Instance, 0, len(list))
		for _, in := range list {
			out.Instances = append(out.Instances, NewInstance(in, now, true))
		}
	}
	return out
}

// Catalog returns every instance the answer lists: the instances array when
// present, else the single object (the seed's registry never sends the
// array). Objects without an endpoint are left out; the result may be empty.
func (l Lookup) Catalog() []catalog.Instance {
	list := l.Instances
	if len(list) == 0 {
		list = []Instance{l.Instance}
	}
	out := make([]catalog.Instance, 0, len(list))
	for _, j := range list {
		if j.Endpoint != "" {
			out = append(out, j.Catalog())
		}
	}
	return out
}

// Deregistered is the answer to DELETE /services/{name}[/{instance_id}].
type Deregistered struct {
	Removed     int    `json:"removed"`
	ServiceName string `json:"service_name"`
}

// Error is the body of every error answer, as in the seed (FastAPI's).
type Error struct {
	Detail string `json:"detail"`
}

// UnixSeconds is t as Unix seconds with fractions.
func UnixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// FromUnixSeconds is the inverse of UnixSeconds; 0 or less is the zero time.
func FromUnixSeconds(s float64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s*1e9))
}
