package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// detEnv makes the test binary, re-executed by TestDeterminismAcrossProcesses,
// print the hash of a fixed ciphertext instead of running tests.
const detEnv = "EFS_CONTENT_DETERMINISM_CHILD"

// detCiphertext seals a fixed 3-block-plus plaintext under a fixed key with
// EncryptAt over several odd ranges (so the parallel path is used too).
func detCiphertext(t testing.TB) []byte {
	key := bytes.Repeat([]byte{0x5a}, 32)
	id := DeriveFileID(bytes.Repeat([]byte{0x11}, 32), FileIDInode, FileVersion{Ino: 77}, "det/file")
	h, err := NewHeader(id, 4096)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(key, h, "det/file")
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 40*4096+123)
	for i := range plain {
		plain[i] = byte(i * 7 % 253)
	}
	return encryptAll(t, f, plain, 3*4096+5)
}

func TestMain(m *testing.M) {
	if os.Getenv(detEnv) != "" {
		sum := sha256.Sum256(detCiphertext(childTB{}))
		os.Stdout.WriteString(hex.EncodeToString(sum[:]) + "\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childTB is the testing.TB of the child process: failures end it.
type childTB struct{ testing.TB }

func (childTB) Helper() {}
func (childTB) Fatalf(format string, args ...any) {
	os.Stderr.WriteString("child failed: " + strings.TrimSpace(format) + "\n")
	os.Exit(3)
}
func (c childTB) Fatal(args ...any) { c.Fatalf("fatal") }

// TestDeterminismAcrossProcesses seals the same plaintext in two fresh
// processes (different ASLR, scheduling and GOMAXPROCS) and in this one,
// and requires byte-identical ciphertext.
func TestDeterminismAcrossProcesses(t *testing.T) {
	sum := sha256.Sum256(detCiphertext(t))
	want := hex.EncodeToString(sum[:])
	for _, procs := range []string{"1", "2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), detEnv+"=1", "GOMAXPROCS="+procs)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child (GOMAXPROCS=%s): %v\n%s", procs, err, stderr.String())
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Fatalf("child (GOMAXPROCS=%s) ciphertext SHA-256 %s, this process %s", procs, got, want)
		}
	}
	// Decrypting gives the plaintext back, so the hash is of a real
	// ciphertext and not, say, of zeros.
	ct := detCiphertext(t)
	h, _ := ParseHeader(ct)
	f, _ := NewFile(bytes.Repeat([]byte{0x5a}, 32), h, "det/file")
	dst := make([]byte, 40*4096+123)
	if n, err := f.DecryptAt(dst, 0, int64(len(ct)), bytes.NewReader(ct)); err != io.EOF || n != len(dst) || dst[100] != byte(700%253) {
		t.Fatalf("decrypting the determinism ciphertext: %d, %v", n, err)
	}
}
