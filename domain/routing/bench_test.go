package routing_test

import (
	"context"
	"testing"

	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/routing"
	"github.com/vertice/vertice/ports"
)

// BenchmarkRequestPath is the routing work of one proxied request on a
// cache hit: Resolve, Allow, Pick, Reached, Done, from parallel goroutines
// on the real clock.
func BenchmarkRequestPath(b *testing.B) {
	dir := &fakeDirectory{services: map[string][]catalog.Instance{"nmap_service": {
		inst("a", "http://10.0.0.1:8047", ""), inst("b", "http://10.0.0.2:8047", ""), inst("c", "http://10.0.0.3:8047", "")}}}
	r, err := routing.New(dir, ports.SystemClock{}, nil, routing.Settings{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := r.Resolve(ctx, "nmap_service"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rt, _, err := r.Resolve(ctx, "nmap_service")
			if err != nil || rt.Allow() != nil {
				b.Error("not routed")
				return
			}
			rt.Reached(rt.Pick(nil))
			rt.Done(true)
		}
	})
}

// BenchmarkRequestPathWithSplit is the same with a 90/10 version split:
// the weighted choice takes the service's mutex on every pick.
func BenchmarkRequestPathWithSplit(b *testing.B) {
	v := func(id, version string) catalog.Instance {
		in := inst(id, "http://"+id+":8047", "")
		in.Metadata[catalog.VersionKey] = version
		return in
	}
	dir := &fakeDirectory{services: map[string][]catalog.Instance{"nmap_service": {
		v("a", "1.0.0"), v("b", "1.0.0"), v("c", "1.1.0")}}}
	r, err := routing.New(dir, ports.SystemClock{}, nil, routing.Settings{
		Versions: map[string]routing.Split{"nmap_service": {{Version: "1.0.0", Weight: 90}, {Version: "1.1.0", Weight: 10}}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rt, _, err := r.Resolve(ctx, "nmap_service")
			if err != nil || rt.Allow() != nil {
				b.Error("not routed")
				return
			}
			rt.Reached(rt.Pick(nil))
			rt.Done(true)
		}
	})
}
