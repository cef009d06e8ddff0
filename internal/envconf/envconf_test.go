package envconf

import (
	"strings"
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	r := New(Map(map[string]string{"A": "30", "B": "500ms", "C": "2m", "BAD": "soon", "NEG": "-3", "ZERO": "0"}))
	if got := r.Duration("A", 0); got != 30*time.Second {
		t.Fatalf("A=%v", got)
	}
	if got := r.Duration("B", 0); got != 500*time.Millisecond {
		t.Fatalf("B=%v", got)
	}
	if got := r.Duration("C", 0); got != 2*time.Minute {
		t.Fatalf("C=%v", got)
	}
	if got := r.Duration("UNSET", time.Hour); got != time.Hour {
		t.Fatalf("default not used: %v", got)
	}
	if r.Err() != nil {
		t.Fatalf("no error expected yet: %v", r.Err())
	}
	r.Duration("BAD", time.Second)
	r.Duration("NEG", time.Second)
	r.Duration("ZERO", time.Second)
	msg := r.Err().Error()
	for _, name := range []string{"BAD:", "NEG:", "ZERO:", "whole seconds"} {
		if !strings.Contains(msg, name) {
			t.Fatalf("error %q should mention %q", msg, name)
		}
	}
}

func TestRequiredIntAndList(t *testing.T) {
	r := New(Map(map[string]string{"N": "12", "BIGN": "99", "L": " a, ,b ,"}))
	if r.Int("N", 0, 1, 20) != 12 {
		t.Fatal("N")
	}
	if got := r.List("L"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("list %q", got)
	}
	r.Int("BIGN", 0, 1, 20)
	r.Required("SERVICE_NAME", "osint_service")
	msg := r.Err().Error()
	if !strings.Contains(msg, "BIGN") || !strings.Contains(msg, "SERVICE_NAME: is required") {
		t.Fatalf("got %q", msg)
	}
}

func TestBool(t *testing.T) {
	r := New(Map(map[string]string{"ON": "true", "OFF": "0", "BAD": "sure"}))
	if !r.Bool("ON", false) || r.Bool("OFF", true) || !r.Bool("UNSET", true) {
		t.Fatal("values")
	}
	r.Bool("BAD", false)
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), `BAD: "sure" must be true or false`) {
		t.Fatalf("got %v", err)
	}
}
