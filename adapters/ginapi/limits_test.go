package ginapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/adapters/ginapi"
	"github.com/vertice/vertice/adapters/memstore"
	"github.com/vertice/vertice/domain/catalog"
	"github.com/vertice/vertice/domain/registry"
	"github.com/vertice/vertice/ports/portstest"
)

// Item 2: a service holds at most REGISTRY_MAX_INSTANCES_PER_SERVICE live
// instances: one more is a 409 naming the limit, and changes nothing;
// re-registering a live instance is allowed; other services are not
// affected.
func TestInstancesPerServiceAreBounded(t *testing.T) {
	clock := portstest.NewFakeClock(time.Unix(1761310133, 0))
	store := memstore.New(clock, memstore.WithMaxInstances(3))
	svc := registry.New(store, store, clock, time.Minute, registry.WithLimits(catalog.Limits{MetadataBytes: 100}))
	f := &fixture{t: t, h: ginapi.New(ginapi.Options{Registry: svc}), clock: clock}
	reg := func(service string, i int) string {
		return fmt.Sprintf(`{"service_name":%q,"endpoint":"http://h%d:1"}`, service, i)
	}
	for i := range 3 {
		f.mustDo(201, "POST", "/register", reg("svc", i))
	}
	before := f.mustDo(200, "GET", "/services/svc", "")
	code, out := f.do("POST", "/register", reg("svc", 3))
	if code != 409 || !strings.Contains(out, `service \"svc\" already has 3 live instances`) {
		t.Fatalf("want 409 naming the limit, got %d %s", code, out)
	}
	if after := f.mustDo(200, "GET", "/services/svc", ""); after != before {
		t.Fatalf("a refused registration changed the service:\n%s\n%s", before, after)
	}
	f.mustDo(200, "POST", "/register", reg("svc", 1))
	f.mustDo(201, "POST", "/register", reg("other", 3))
	// The metadata budget comes from the registry's settings.
	code, out = f.do("POST", "/register", `{"service_name":"meta","endpoint":"http://h:1","metadata":{"k":"`+strings.Repeat("v", 100)+`"}}`)
	if code != 400 || !strings.Contains(out, "at most 100 are allowed") {
		t.Fatalf("want 400 with the configured metadata budget, got %d %s", code, out)
	}
}
