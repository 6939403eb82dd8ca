package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// checkMemory refuses a key derivation that needs more memory than the
// machine has available, instead of letting argon2id's allocation push it
// into swap or the OOM killer. Where the figure is unreadable it allows.
func checkMemory(need uint64) error {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemAvailable:" {
			kib, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err == nil && kib<<10 < need {
				return fmt.Errorf("%w: its key derivation needs %d MiB of memory and only %d MiB are available", ErrKDFMemory, need>>20, kib>>10)
			}
			return nil
		}
	}
	return nil
}
