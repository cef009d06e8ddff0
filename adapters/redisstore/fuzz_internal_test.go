package redisstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzMetadataCodec holds the hand-written metadata codec to
// encoding/json for any text read back from Redis (decodeMetadata) and any
// map written (encodeMetadata), and checks that what is written reads
// back. The seed corpus runs with every `go test`.
func FuzzMetadataCodec(f *testing.F) {
	f.Add(`{"version":"1.0.0"}`, "k", "v", "k2", "v2")
	f.Add(`{"a":"1","a":"2"}`, "a", "<&>", "", "")
	f.Add(`{"x":"{\"y\":\"z\"}"}`, "é", "\xff", "status", "\u2028")
	f.Add(`{"a":"b",}`, "\x00", "\"", "\\", "q")
	f.Fuzz(func(t *testing.T, text, k1, v1, k2, v2 string) {
		var want map[string]string
		wantErr := json.Unmarshal([]byte(text), &want)
		got, gotErr := decodeMetadata(text)
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("decode %q: got %v (%v), json says %v (%v)", text, got, gotErr, want, wantErr)
		}
		md := map[string]string{k1: v1, k2: v2}
		enc, err := encodeMetadata(md)
		marshalled, _ := json.Marshal(md)
		if err != nil || enc != string(marshalled) {
			t.Fatalf("encode %q: got %s (%v), json says %s", md, enc, err, marshalled)
		}
		back, err := decodeMetadata(enc)
		var viaJSON map[string]string
		_ = json.Unmarshal(marshalled, &viaJSON)
		if err != nil || !reflect.DeepEqual(back, viaJSON) {
			t.Fatalf("round trip of %q: %v (%v), want %v", md, back, err, viaJSON)
		}
	})
}
