package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vertice/vertice/adapters/registryapi"
)

// Response is one HTTP exchange as the helpers saw it.
type Response struct {
	Code int
	Body string
	Took time.Duration
}

// Do makes one request bounded by RequestBound. A request that hits the
// bound returns the client's timeout error: callers treat it as a hang.
func Do(method, url, body string) (Response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return Response{Took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return Response{Code: resp.StatusCode, Body: string(b), Took: time.Since(start)}, err
}

// Get is Do(GET).
func Get(url string) (Response, error) { return Do(http.MethodGet, url, "") }

// Instance is one instance as GET /services/{name} reports it (the wire
// contract's object).
type Instance struct {
	registryapi.Instance
}

// Renewed is the instance's last heartbeat as a time.
func (in Instance) Renewed() time.Time { return registryapi.FromUnixSeconds(in.LastHeartbeat) }

// Lookup is a registry's answer for one service.
type Lookup struct {
	Response
	Instances []Instance
}

// Find returns the instance registered at endpoint.
func (l Lookup) Find(endpoint string) (Instance, bool) {
	for _, in := range l.Instances {
		if in.Endpoint == endpoint {
			return in, true
		}
	}
	return Instance{}, false
}

// LookupService asks the registry at base for a service. The single
// object answer and the instances array (present with two or more) are
// both read into Instances.
func LookupService(base, service string) (Lookup, error) {
	r, err := Get(base + "/services/" + service)
	l := Lookup{Response: r}
	if err != nil || r.Code != http.StatusOK {
		return l, err
	}
	var obj registryapi.Lookup
	if err := json.Unmarshal([]byte(r.Body), &obj); err != nil {
		return l, fmt.Errorf("lookup %s: %w in %s", service, err, r.Body)
	}
	list := obj.Instances
	if len(list) == 0 {
		list = []registryapi.Instance{obj.Instance}
	}
	for _, in := range list {
		l.Instances = append(l.Instances, Instance{in})
	}
	return l, nil
}

// Registered checks that the registry at base lists an instance at every
// endpoint, and returns them in that order.
func Registered(base, service string, endpoints ...string) ([]Instance, error) {
	l, err := LookupService(base, service)
	if err != nil {
		return nil, err
	}
	if l.Code != http.StatusOK {
		return nil, fmt.Errorf("lookup %s: %d %s", service, l.Code, l.Body)
	}
	out := make([]Instance, 0, len(endpoints))
	for _, e := range endpoints {
		in, ok := l.Find(e)
		if !ok {
			return nil, fmt.Errorf("lookup %s: no instance at %s in %s", service, e, l.Body)
		}
		out = append(out, in)
	}
	return out, nil
}

// Routed is one request through the gateway and the demo instance that
// answered it (DEMO_NAME, which the cluster sets to the demo's alias).
type Routed struct {
	Response
	Instance string
}

// Route sends GET /v2/{service}/echo/{path} through the gateway at base.
func Route(base, service, path string) (Routed, error) {
	r, err := Get(base + "/v2/" + service + "/echo/" + path)
	out := Routed{Response: r}
	if err != nil || r.Code != http.StatusOK {
		return out, err
	}
	var body struct {
		Instance string `json:"instance"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		return out, fmt.Errorf("gateway answer %q: %w", r.Body, err)
	}
	out.Instance, _, _ = strings.Cut(body.Instance, "@")
	return out, nil
}

// Metric reads one sample from a Prometheus text exposition at url;
// series is the name with its labels as exposed, e.g.
// gateway_route_source_total{source="cache"}. Absent is 0.
func Metric(url, series string) (float64, error) {
	r, err := Get(url)
	if err != nil {
		return 0, err
	}
	if r.Code != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", url, r.Code)
	}
	sc := bufio.NewScanner(strings.NewReader(r.Body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, sc.Err()
}
