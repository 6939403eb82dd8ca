package tlsid

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestClientFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "alice")
	line, err := ClientFiles(dir, "alice@laptop")
	if err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("dir mode %o, want 700", m)
	}
	if m := mode(t, filepath.Join(dir, ClientKeyFile)); m != 0o600 {
		t.Errorf("client.key mode %o, want 600", m)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("client.key is not a PKCS#8 PEM block: %q", keyPEM)
	}
	priv, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.(ed25519.PrivateKey).Public().(ed25519.PublicKey)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, ClientCertFile), filepath.Join(dir, ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(cert.Leaf.PublicKey) {
		t.Error("client.crt does not hold client.key's public key")
	}
	pubFile, err := os.ReadFile(filepath.Join(dir, ClientPubFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(pubFile) != line+"\n" || !strings.HasPrefix(line, "ssh-ed25519 AAAA") || !strings.HasSuffix(line, " alice@laptop") {
		t.Errorf("client.pub %q, line %q", pubFile, line)
	}
	set, err := ParseAuthorizedKeys(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := set.Comment(pub); !ok || c != "alice@laptop" {
		t.Errorf("client.pub lists the key as %q, %v", c, ok)
	}

	// Never replaced, and no temporary file left behind.
	if _, err := ClientFiles(dir, "again"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second ClientFiles: %v, want ErrExist", err)
	}
	again, _ := os.ReadFile(filepath.Join(dir, ClientPubFile))
	if string(again) != string(pubFile) {
		t.Error("client.pub was replaced")
	}
	names, _ := os.ReadDir(dir)
	if len(names) != 3 {
		t.Errorf("dir holds %d files, want 3", len(names))
	}
}

func TestServerCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	cert, created, err := ServerCertificate(dir, []string{"127.0.0.1"}, "127.0.0.1")
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	if m := mode(t, filepath.Join(dir, ServerKeyFile)); m != 0o600 {
		t.Errorf("server.key mode %o, want 600", m)
	}
	if _, ok := cert.Leaf.PublicKey.(ed25519.PublicKey); !ok {
		t.Errorf("server key is %T, want Ed25519", cert.Leaf.PublicKey)
	}
	if err := cert.Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if !cert.Leaf.NotAfter.Equal(notAfter) || cert.Leaf.NotBefore.After(time.Now()) {
		t.Errorf("validity %v – %v", cert.Leaf.NotBefore, cert.Leaf.NotAfter)
	}
	again, created, err := ServerCertificate(dir, []string{"127.0.0.1"}, "127.0.0.1")
	if err != nil || created {
		t.Fatalf("second start: created %v, %v", created, err)
	}
	if string(again.Certificate[0]) != string(cert.Certificate[0]) {
		t.Error("the certificate changed on the second start")
	}
	if _, _, err := ServerCertificate(dir, []string{"10.1.2.3"}, "10.1.2.3"); !errors.Is(err, ErrWrongHost) {
		t.Errorf("other host: %v, want ErrWrongHost", err)
	}
	// Half an identity is not replaced: the key may be pinned elsewhere.
	if err := os.Remove(filepath.Join(dir, ServerCertFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ServerCertificate(dir, []string{"127.0.0.1"}, "127.0.0.1"); err == nil {
		t.Error("a key without its certificate was accepted")
	}
}

func TestListenHosts(t *testing.T) {
	for _, c := range []struct {
		addr, check string
		has         []string
	}{
		{"127.0.0.1:8443", "127.0.0.1", []string{"127.0.0.1"}},
		{"[::1]:8443", "::1", []string{"::1"}},
		{"backup.example:443", "backup.example", []string{"backup.example"}},
		{"localhost:0", "localhost", []string{"localhost", "127.0.0.1", "::1"}},
		{":8443", "", []string{"localhost"}},
		{"0.0.0.0:8443", "", []string{"localhost"}},
	} {
		hosts, check, err := ListenHosts(c.addr)
		if err != nil || check != c.check {
			t.Errorf("%s: check %q, %v", c.addr, check, err)
		}
		for _, h := range c.has {
			found := false
			for _, x := range hosts {
				found = found || x == h
			}
			if !found {
				t.Errorf("%s: hosts %v lack %s", c.addr, hosts, h)
			}
		}
	}
	if _, _, err := ListenHosts("8443"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

func sshLine(t *testing.T, pub any, comment string) string {
	t.Helper()
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

func TestParseAuthorizedKeys(t *testing.T) {
	a, _, _ := ed25519.GenerateKey(rand.Reader)
	b, _, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := "# clients\n\n" + sshLine(t, a, "alice") + "\r\n  " + sshLine(t, b, "bob two words") + "\n"
	set, err := ParseAuthorizedKeys([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 {
		t.Errorf("%d keys, want 2", set.Len())
	}
	if c, ok := set.Comment(b); !ok || c != "bob two words" {
		t.Errorf("bob: %q %v", c, ok)
	}
	for _, c := range []struct{ name, data, want string }{
		{"ecdsa", sshLine(t, a, "a") + "\n" + sshLine(t, &ec.PublicKey, "ec"), "line 2: a ecdsa-sha2-nistp256 key"},
		{"options", `from="10.0.0.1" ` + sshLine(t, a, "a"), "line 1: options"},
		{"garbage", "\n\nssh-ed25519 notbase64 x", "line 3: not an OpenSSH public key line"},
		{"type only", "ssh-ed25519", "line 1:"},
	} {
		if _, err := ParseAuthorizedKeys([]byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// handshake runs one TLS handshake and a one-byte exchange between a
// server with ServerConfig and a client with cfg, and returns the
// client's error (the server's refusal reaches the client as an alert on
// its first read in TLS 1.3).
func handshake(t *testing.T, server *tls.Config, client *tls.Config) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if c.(*tls.Conn).Handshake() == nil {
			c.Write([]byte("x"))
		}
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err = io.ReadFull(c, b[:])
	return err
}

func TestServerConfig(t *testing.T) {
	tmp := t.TempDir()
	cert, _, err := ServerCertificate(filepath.Join(tmp, "tls"), []string{"127.0.0.1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, who := range []string{"alice", "mallory"} {
		line, err := ClientFiles(filepath.Join(tmp, who), who)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	authFile := filepath.Join(tmp, "authorized_keys")
	if err := os.WriteFile(authFile, []byte(lines[0]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuthorizer(authFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	server := ServerConfig(cert, auth)
	pin := x509.NewCertPool()
	pin.AddCert(cert.Leaf)
	clientCert := func(who string) []tls.Certificate {
		c, err := tls.LoadX509KeyPair(filepath.Join(tmp, who, ClientCertFile), filepath.Join(tmp, who, ClientKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("alice")}); err != nil {
		t.Errorf("alice: %v", err)
	}
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("mallory")}); err == nil {
		t.Error("mallory's unlisted key was accepted")
	}
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1"}); err == nil {
		t.Error("a client without a certificate was accepted")
	}
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("alice"), MaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("TLS 1.2 was accepted")
	}
	// An ECDSA client key is refused even when its certificate is fine.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: ec}}}); err == nil {
		t.Error("an ECDSA client key was accepted")
	}

	// Keys added and removed take effect without a restart; a file that
	// does not parse, or is gone, accepts nobody.
	setKeys := func(data string) {
		t.Helper()
		if err := os.WriteFile(authFile+".new", []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(authFile+".new", authFile); err != nil {
			t.Fatal(err)
		}
		auth.mu.Lock()
		auth.checked = time.Time{} // skip the once-a-second wait
		auth.mu.Unlock()
	}
	setKeys(lines[1] + "\n")
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("alice")}); err == nil {
		t.Error("alice's removed key was still accepted")
	}
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("mallory")}); err != nil {
		t.Errorf("mallory's added key: %v", err)
	}
	setKeys(lines[1] + "\nnot a key\n")
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("mallory")}); err == nil {
		t.Error("a key was accepted from a file that does not parse")
	}
	setKeys(lines[0] + "\n")
	os.Remove(authFile)
	if err := handshake(t, server, &tls.Config{RootCAs: pin, ServerName: "127.0.0.1", Certificates: clientCert("alice")}); err == nil {
		t.Error("a key was accepted with the file gone")
	}
}

func TestNewAuthorizerNoKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(p, []byte("# nobody yet\n"), 0o644)
	if _, err := NewAuthorizer(p, nil); !errors.Is(err, ErrNoKeys) {
		t.Errorf("%v, want ErrNoKeys", err)
	}
	if _, err := NewAuthorizer(p+".missing", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v, want ErrNotExist", err)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }
