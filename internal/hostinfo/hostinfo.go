// Package hostinfo answers what the benchmark harnesses and the process
// tests ask of the machine they run on.
package hostinfo

import (
	"net"
	"os"
	"strings"
)

// CPUModel is the first "model name" in /proc/cpuinfo, or "unknown CPU".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// FreeAddr is a 127.0.0.1 address whose port was free a moment ago, for
// programs that take their listen address from a flag or the environment.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
