package propagation_test

import (
	"testing"
	"time"

	"github.com/vertice/vertice/internal/bench/propagation"
)

func TestLogFindsLastAndFirst(t *testing.T) {
	l := propagation.NewLog()
	t0 := time.Unix(1000, 0)
	for _, s := range []int{1, 2, 5, 9} {
		l.Add("gw", "a", t0.Add(time.Duration(s)*time.Second))
	}
	if last, ok := l.Last("gw", "a", t0, t0.Add(6*time.Second)); !ok || !last.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("Last in (0,6) = %v %v, want 5 s", last, ok)
	}
	if _, ok := l.Last("gw", "a", t0.Add(5*time.Second), t0.Add(9*time.Second)); ok {
		t.Fatal("nothing lies strictly between 5 s and 9 s")
	}
	if first, ok := l.First("gw", "a", t0.Add(2*time.Second)); !ok || !first.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("First after 2 s = %v %v, want 5 s", first, ok)
	}
	if _, ok := l.First("gw", "b", t0); ok {
		t.Fatal("an instance never seen has no first time")
	}
}

func TestSummarise(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	st := propagation.Summarise(d)
	if st.N != 100 || st.P50 != 50*time.Millisecond || st.P99 != 99*time.Millisecond || st.Max != 100*time.Millisecond {
		t.Fatalf("%+v", st)
	}
}
