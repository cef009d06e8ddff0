package redisstore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// decode is the reference the decoders are held to: the store's decoder
// before HMGET and the hand parser, an instance from HGETALL's map with
// encoding/json for the metadata. ok is false for an empty map: the key
// expired or was deleted between listing and reading it.
func decode(h map[string]string) (in catalog.Instance, ok bool, err error) {
	if len(h) == 0 {
		return catalog.Instance{}, false, nil
	}
	in.ServiceName = h[fService]
	in.InstanceID = h[fInstanceID]
	in.Endpoint = h[fEndpoint]
	in.HealthEndpoint = h[fHealth]
	in.DefaultID = h[fDefaultID] == "1"
	if err := json.Unmarshal([]byte(h[fMetadata]), &in.Metadata); err != nil {
		return in, false, fmt.Errorf("redisstore: instance %s/%s: metadata: %w", in.ServiceName, in.InstanceID, err)
	}
	if t, ok := h[fTags]; ok {
		if err := json.Unmarshal([]byte(t), &in.Tags); err != nil {
			return in, false, fmt.Errorf("redisstore: instance %s/%s: tags: %w", in.ServiceName, in.InstanceID, err)
		}
		if len(in.Tags) == 0 {
			in.Tags = nil
		}
	}
	var ns [3]int64
	for i, f := range []string{fRegisteredAt, fLastHeartbeat, fTTL} {
		if ns[i], err = strconv.ParseInt(h[f], 10, 64); err != nil {
			return in, false, fmt.Errorf("redisstore: instance %s/%s: %s: %w", in.ServiceName, in.InstanceID, f, err)
		}
	}
	in.RegisteredAt = time.Unix(0, ns[0])
	in.LastHeartbeat = time.Unix(0, ns[1])
	in.TTL = time.Duration(ns[2])
	return in, true, nil
}

// TestMetadataRoundTrip: what encode stores, decodeFields reads back,
// awkward keys and values included; metadata that is not an object of
// strings is an error naming the instance.
func TestMetadataRoundTrip(t *testing.T) {
	for _, md := range []map[string]string{nil, {}, {"version": "1.0.0", "status": "healthy"}, {"": ""},
		{"k": "a<b&c>"}, {"k": `q"\`}, {"é": "ü"}, {"k": "\x00\u2028"}, {"x": `{"y":"z"}`}} {
		in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "i0", Endpoint: "http://h:1",
			Metadata: md}, time.Unix(1761310133, 187383000), time.Minute)
		fields, err := encode(in)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := decodeFields(hmget(pairs(fields)))
		want := md
		if want == nil {
			want = map[string]string{} // nil is stored as {}
		}
		if err != nil || !ok || !reflect.DeepEqual(got.Metadata, want) {
			t.Errorf("%q: read back %q, %v, %v", md, got.Metadata, ok, err)
		}
	}
	for _, bad := range []string{`{"a":1}`, `[]`, `{"a":"b"`, ``} {
		h := pairs([]any{fService, "svc", fInstanceID, "i0", fMetadata, bad, fRegisteredAt, "1", fLastHeartbeat, "1", fTTL, "1"})
		if _, _, err := decodeFields(hmget(h)); err == nil || !strings.Contains(err.Error(), "instance svc/i0: metadata") {
			t.Errorf("metadata %q: got %v, want an error naming the instance", bad, err)
		}
	}
}

// pairs turns HSET field/value arguments into a hash.
func pairs(fields []any) map[string]string {
	h := map[string]string{}
	for i := 0; i < len(fields); i += 2 {
		h[fields[i].(string)] = fields[i+1].(string)
	}
	return h
}

// hmget is an HMGET of instanceFields on h: nil for absent fields.
func hmget(h map[string]string) []any {
	out := make([]any, len(instanceFields))
	for i, f := range instanceFields {
		if v, ok := h[f]; ok {
			out[i] = v
		}
	}
	return out
}

// TestDecodeFieldsMatchesDecode holds the HMGET decoder to decode of the
// same hash: whole, gone (all nils), and missing one field.
func TestDecodeFieldsMatchesDecode(t *testing.T) {
	in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "i0", Endpoint: "http://h:1",
		HealthEndpoint: "/health", Metadata: map[string]string{"version": "1.0.0"}, Tags: []string{"a", "b c"}},
		time.Unix(1761310133, 187383000), time.Minute)
	fields, err := encode(in)
	if err != nil {
		t.Fatal(err)
	}
	h := pairs(fields)
	cases := map[string]map[string]string{"whole": h, "gone": {}}
	for _, f := range instanceFields {
		partial := map[string]string{}
		for k, v := range h {
			if k != f {
				partial[k] = v
			}
		}
		cases["without "+f] = partial
	}
	for name, h := range cases {
		want, wantOK, wantErr := decode(h)
		got, gotOK, gotErr := decodeFields(hmget(h))
		if !reflect.DeepEqual(got, want) || gotOK != wantOK || (gotErr == nil) != (wantErr == nil) ||
			(gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%s:\n got %+v %v %v\nwant %+v %v %v", name, got, gotOK, gotErr, want, wantOK, wantErr)
		}
	}
	if _, _, err := decodeFields([]any{"a"}); err == nil {
		t.Error("want an error for a reply of the wrong length")
	}
}

// sidecarMetadata is what a sidecar registers: its version and health.
var sidecarMetadata = map[string]string{"version": "1.0.0", "status": "healthy"}

// BenchmarkMetadata is the metadata codec's cost per instance, a baseline
// for anyone tempted to hand-write it again (it was, and went back to
// encoding/json: 1-2 µs per request was within bench:registry's noise):
// go test -run '^$' -bench Metadata -benchmem ./adapters/redisstore/
func BenchmarkMetadata(b *testing.B) {
	text, _ := encodeMetadata(sidecarMetadata)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeMetadata(sidecarMetadata); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeMetadata(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDefaultIDField: whether the client named its instance survives the
// hash (issue 12, item 11), and a hash written before the field existed
// reads as an instance a heartbeat must name.
func TestDefaultIDField(t *testing.T) {
	for _, derived := range []bool{true, false} {
		in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "h:1", Endpoint: "http://h:1",
			HealthEndpoint: "/health", DefaultID: derived}, time.Unix(1761310133, 0), time.Minute)
		fields, err := encode(in)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for i := 0; i < len(fields); i += 2 {
			h[fields[i].(string)] = fields[i+1].(string)
		}
		reply := func() []any {
			out := make([]any, len(instanceFields))
			for i, f := range instanceFields {
				if v, ok := h[f]; ok {
					out[i] = v
				}
			}
			return out
		}
		got, ok, err := decodeFields(reply())
		if err != nil || !ok || got.DefaultID != derived {
			t.Fatalf("DefaultID %v came back as %v (%v, %v)", derived, got.DefaultID, ok, err)
		}
		delete(h, fDefaultID) // as written before the field existed
		if got, ok, err := decodeFields(reply()); err != nil || !ok || got.DefaultID {
			t.Fatalf("an old hash must read as DefaultID false, got %v (%v, %v)", got.DefaultID, ok, err)
		}
	}
}

// TestTagsField: tags survive the hash in their order, an instance
// without tags writes no field, and a hash without the field (written
// before tags existed) reads as no tags; a broken field names the
// instance.
func TestTagsField(t *testing.T) {
	for _, tags := range [][]string{nil, {"traefik.enable=true", "Host(`a.b`) && PathPrefix(`/x`)", "é", `q"\`}} {
		in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "i0", Endpoint: "http://h:1",
			Tags: tags}, time.Unix(1761310133, 0), time.Minute)
		fields, err := encode(in)
		if err != nil {
			t.Fatal(err)
		}
		h := pairs(fields)
		if _, has := h[fTags]; has != (tags != nil) {
			t.Fatalf("tags %q: field written %v", tags, has)
		}
		got, ok, err := decodeFields(hmget(h))
		if err != nil || !ok || !reflect.DeepEqual(got.Tags, tags) {
			t.Fatalf("tags %q read back as %#v (%v, %v)", tags, got.Tags, ok, err)
		}
	}
	h := pairs([]any{fService, "svc", fInstanceID, "i0", fMetadata, "{}", fRegisteredAt, "1", fLastHeartbeat, "1",
		fTTL, "1", fTags, `["a",1]`})
	if _, _, err := decodeFields(hmget(h)); err == nil || !strings.Contains(err.Error(), "instance svc/i0: tags") {
		t.Fatalf("broken tags: got %v, want an error naming the instance", err)
	}
}
