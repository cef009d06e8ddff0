package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vertice/vertice/adapters/registryapi"
	"github.com/vertice/vertice/internal/serve/version"
)

// healthJSON is `health -o json`: /health's answer, the catalog's index and
// the registry asked.
type healthJSON struct {
	registryapi.Health
	Index    uint64 `json:"index,omitempty"`
	Registry string `json:"registry"`
}

// errDegraded makes `health` exit 1 on a degraded replica, so scripts can
// test it; the report is printed all the same.
var errDegraded = errors.New("the registry is degraded")

func (c *cli) healthCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Show a registry replica's health, backend, breaker, catalog index and version",
		Long: `Show the health of the registry replica REGISTRY_URL reaches (behind a load balancer, one of
them): healthy or degraded with the reason, its backend, the backend breaker's state, whether
change notifications keep its copy of the catalog exact, the catalog's index and its version.
Exits 1 when the replica is degraded.`,
		Args: args(0, 0),
		RunE: c.runs(func(ctx context.Context, _ []string) error {
			h, err := c.client.Health(ctx)
			if err != nil {
				return err
			}
			out := healthJSON{Health: h, Registry: c.registry}
			// The feed's index: the highest of any service. A v1 registry
			// has no feed; its health is shown without one.
			if feed, err := c.client.Changes(ctx, 0, 0); err == nil {
				out.Index = feed.Index
			}
			if c.output == "json" {
				err = printJSON(c.stdout, out)
			} else {
				err = c.printHealth(out)
			}
			if err == nil && !h.Healthy() {
				err = fmt.Errorf("%w: %s", errDegraded, h.Reason)
			}
			return err
		}),
	}
}

func (c *cli) printHealth(h healthJSON) error {
	tw := table(c.stdout)
	row(tw, "REGISTRY", clean(h.Registry))
	status := h.Status
	if h.Reason != "" {
		status += " (" + h.Reason + ")"
	}
	row(tw, "STATUS", clean(status))
	backend := h.Backend
	if h.Topology != "" {
		backend += " (" + h.Topology + ")"
	}
	row(tw, "BACKEND", clean(backend))
	for _, kv := range [][2]string{{"BREAKER", h.Breaker}, {"NOTIFICATIONS", h.Notifications}, {"VERSION", h.Version}} {
		if kv[1] != "" {
			row(tw, kv[0], clean(kv[1]))
		}
	}
	if h.Index != 0 {
		row(tw, "CATALOG INDEX", strconv.FormatUint(h.Index, 10))
	}
	return tw.Flush()
}

func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print this client's version, and the registry's when it answers",
		Args:  args(0, 0),
		RunE: c.runs(func(ctx context.Context, _ []string) error {
			fmt.Fprintln(c.stdout, "vertice", version.String())
			if h, err := c.client.Health(ctx); err == nil && h.Version != "" {
				fmt.Fprintln(c.stdout, "registry", clean(h.Version), "at", clean(c.registry))
			}
			return nil
		}),
	}
}
