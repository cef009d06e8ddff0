package ginapi_test

import (
	"strings"
	"testing"
)

// Tags are optional on POST /register: kept in their order and answered
// only when given; a bad tag is a 400 naming it and stores nothing.
func TestRegisterTags(t *testing.T) {
	f := newFixture(t, "")
	body := `{"service_name":"web","endpoint":"http://web:80","metadata":{},` +
		"\"tags\":[\"traefik.enable=true\",\"traefik.http.routers.web.rule=Host(`web.example`)\"]}"
	out := f.mustDo(201, "POST", "/register", body)
	want := "\"tags\":[\"traefik.enable=true\",\"traefik.http.routers.web.rule=Host(`web.example`)\"]"
	if !strings.Contains(out, want) {
		t.Fatalf("register answer %s lacks %s", out, want)
	}
	if got := f.mustDo(200, "GET", "/services/web", ""); !strings.HasSuffix(got, want+"}") {
		t.Fatalf("lookup %s, want it to end with %s", got, want)
	}
	if got := f.mustDo(201, "POST", "/register", seedBody); strings.Contains(got, "tags") {
		t.Fatalf("a v1 registration answers no tags field: %s", got)
	}
	if got := f.mustDo(200, "GET", "/services/my_service", ""); strings.Contains(got, "tags") {
		t.Fatalf("a v1 lookup answers no tags field: %s", got)
	}
	for body, detail := range map[string]string{
		`{"service_name":"bad","endpoint":"http://b:1","metadata":{},"tags":["ok","two\nlines"]}`: `tags[1]: \"two\\nlines\" holds a control character`,
		`{"service_name":"bad","endpoint":"http://b:1","metadata":{},"tags":"x"}`:                 `tags: must be a JSON array of strings`,
		`{"service_name":"bad","endpoint":"http://b:1","metadata":{},"tags":[""]}`:                `tags[0]: \"\" is empty`,
		`{"service_name":"bad","endpoint":"http://b:1","metadata":{},"tags":[1]}`:                 `tags: must be a JSON array of strings`,
	} {
		if code, out := f.do("POST", "/register", body); code != 400 || !strings.Contains(out, detail) {
			t.Errorf("%s: got %d %s, want 400 with %s", body, code, out, detail)
		}
	}
	f.mustDo(404, "GET", "/services/bad", "")
}
