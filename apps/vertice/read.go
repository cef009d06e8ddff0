package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vertice/vertice/domain/catalog"
)

// serviceJSON is one service in `services -o json`.
type serviceJSON struct {
	Name      string     `json:"name"`
	Instances int        `json:"instances"`
	Healthy   int        `json:"healthy"`
	Unhealthy int        `json:"unhealthy"`
	Index     uint64     `json:"index"`
	Changed   *time.Time `json:"changed,omitempty"`
}

func newServiceJSON(snap catalog.Service) serviceJSON {
	s := serviceJSON{Name: snap.Name, Instances: len(snap.Instances), Index: snap.Index}
	for _, in := range snap.Instances {
		if in.Healthy() {
			s.Healthy++
		} else {
			s.Unhealthy++
		}
	}
	if t, ok := changedAt(snap.Index); ok {
		s.Changed = &t
	}
	return s
}

func (c *cli) servicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "services",
		Aliases: []string{"ls", "list"},
		Short:   "List the registered services with their instance counts",
		Example: "  vertice services\n  vertice services -o json | jq -r '.[].name'",
		Args:    args(0, 0),
		RunE: c.runs(func(ctx context.Context, _ []string) error {
			names, err := c.client.List(ctx)
			if err != nil {
				return err
			}
			out := make([]serviceJSON, 0, len(names))
			for _, name := range names {
				snap, err := c.client.LookupAt(ctx, name, 0, 0)
				if err != nil {
					return err
				}
				if snap.Found() { // not gone between the list and the lookup
					out = append(out, newServiceJSON(snap))
				}
			}
			if c.output == "json" {
				return printJSON(c.stdout, out)
			}
			if len(out) == 0 {
				fmt.Fprintln(c.stdout, "No services are registered.")
				return nil
			}
			now := time.Now()
			tw := table(c.stdout, "SERVICE", "INSTANCES", "HEALTHY", "UNHEALTHY", "LAST CHANGE")
			for _, s := range out {
				changed := "-"
				if s.Changed != nil {
					changed = ago(now, *s.Changed)
				}
				row(tw, clean(s.Name), strconv.Itoa(s.Instances), strconv.Itoa(s.Healthy), strconv.Itoa(s.Unhealthy), changed)
			}
			return tw.Flush()
		}),
	}
}

// instanceJSON is one instance in `get -o json`.
type instanceJSON struct {
	InstanceID     string            `json:"instance_id"`
	Endpoint       string            `json:"endpoint"`
	HealthEndpoint string            `json:"health_endpoint"`
	Status         string            `json:"status"`
	Metadata       map[string]string `json:"metadata"`
	RegisteredAt   time.Time         `json:"registered_at"`
	LastHeartbeat  time.Time         `json:"last_heartbeat"`
	TTLRemaining   int               `json:"ttl_remaining"`
}

type lookupJSON struct {
	ServiceName string         `json:"service_name"`
	Index       uint64         `json:"index"`
	Instances   []instanceJSON `json:"instances"`
}

func newInstanceJSON(in catalog.Instance) instanceJSON {
	md := in.Metadata
	if md == nil {
		md = map[string]string{}
	}
	// The client reads ttl_remaining into TTL: the registry judged the
	// lease when it answered.
	return instanceJSON{InstanceID: in.InstanceID, Endpoint: in.Endpoint, HealthEndpoint: in.HealthEndpoint,
		Status: status(in), Metadata: md, RegisteredAt: in.RegisteredAt.UTC(), LastHeartbeat: in.LastHeartbeat.UTC(),
		TTLRemaining: int(in.TTL / time.Second)}
}

func (c *cli) getCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "get NAME",
		Short:             "Show a service's instances: endpoint, status, lease, metadata",
		Example:           "  vertice get demo_service\n  vertice get demo_service -o json",
		Args:              args(1, 1),
		ValidArgsFunction: c.completeServices(1),
		RunE: c.runs(func(ctx context.Context, a []string) error {
			snap, err := c.client.LookupAt(ctx, a[0], 0, 0)
			if err != nil {
				return err
			}
			if !snap.Found() {
				return fmt.Errorf("service %q is not registered (never registered, deregistered, or its last lease ended)", a[0])
			}
			sortByID(snap.Instances)
			if c.output == "json" {
				out := lookupJSON{ServiceName: snap.Name, Index: snap.Index}
				for _, in := range snap.Instances {
					out.Instances = append(out.Instances, newInstanceJSON(in))
				}
				return printJSON(c.stdout, out)
			}
			now := time.Now()
			tw := table(c.stdout, "INSTANCE", "ENDPOINT", "STATUS", "LEASE", "LAST HEARTBEAT", "REGISTERED", "METADATA")
			for _, in := range snap.Instances {
				row(tw, clean(in.InstanceID), clean(in.Endpoint), status(in), fmt.Sprintf("%ds left", int(in.TTL/time.Second)),
					ago(now, in.LastHeartbeat), ago(now, in.RegisteredAt), metadataText(in.Metadata))
			}
			return tw.Flush()
		}),
	}
}

// completeServices offers the registered services' names for the first
// argument, and for the second (when max is 2) the instance IDs of the
// service named first.
func (c *cli) completeServices(max int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, a []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(a) >= max || c.setup(cmd, a) != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
		defer cancel()
		if len(a) == 1 {
			snap, err := c.client.LookupAt(ctx, a[0], 0, 0)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			ids := make([]cobra.Completion, 0, len(snap.Instances))
			for _, in := range snap.Instances {
				ids = append(ids, in.InstanceID)
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		}
		names, err := c.client.List(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
