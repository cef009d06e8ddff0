package portstest

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/ports"
)

// RunDirectory is the contract every ports.Directory passes. newDirectory
// returns a directory whose registry holds exactly regs.
func RunDirectory(t *testing.T, newDirectory func(t *testing.T, regs []catalog.Registration) ports.Directory) {
	t.Run("one instance", func(t *testing.T) {
		d := newDirectory(t, []catalog.Registration{{ServiceName: "nmap_service", Endpoint: "http://vertice-nmap:8047",
			Metadata: map[string]string{catalog.StatusKey: catalog.StatusHealthy}}})
		snap, err := d.Lookup(context.Background(), "nmap_service")
		if err != nil {
			t.Fatal(err)
		}
		list := snap.Instances
		if snap.Name != "nmap_service" || snap.Index == 0 {
			t.Fatalf("Lookup = %+v: want the service's name and index", snap)
		}
		if len(list) != 1 || list[0].Endpoint != "http://vertice-nmap:8047" || list[0].InstanceID == "" ||
			list[0].Metadata[catalog.StatusKey] != catalog.StatusHealthy {
			t.Fatalf("Lookup = %+v", list)
		}
	})
	t.Run("every instance with its health", func(t *testing.T) {
		d := newDirectory(t, []catalog.Registration{
			{ServiceName: "osint_service", InstanceID: "a", Endpoint: "http://a:1"},
			{ServiceName: "osint_service", InstanceID: "b", Endpoint: "http://b:1",
				Metadata: map[string]string{catalog.StatusKey: catalog.StatusUnhealthy}},
		})
		snap, err := d.Lookup(context.Background(), "osint_service")
		if err != nil {
			t.Fatal(err)
		}
		list := snap.Instances
		sort.Slice(list, func(i, j int) bool { return list[i].InstanceID < list[j].InstanceID })
		if len(list) != 2 || list[0].InstanceID != "a" || list[1].Endpoint != "http://b:1" || list[1].Healthy() {
			t.Fatalf("Lookup = %+v", list)
		}
	})
	t.Run("unknown service is ErrNotFound", func(t *testing.T) {
		d := newDirectory(t, nil)
		if _, err := d.Lookup(context.Background(), "nmap_service"); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}
