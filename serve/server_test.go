//go:build unix

package serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efs-project/efs/internal/tlsid"
)

// TestServeTLS: over Serve, a listed key reads the view; an unlisted key,
// no key and plain HTTP get nothing of it; cancelling stops the server.
func TestServeTLS(t *testing.T) {
	f := newFixture(t)
	tmp := t.TempDir()
	cert, _, err := tlsid.ServerCertificate(filepath.Join(tmp, "tls"), []string{"127.0.0.1"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := tlsid.ClientFiles(filepath.Join(tmp, "alice"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlsid.ClientFiles(filepath.Join(tmp, "bob"), "bob"); err != nil {
		t.Fatal(err)
	}
	authFile := filepath.Join(tmp, "authorized_keys")
	os.WriteFile(authFile, []byte(alice+"\n"), 0o644)
	auth, err := tlsid.NewAuthorizer(authFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := newTextLog(&logs)
	h := NewView(f.tree, Options{Log: log, Who: func(r *http.Request) (string, bool) { return auth.Who(r.TLS) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h, tlsid.ServerConfig(cert, auth), log) }()
	base := "https://" + l.Addr().String()

	pin := x509.NewCertPool()
	pin.AddCert(cert.Leaf)
	client := func(who string) *http.Client {
		cfg := &tls.Config{RootCAs: pin}
		if who != "" {
			c, err := tls.LoadX509KeyPair(filepath.Join(tmp, who, tlsid.ClientCertFile), filepath.Join(tmp, who, tlsid.ClientKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{c}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	}
	resp, err := client("alice").Get(base + "/efs.toml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := os.ReadFile(filepath.Join(f.export, "efs.toml"))
	if resp.StatusCode != 200 || string(body) != string(want) || resp.ProtoMajor != 1 {
		t.Errorf("alice: %s %s", resp.Status, resp.Proto)
	}
	for _, who := range []string{"bob", ""} {
		if resp, err := client(who).Get(base + "/efs.toml"); err == nil {
			resp.Body.Close()
			t.Errorf("client %q: %s", who, resp.Status)
		}
	}
	// Plain HTTP: net/http's 400, no view byte.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /efs.toml HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.Contains(line, "400") {
		t.Errorf("plain HTTP: %q", line)
	}
	// In TLS 1.3 the client may see the refusal before the server has
	// logged it: give the server's connection goroutines a moment.
	logged := func() bool {
		out := logs.String()
		return strings.Contains(out, "key=alice") && strings.Contains(out, "is not in the authorized keys file")
	}
	for deadline := time.Now().Add(5 * time.Second); !logged() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !logged() {
		t.Errorf("log:\n%s", logs.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("still listening after shutdown")
	}
}

// TestLimitListener: the connection past the limit waits until one
// closes, and Close ends a waiting Accept.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitListener(inner, 1)
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		got <- c
	}()
	select {
	case <-got:
		t.Fatal("a second connection was accepted past the limit")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	first.Close() // frees one slot, not two
	select {
	case c := <-got:
		if c == nil {
			t.Fatal("no second connection")
		}
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the second connection was not accepted after the first closed")
	}
	waiting := make(chan error, 1)
	held, _ := net.Dial("tcp", inner.Addr().String())
	defer held.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, err := l.Accept(); waiting <- err }()
	time.Sleep(50 * time.Millisecond)
	l.Close()
	select {
	case err := <-waiting:
		if err == nil {
			t.Error("Accept after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting Accept")
	}
}

func newTextLog(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
