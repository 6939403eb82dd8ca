//go:build unix

package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/testenv"
)

// WebDAV serves dir with rclone serve webdav on a free local port until
// the test ends, and returns the rclone remote that reaches it. Without
// rclone it skips the test (fails it in CI).
func WebDAV(t testing.TB, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("rclone"); err != nil {
		testenv.SkipOrFail(t, "rclone not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command("rclone", "serve", "webdav", "--addr", addr, dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatalf("rclone serve webdav did not listen on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Sprintf(`:webdav,url="http://%s":`, addr)
}
