package ginapi

import (
	"time"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
)

// The request and response bodies are the registry's wire contract
// (adapters/registryapi), shared with the client; these names keep the
// handlers short.
type (
	registerBody  = registryapi.RegisterRequest
	heartbeatBody = registryapi.HeartbeatRequest
)

func render(in catalog.Instance, now time.Time, withID bool) registryapi.Instance {
	return registryapi.NewInstance(in, now, withID)
}

func renderLookup(list []catalog.Instance, now time.Time) registryapi.Lookup {
	return registryapi.NewLookup(list, now)
}
