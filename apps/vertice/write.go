package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vertice/vertice/domain/catalog"
)

// writeJSON is what a write prints with -o json.
type writeJSON struct {
	Action      string `json:"action"`
	ServiceName string `json:"service_name"`
	InstanceID  string `json:"instance_id,omitempty"`
	Endpoint    string `json:"endpoint,omitempty"`
}

func (c *cli) done(w writeJSON, text string) error {
	if c.output == "json" {
		return printJSON(c.stdout, w)
	}
	fmt.Fprintln(c.stdout, text)
	return nil
}

func (c *cli) registerCmd() *cobra.Command {
	var id, health string
	var meta []string
	cmd := &cobra.Command{
		Use:   "register NAME ENDPOINT",
		Short: "Register an instance of a service (one lease: renew it with heartbeat)",
		Long: `Register an instance of service NAME at ENDPOINT, an http(s) base URL. The lease lasts the
registry's TTL (60 s by default): renew it with 'vertice heartbeat', or the instance expires.
Without --id the instance ID is the endpoint's host:port.`,
		Example: "  vertice register my_service http://10.0.0.5:8080 --id my-1 --meta version=1.2.0 --meta zone=a",
		Args:    args(2, 2),
		RunE: c.runs(func(ctx context.Context, a []string) error {
			md, err := parseMeta(meta)
			if err != nil {
				return err
			}
			r := catalog.Registration{ServiceName: a[0], Endpoint: a[1], InstanceID: id, HealthEndpoint: health, Metadata: md}
			if err := c.client.Register(ctx, r); err != nil {
				return err
			}
			// The ID the registry gave when none was asked for.
			if n, err := r.Normalize(); err == nil {
				r.InstanceID = n.InstanceID
			}
			return c.done(writeJSON{Action: "registered", ServiceName: r.ServiceName, InstanceID: r.InstanceID, Endpoint: r.Endpoint},
				fmt.Sprintf("registered %s instance %s at %s", clean(r.ServiceName), clean(r.InstanceID), clean(r.Endpoint)))
		}),
	}
	cmd.Flags().StringVar(&id, "id", "", "instance ID (default: the endpoint's host:port)")
	cmd.Flags().StringVar(&health, "health", "", "health endpoint path on ENDPOINT (default /health)")
	cmd.Flags().StringArrayVarP(&meta, "meta", "m", nil, "metadata KEY=VALUE (repeatable)")
	return cmd
}

// parseMeta reads KEY=VALUE pairs; a value may itself hold '='.
func parseMeta(pairs []string) (map[string]string, error) {
	md := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("--meta %q: must be KEY=VALUE", p)
		}
		md[k] = v
	}
	return md, nil
}

func (c *cli) heartbeatCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "heartbeat NAME [INSTANCE_ID]",
		Short: "Renew an instance's lease",
		Long: `Renew the lease of instance INSTANCE_ID of service NAME. Without INSTANCE_ID it renews the
service's instances that were registered without an ID (as the v1 API's clients do).`,
		Example:           "  vertice heartbeat my_service my-1",
		Args:              args(1, 2),
		ValidArgsFunction: c.completeServices(2),
		RunE: c.runs(func(ctx context.Context, a []string) error {
			service, id := a[0], at(a, 1)
			if err := c.client.Heartbeat(ctx, service, id); err != nil {
				return err
			}
			return c.done(writeJSON{Action: "renewed", ServiceName: service, InstanceID: id},
				"renewed "+describe(service, id, "its instances registered without an ID"))
		}),
	}
}

func (c *cli) deregisterCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "deregister NAME [INSTANCE_ID]",
		Short:             "Remove an instance, or every instance of a service",
		Example:           "  vertice deregister my_service my-1\n  vertice deregister my_service",
		Args:              args(1, 2),
		ValidArgsFunction: c.completeServices(2),
		RunE: c.runs(func(ctx context.Context, a []string) error {
			service, id := a[0], at(a, 1)
			if err := c.client.Deregister(ctx, service, id); err != nil {
				return err
			}
			return c.done(writeJSON{Action: "deregistered", ServiceName: service, InstanceID: id},
				"deregistered "+describe(service, id, "every instance"))
		}),
	}
}

// at is a[i], or "" when there are fewer arguments.
func at(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

func describe(service, id, all string) string {
	if id == "" {
		return clean(service) + " (" + all + ")"
	}
	return clean(service) + " instance " + clean(id)
}
