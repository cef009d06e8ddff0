package consulapi_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The answers are held to ones recorded from a real Consul 1.22.7
// (testdata/*.consul.json, made with the same registration as
// benchService, its TTL check passed): the same field names at every
// level, each with the same JSON type. Values differ (indexes, node
// names); maps of data (Meta, TaggedAddresses) are compared as maps.
func TestAnswersHaveConsulsShape(t *testing.T) {
	f := newFixture(t, "")
	f.must(200, "PUT", "/v1/agent/service/register", benchService)
	f.must(200, "PUT", "/v1/agent/check/pass/service:b1", "")
	for path, recorded := range map[string]string{
		"/v1/health/service/bench_service":  "health_service_bench_service",
		"/v1/catalog/service/bench_service": "catalog_service_bench_service",
		"/v1/catalog/services":              "catalog_services",
		"/v1/health/state/any":              "health_state_any",
		"/v1/agent/self":                    "agent_self",
	} {
		t.Run(recorded, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + recorded + ".consul.json")
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			a := f.must(200, "GET", path, "")
			if err := json.Unmarshal([]byte(a.body), &got); err != nil {
				t.Fatal(err)
			}
			// agent/self was recorded cut to what clients read; the
			// catalog's keys are service names.
			subset := recorded == "agent_self"
			if problems := shapeDiff("", want, got, subset); len(problems) > 0 {
				t.Fatalf("%s differs from Consul's answer:\n%s\nours: %s", path, strings.Join(problems, "\n"), a.body)
			}
			if path == "/v1/agent/self" {
				return
			}
			if a.header.Get("Content-Type") != "application/json; charset=utf-8" || a.index() < 1 ||
				a.header.Get("X-Consul-KnownLeader") != "true" || a.header.Get("X-Consul-LastContact") != "0" {
				t.Fatalf("headers: %v", a.header)
			}
		})
	}
}

// dataMaps are fields whose keys are data, not field names.
var dataMaps = []string{"Meta", "NodeMeta", "ServiceMeta", "TaggedAddresses", "ServiceTaggedAddresses"}

// shapeDiff lists where got's shape departs from want's: a field missing
// or extra, or of another JSON type. A null stands for any type (Consul
// writes null for an absent map or list).
func shapeDiff(at string, want, got any, subset bool) []string {
	if want == nil || got == nil {
		return nil
	}
	if kind(want) != kind(got) {
		return []string{fmt.Sprintf("%s: %s in Consul's answer, %s in ours", at, kind(want), kind(got))}
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		field := at[strings.LastIndexByte(at, '.')+1:]
		if slices.Contains(dataMaps, field) || at == "" && !subset && isCatalog(w) {
			for _, v := range g {
				for _, wv := range w {
					out = append(out, shapeDiff(at+"[]", wv, v, subset)...)
					break
				}
			}
			return out
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, at+"."+k+": missing in ours")
				continue
			}
			out = append(out, shapeDiff(at+"."+k, wv, gv, subset)...)
		}
		if !subset {
			for k := range g {
				if _, ok := w[k]; !ok {
					out = append(out, at+"."+k+": not in Consul's answer")
				}
			}
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) > 0 {
			// Consul lists its own serfHealth check first; compare the
			// service's check, the last.
			out = append(out, shapeDiff(at+"[]", w[len(w)-1], g[len(g)-1], subset)...)
		}
	}
	sort.Strings(out)
	return out
}

// isCatalog: catalog/services is an object of service names.
func isCatalog(m map[string]any) bool { _, ok := m["bench_service"]; return ok }

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// The shape check itself must catch a missing field, an extra one and a
// changed type, or the golden test above proves nothing.
func TestShapeDiffCatches(t *testing.T) {
	var want any
	_ = json.Unmarshal([]byte(`[{"Node":{"Node":"a","Meta":{"x":"1"}},"Service":{"Port":80,"Tags":[]}}]`), &want)
	for body, problem := range map[string]string{
		`[{"Node":{"Meta":{}},"Service":{"Port":80,"Tags":[]}}]`:                       ".Node.Node: missing",
		`[{"Node":{"Node":"a","Meta":{}},"Service":{"Port":"80","Tags":[]}}]`:          "[].Service.Port: number in Consul's answer, string in ours",
		`[{"Node":{"Node":"a","Meta":{}},"Service":{"Port":80,"Tags":[],"X":1}}]`:      ".Service.X: not in Consul's answer",
		`[{"Node":{"Node":"a","Meta":{"y":2}},"Service":{"Port":80,"Tags":[]}}]`:       "Meta[]: string in Consul's answer, number in ours",
		`[{"Node":{"Node":"a","Meta":{}},"Service":{"Port":80,"Tags":[]}}]` + "\n":     "",
		`[{"Node":{"Node":"a","Meta":null},"Service":{"Port":80,"Tags":null}}]` + "\n": "",
	} {
		var got any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		diff := strings.Join(shapeDiff("", want, got, false), "\n")
		if (problem == "") != (diff == "") || !strings.Contains(diff, problem) {
			t.Errorf("%s: diff %q, want one with %q", body, diff, problem)
		}
	}
}
