package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeTags(t *testing.T) {
	base := Registration{ServiceName: "web", Endpoint: "http://web:80"}
	ok := []string{"traefik.http.routers.web.rule=Host(`example.com`) && PathPrefix(`/api`)", "v1", "zone=é"}
	r := base
	r.Tags = ok
	got, err := r.Normalize()
	if err != nil {
		t.Fatalf("valid tags refused: %v", err)
	}
	ok[1] = "changed"
	if got.Tags[1] != "v1" {
		t.Fatal("Normalize must copy tags: the caller's slice changed the stored one")
	}
	if got, _ := base.Normalize(); got.Tags != nil {
		t.Fatalf("no tags must stay nil, got %#v", got.Tags)
	}
	r.Tags = []string{}
	if got, _ := r.Normalize(); got.Tags != nil {
		t.Fatalf("an empty list is no tags (nil), got %#v", got.Tags)
	}

	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = "t"
	}
	cases := []struct {
		tags        []string
		field, rule string
	}{
		{[]string{"a", ""}, "tags[1]", "is empty"},
		{[]string{"line\nbreak"}, "tags[0]", "control character"},
		{[]string{"tab\there"}, "tags[0]", "control character"},
		{[]string{"\xff"}, "tags[0]", "not valid UTF-8"},
		{[]string{strings.Repeat("x", MaxTagLen+1)}, "tags[0]", "longer than 512 bytes"},
		{many, "tags", "at most 64"},
		{[]string{strings.Repeat("x", 500), strings.Repeat("x", 500), strings.Repeat("x", 500), strings.Repeat("x", 500),
			strings.Repeat("x", 500), strings.Repeat("x", 500), strings.Repeat("x", 500), strings.Repeat("x", 500),
			strings.Repeat("x", 500)}, "tags", "add up to 4500 bytes; at most 4096"},
	}
	for _, c := range cases {
		r := base
		r.Tags = c.tags
		_, err := r.Normalize()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Rule, c.rule) {
			t.Errorf("tags %.40q: want %s: ...%s..., got %v", c.tags, c.field, c.rule, err)
		}
	}
}
