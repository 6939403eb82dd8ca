package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// StatusKiB reads a field of /proc/PID/status given in kB (VmRSS, VmHWM),
// in KiB; pid 0 is this process. Memory tests of the daemons and of the
// test process itself share it.
func StatusKiB(t testing.TB, pid int, field string) int64 {
	t.Helper()
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("%s in %s: %v", field, path, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %s", field, path)
	return 0
}
