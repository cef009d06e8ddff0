package images

import (
	"reflect"
	"testing"
)

func TestParseLdd(t *testing.T) {
	out := `	linux-vdso.so.1 (0x00007ffd)
	libatomic.so.1 => /lib/x86_64-linux-gnu/libatomic.so.1 (0x00007f3a)
	libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f3b)
	/lib64/ld-linux-x86-64.so.2 (0x00007f3c)
	libmissing.so => not found
`
	want := []string{
		"/lib/x86_64-linux-gnu/libatomic.so.1",
		"/lib/x86_64-linux-gnu/libssl.so.3",
		"/lib64/ld-linux-x86-64.so.2",
	}
	if got := parseLdd(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}
