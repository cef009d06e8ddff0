// Package host describes the machine a benchmark runs on and reads what
// its processes cost, from /proc (Linux).
package host

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
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

// Machine says where the numbers come from: CPUs, their model, the
// kernel and Go.
func Machine() string {
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (%s)%s, %s %s/%s", runtime.NumCPU(), CPUModel(), kernel, runtime.Version(),
		runtime.GOOS, runtime.GOARCH)
}

// Loadavg is the 1, 5 and 15 minute load averages, or "unknown": other
// work on the machine skews every number.
func Loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// tick is Linux's USER_HZ, the unit of /proc's CPU times.
const tick = 10 * time.Millisecond

// MachineBusy is the machine's busy CPU time so far, every CPU together,
// from /proc/stat; 0 when unknown.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return parseStatBusy(string(b))
}

// parseStatBusy adds up the first ("cpu") line's user, nice, system, irq,
// softirq and steal ticks (guest time is within user); idle and iowait are
// not busy.
func parseStatBusy(stat string) time.Duration {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * tick
}

// ProcessCPU is a process's user+system CPU time so far, from
// /proc/<pid>/stat; 0 when unknown.
func ProcessCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return parseProcessCPU(string(b))
}

// parseProcessCPU reads utime and stime, fields 14 and 15 of
// /proc/<pid>/stat, counting after the command name in parentheses (which
// may hold spaces and parentheses).
func parseProcessCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * tick
}

// Memory is a process's resident memory in kB, from /proc/<pid>/status.
type Memory struct {
	RSS, Anon, File, HWM int64 // VmRSS, RssAnon, RssFile, VmHWM
}

// ProcessMemory reads a process's resident memory.
func ProcessMemory(pid int) (Memory, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		}
	}
	return m, sc.Err()
}
