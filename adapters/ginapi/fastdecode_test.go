package ginapi

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestFastDecodeMatchesEncodingJSON: whatever the hand parser accepts,
// the strict encoding/json decoder accepts with the same result; the rest
// falls back to that decoder, so its answers stand.
func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"service_name":"my_service","endpoint":"http://vertice-my-service:8080","health_endpoint":"/health","metadata":{"version":"1.0.0"}}`,
		`{"service_name":"a","instance_id":"i1","endpoint":"http://h:1"}`,
		` { "service_name" : "a" , "metadata" : { "k" : "v" , "k2" : "" } } ` + "\n",
		`{}`, `{"metadata":{}}`, `{"metadata":null}`, `{"service_name":null}`, `{"service_name":"a","service_name":"b"}`,
		`{"SERVICE_NAME":"a"}`, `{"Service_Name":"a"}`, `{"unknown":"x"}`, `{"service_name":"a\"b"}`,
		`{"service_name":"\u0061"}`, `{"service_name":"é"}`, "{\"service_name\":\"\xff\"}", `{"service_name":1}`,
		`{"metadata":{"a":"1","a":"2"}}`, `{"metadata":{"a":1}}`, `{"metadata":[]}`, `{"metadata":{"":""}}`,
		`{"service_name":"a"} {}`, `{"service_name":"a"}x`, `{"service_name":"a",}`, `{,}`, `{"a"}`, `[]`, ``, ` `,
		`null`, `"x"`, `{"service_name":"a"`, `{"service_name":"tab	in"}`, "\ufeff{}", `{"instance_id":"x","instance_id":"y"}`,
		`{"service_name":"s","instance_id":"i"}`, `{"metadata":{"k":"v"},"metadata":{"k":"w"}}`,
	}
	// Mutations of the first bodies: cut short, one byte changed.
	rng := rand.New(rand.NewPCG(5, 6))
	seeds := bodies[:3]
	for range 3000 {
		b := []byte(seeds[rng.IntN(len(seeds))])
		switch rng.IntN(3) {
		case 0:
			b = b[:rng.IntN(len(b))]
		case 1:
			b[rng.IntN(len(b))] = `{}[]:,"\ ax1é`[rng.IntN(14)]
		default:
			i := rng.IntN(len(b))
			b = append(b[:i:i], b[i+1:]...)
		}
		bodies = append(bodies, string(b))
	}
	fast := 0
	for _, body := range bodies {
		var got, want registerBody
		if fastRegister([]byte(body), &got) {
			fast++
			if err := decodeFrom(bytes.NewReader([]byte(body)), &want); err != nil {
				t.Errorf("register %q: fast path took what encoding/json refuses: %v", body, err)
			} else if !reflect.DeepEqual(got, want) {
				t.Errorf("register %q:\n got %+v\nwant %+v", body, got, want)
			}
		}
		var hgot, hwant heartbeatBody
		if fastHeartbeat([]byte(body), &hgot) {
			if err := decodeFrom(bytes.NewReader([]byte(body)), &hwant); err != nil {
				t.Errorf("heartbeat %q: fast path took what encoding/json refuses: %v", body, err)
			} else if hgot != hwant {
				t.Errorf("heartbeat %q: got %+v want %+v", body, hgot, hwant)
			}
		}
	}
	if fast < 10 {
		t.Fatalf("the fast path took only %d bodies", fast)
	}
}
