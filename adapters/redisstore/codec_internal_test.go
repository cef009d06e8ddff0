package redisstore

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// TestDecodePairsMatchesDecode holds the map-free decoder and the hand
// parser of metadata to decode(pairsToMap(...)) with encoding/json.
func TestDecodePairsMatchesDecode(t *testing.T) {
	in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "i0", Endpoint: "http://h:1",
		HealthEndpoint: "/health"}, time.Unix(1761310133, 187383000), time.Minute)
	fields, err := encode(in)
	if err != nil {
		t.Fatal(err)
	}
	metadata := []string{`{}`, `{"version":"1.0.0"}`, `{"a":"1","b":"two words","c":""}`, `{"":""}`,
		`{"a":"1","a":"2"}`, `{ }`, `{"a" : "b"}`, `{"a":"b",}`, `{"a":1}`, `null`, ``, `{"a":"\u003c"}`,
		`{"é":"ü"}`, "{\"a\":\"\xff\"}", `{"a":"b"}x`, `{"a":"b""c":"d"}`, `{"a":"b"`, `{"a"}`, `{"a":}`, `[]`,
		`{"a":"b","c":"d","e":"f"}`, `{"x":"{\"y\":\"z\"}"}`}
	for _, md := range metadata {
		pairs := make([]any, 0, len(fields))
		for i := 0; i < len(fields); i += 2 {
			v := fields[i+1]
			if fields[i] == fMetadata {
				v = md
			}
			pairs = append(pairs, fields[i], v)
		}
		h, err := pairsToMap(pairs)
		if err != nil {
			t.Fatal(err)
		}
		want, wantOK, wantErr := decode(h)
		got, gotOK, gotErr := decodePairs(pairs)
		if !reflect.DeepEqual(got, want) || gotOK != wantOK || errors.Is(gotErr, nil) != errors.Is(wantErr, nil) ||
			(gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("metadata %q:\n got %+v %v %v\nwant %+v %v %v", md, got, gotOK, gotErr, want, wantOK, wantErr)
		}
	}
	if _, ok, err := decodePairs([]any{}); ok || err != nil {
		t.Errorf("empty reply: ok %v err %v", ok, err)
	}
	if _, _, err := decodePairs("x"); err == nil {
		t.Error("want an error for a reply that is not a list")
	}
}

// TestDecodeFieldsMatchesDecode holds the HMGET decoder to decode of the
// same hash: whole, gone (all nils), and missing one field.
func TestDecodeFieldsMatchesDecode(t *testing.T) {
	in := catalog.NewInstance(catalog.Registration{ServiceName: "svc", InstanceID: "i0", Endpoint: "http://h:1",
		HealthEndpoint: "/health", Metadata: map[string]string{"version": "1.0.0"}}, time.Unix(1761310133, 187383000), time.Minute)
	fields, err := encode(in)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{}
	for i := 0; i < len(fields); i += 2 {
		h[fields[i].(string)] = fields[i+1].(string)
	}
	hmget := func(h map[string]string) []any {
		out := make([]any, len(instanceFields))
		for i, f := range instanceFields {
			if v, ok := h[f]; ok {
				out[i] = v
			}
		}
		return out
	}
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
