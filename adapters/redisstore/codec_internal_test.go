package redisstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
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

// TestDecodeFieldsMetadataMatchesDecode holds decodeFields, with its hand
// parser of metadata, to decode (encoding/json) over awkward metadata.
func TestDecodeFieldsMetadataMatchesDecode(t *testing.T) {
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
		h := map[string]string{}
		for i := 0; i < len(fields); i += 2 {
			h[fields[i].(string)] = fields[i+1].(string)
		}
		h[fMetadata] = md
		list := make([]any, len(instanceFields))
		for i, f := range instanceFields {
			list[i] = h[f]
		}
		want, wantOK, wantErr := decode(h)
		got, gotOK, gotErr := decodeFields(list)
		if !reflect.DeepEqual(got, want) || gotOK != wantOK || errors.Is(gotErr, nil) != errors.Is(wantErr, nil) ||
			(gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("metadata %q:\n got %+v %v %v\nwant %+v %v %v", md, got, gotOK, gotErr, want, wantOK, wantErr)
		}
	}
	if _, _, err := decodeFields("x"); err == nil {
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

// TestEncodeMetadataMatchesMarshal holds the hand-written metadata text to
// json.Marshal's, byte for byte.
func TestEncodeMetadataMatchesMarshal(t *testing.T) {
	cases := []map[string]string{nil, {}, {"version": "1.0.0"}, {"b": "2", "a": "1", "c": ""}, {"": ""},
		{"k": "a<b"}, {"k": "a&b"}, {"k": `q"`}, {"k": `b\`}, {"é": "ü"}, {"k": "\x00"}, {"k": "\xff"},
		{"k": "\u2028"}, {"k~": "~"}, {"Z": "z", "a": "A", "_": "-", "0": "9"}}
	for i := range 12 {
		m := map[string]string{}
		for j := range i {
			m[fmt.Sprintf("key_%d", (j*7)%12)] = fmt.Sprintf("value %d!", j)
		}
		cases = append(cases, m)
	}
	for _, md := range cases {
		want, err := json.Marshal(md)
		if md == nil {
			want = []byte("{}") // encode has always stored nil as {}
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeMetadata(md)
		if err != nil || got != string(want) {
			t.Errorf("%q: got %s (%v), want %s", md, got, err, want)
		}
	}
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
