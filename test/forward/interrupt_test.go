//go:build linux

package forward_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/e2e"
)

// TestRestoreInterrupted: SIGINT during `efs restore` of 40 × 3 MB files
// leaves no temporary file and no half-written file; running the same
// command again exits 0 with a tree identical to the plaintext.
func TestRestoreInterrupted(t *testing.T) {
	plain, cipher := t.TempDir(), t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 40 {
		data := make([]byte, 3<<20)
		for j := 0; j < len(data); j += 8 {
			v := r.Uint64()
			for k := 0; k < 8; k++ {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		e2e.WriteFile(t, filepath.Join(plain, "d"+string(rune('a'+i%4)), "f"+strings.Repeat("x", i)), data)
	}
	e2e.InitTree(t, plain)
	pw := e2e.Passfile(t)
	e2e.MustEfs(t, "export", "-q", "--passfile", pw, plain, cipher)

	interrupted := false
	var dest string
	for try := 0; try < 5 && !interrupted; try++ {
		dest = filepath.Join(t.TempDir(), "restored")
		cmd := exec.Command(e2e.Bin(t), "restore", "--passfile", pw, cipher, dest)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Interrupt once a few files are in place.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) && countDone(dest) < 3 {
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() != 0 {
			interrupted = true
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("interrupted restore says:\n%s", stderr.String())
			}
		}
	}
	if !interrupted {
		t.Fatal("restore finished every time before SIGINT reached it")
	}
	if hasTemp(dest) {
		t.Error("temporary files left after SIGINT")
	}
	// Whatever is in DEST is complete.
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dest, p)
			want, _ := os.ReadFile(filepath.Join(plain, rel))
			if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
				t.Errorf("%s is half-written after SIGINT", rel)
			}
		}
		return nil
	})
	res := e2e.RunEfs(t, "restore", "--passfile", pw, cipher, dest)
	if res.Code != 0 || !strings.Contains(res.Stderr, "already in place") {
		t.Fatalf("second restore: exit %d\n%s", res.Code, res.Stderr)
	}
	e2e.DiffTree(t, plain, dest)
	if hasTemp(dest) {
		t.Error("temporary files left after the second run")
	}
}

// countDone counts the restored (renamed into place) files below dir.
func countDone(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".efs-restore-") {
			n++
		}
		return nil
	})
	return n
}

// hasTemp reports whether a restore temporary file exists below dir.
func hasTemp(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".efs-restore-") {
			found = true
		}
		return nil
	})
	return found
}
