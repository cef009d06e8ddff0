package ginapi

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vertice/vertice/domain/catalog"
)

// TestHandWrittenJSONMatchesEncodingJSON holds the hand-written answers to
// json.Marshal of instanceJSON and lookupJSON, byte for byte, over awkward
// strings, metadata and times.
func TestHandWrittenJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "svc", "a\"b\\c", "<script>&amp;</script>", "tab\tnl\nret\rbs\bff\f", "\x00\x01\x1f\x7f",
		"héllo wörld ✓", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "emoji 😀", "http://h:8080/x?a=1&b=<2>"}
	rng := rand.New(rand.NewPCG(1, 2))
	randStr := func() string {
		if rng.IntN(3) == 0 {
			return strs[rng.IntN(len(strs))]
		}
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	now := time.Unix(1761310133, 187383000)
	times := []time.Time{now, now.Add(-time.Hour), time.Unix(0, 0), time.Unix(0, 1), time.Unix(1, 5), now.Add(123456789),
		time.Unix(-5, 0), time.Unix(4e12, 0)}
	instance := func() catalog.Instance {
		var md map[string]string
		switch n := rng.IntN(12); {
		case n == 0:
		case n == 1:
			md = map[string]string{}
		default:
			md = map[string]string{}
			for range n - 1 {
				md[randStr()] = randStr()
			}
		}
		return catalog.Instance{
			Registration: catalog.Registration{ServiceName: randStr(), InstanceID: randStr(), Endpoint: randStr(),
				HealthEndpoint: randStr(), Metadata: md},
			RegisteredAt: times[rng.IntN(len(times))], LastHeartbeat: times[rng.IntN(len(times))],
			TTL: time.Duration(rng.Int64N(int64(2 * time.Hour))),
		}
	}
	for i := range 5000 {
		list := make([]catalog.Instance, 1+rng.IntN(3))
		for j := range list {
			list[j] = instance()
		}
		for _, withID := range []bool{true, false} {
			want, err := json.Marshal(render(list[0], now, withID))
			if err != nil {
				t.Fatal(err)
			}
			got := appendInstance(nil, list[0], now, withID)
			if string(got) != string(want) {
				t.Fatalf("case %d instance:\n got %s\nwant %s", i, got, want)
			}
		}
		want, err := json.Marshal(renderLookup(list, now))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendLookup(nil, list, now); string(got) != string(want) {
			t.Fatalf("case %d lookup:\n got %s\nwant %s", i, got, want)
		}
	}
	for _, f := range []float64{0, 1, -1, 1e-7, 1e-6, 1e20, 1e21, 1.5e300, 1761310133.187383, -1e-9, 123456789012345678} {
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Errorf("float %v: got %s want %s", f, got, want)
		}
	}
}
