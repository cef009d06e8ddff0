package ginapi

import (
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// registerBody is POST /register. Pointers are not needed: an absent field
// and an empty one are the same mistake, and Normalize names it.
type registerBody struct {
	ServiceName    string            `json:"service_name"`
	InstanceID     string            `json:"instance_id"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint"`
	Metadata       map[string]string `json:"metadata"`
}

func (b registerBody) registration() catalog.Registration {
	return catalog.Registration{
		ServiceName:    b.ServiceName,
		InstanceID:     b.InstanceID,
		Endpoint:       b.Endpoint,
		HealthEndpoint: b.HealthEndpoint,
		Metadata:       b.Metadata,
	}
}

type heartbeatBody struct {
	ServiceName string `json:"service_name"`
	InstanceID  string `json:"instance_id"`
}

// instanceJSON is the seed's object, field for field; InstanceID appears only
// where the seed had no object to stay compatible with (register, heartbeat
// and the instances array).
type instanceJSON struct {
	ServiceName    string            `json:"service_name"`
	InstanceID     string            `json:"instance_id,omitempty"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint"`
	Metadata       map[string]string `json:"metadata"`
	RegisteredAt   float64           `json:"registered_at"`
	LastHeartbeat  float64           `json:"last_heartbeat"`
	TTLRemaining   int               `json:"ttl_remaining"`
}

// lookupJSON is GET /services/{name}: the preferred instance as the seed's
// object, plus every instance when there is more than one.
type lookupJSON struct {
	instanceJSON
	Instances []instanceJSON `json:"instances,omitempty"`
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func render(in catalog.Instance, now time.Time, withID bool) instanceJSON {
	md := in.Metadata
	if md == nil {
		md = map[string]string{}
	}
	out := instanceJSON{
		ServiceName:    in.ServiceName,
		Endpoint:       in.Endpoint,
		HealthEndpoint: in.HealthEndpoint,
		Metadata:       md,
		RegisteredAt:   unixSeconds(in.RegisteredAt),
		LastHeartbeat:  unixSeconds(in.LastHeartbeat),
		TTLRemaining:   in.TTLRemaining(now),
	}
	if withID {
		out.InstanceID = in.InstanceID
	}
	return out
}

func renderLookup(list []catalog.Instance, now time.Time) lookupJSON {
	out := lookupJSON{instanceJSON: render(list[0], now, false)}
	if len(list) > 1 {
		for _, in := range list {
			out.Instances = append(out.Instances, render(in, now, true))
		}
	}
	return out
}
