package registryclient

import (
	"context"
	"net/http"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// Register POSTs /register; 200 and 201 both mean stored.
func (c *Client) Register(ctx context.Context, r catalog.Registration) error {
	return c.send(ctx, http.MethodPost, registryapi.PathRegister, registryapi.NewRegisterRequest(r))
}

// Heartbeat POSTs /heartbeat; an error wrapping ports.ErrNotFound means the
// registry no longer knows the instance.
func (c *Client) Heartbeat(ctx context.Context, service, instanceID string) error {
	return c.send(ctx, http.MethodPost, registryapi.PathHeartbeat,
		registryapi.HeartbeatRequest{ServiceName: service, InstanceID: instanceID})
}

// Deregister DELETEs /services/{service}/{instanceID}, or every instance
// of the service (/services/{service}) when instanceID is empty.
func (c *Client) Deregister(ctx context.Context, service, instanceID string) error {
	path := registryapi.InstancePath(service, instanceID)
	if instanceID == "" {
		path = registryapi.ServicePath(service)
	}
	return c.send(ctx, http.MethodDelete, path, nil)
}

var _ ports.RegistryClient = (*Client)(nil)
