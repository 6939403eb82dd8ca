// Package tlsid holds the TLS identities of efs serve: the server's
// self-signed Ed25519 certificate, made once in a directory and pinned by
// every client, and the clients' Ed25519 keys, made by efs keygen and
// listed by the server in an OpenSSH authorized_keys file. Nobody signs
// anybody's certificate: a client trusts exactly the server certificate it
// was given, the server exactly the public keys it lists, as with SSH.
package tlsid

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names in the server's --tls-dir and in efs keygen's directory.
const (
	ServerKeyFile  = "server.key"
	ServerCertFile = "server.crt"
	ClientKeyFile  = "client.key"
	ClientCertFile = "client.crt"
	ClientPubFile  = "client.pub"
)

// notAfter is RFC 5280's "no well-defined expiration date": the server's
// certificate is pinned, and a client's is only a carrier for its key, so
// an expiry would only break working setups on some future morning.
var notAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// ErrWrongHost: the server certificate in the directory does not name the
// host being listened on, so clients that pin it would refuse it.
var ErrWrongHost = errors.New("the server certificate does not name the listen address")

// ServerCertificate loads the server's key and certificate from dir. On
// first use (neither file there) it makes dir (0700), a new Ed25519 key
// (server.key, PKCS#8 PEM, 0600) and a self-signed certificate naming
// hosts (server.crt); created reports that. A certificate that exists
// but does not name check (when check is not "") is ErrWrongHost: it is
// never replaced here, since every client pins it.
func ServerCertificate(dir string, hosts []string, check string) (cert tls.Certificate, created bool, err error) {
	keyPath, certPath := filepath.Join(dir, ServerKeyFile), filepath.Join(dir, ServerCertFile)
	_, kerr := os.Lstat(keyPath)
	_, cerr := os.Lstat(certPath)
	if errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return tls.Certificate{}, false, fmt.Errorf("making the TLS directory: %w", err)
		}
		if err := makeIdentity(keyPath, certPath, "efs serve", x509.ExtKeyUsageServerAuth, hosts); err != nil {
			return tls.Certificate{}, false, err
		}
		created = true
	}
	cert, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("loading the server certificate: %w", err)
	}
	if check != "" {
		if err := cert.Leaf.VerifyHostname(check); err != nil {
			return tls.Certificate{}, false, fmt.Errorf("%s: %w %s (it names %s)", certPath, ErrWrongHost, check, names(cert.Leaf))
		}
	}
	return cert, created, nil
}

// names lists the host names and addresses a certificate is valid for.
func names(c *x509.Certificate) string {
	var out []string
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		return "no host"
	}
	s := out[0]
	for _, n := range out[1:] {
		s += ", " + n
	}
	return s
}

// ClientFiles writes a new client identity into dir, making it (0700) if
// it is missing: client.key (the Ed25519 key, PKCS#8 PEM, 0600),
// client.crt (a self-signed certificate for it, which TLS clients such as
// rclone and curl present) and client.pub (its authorized_keys line with
// comment). It never replaces an existing file (fs.ErrExist), and returns
// the authorized_keys line.
func ClientFiles(dir, comment string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	keyPath, certPath, pubPath := filepath.Join(dir, ClientKeyFile), filepath.Join(dir, ClientCertFile), filepath.Join(dir, ClientPubFile)
	for _, p := range []string{keyPath, certPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", &fs.PathError{Op: "create", Path: p, Err: fs.ErrExist}
		}
	}
	if err := makeIdentity(keyPath, certPath, "efs client", x509.ExtKeyUsageClientAuth, nil); err != nil {
		return "", err
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return "", err
	}
	line, err := AuthorizedLine(cert.Leaf.PublicKey, comment)
	if err != nil {
		return "", err
	}
	if err := writeNew(pubPath, []byte(line+"\n"), 0o644); err != nil {
		return "", err
	}
	return line, nil
}

// makeIdentity writes a new Ed25519 key to keyPath and a self-signed
// certificate for it, with one extended key usage and the given host
// names, to certPath.
func makeIdentity(keyPath, certPath, cn string, usage x509.ExtKeyUsage, hosts []string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := selfSign(pub, priv, cn, usage, hosts)
	if err != nil {
		return err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	clear(pkcs8)
	defer clear(keyPEM)
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// selfSign returns the DER of a certificate for pub signed by its own key.
func selfSign(pub ed25519.PublicKey, priv crypto.Signer, cn string, usage x509.ExtKeyUsage, hosts []string) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		// An hour back: a client whose clock is a little behind must
		// not see a certificate from the future.
		NotBefore:             time.Now().Add(-time.Hour).UTC(),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
}

// writeNew writes data to a new file path with mode perm: into a temporary
// file first, then linked to path, so that path is never half written and
// an existing file is never replaced (fs.ErrExist).
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp, path)
}

// ListenHosts are the names a server listening on addr (host:port) puts in
// its certificate, and the one it checks an existing certificate for
// ("" for none). A named host or address is the only name; "localhost"
// adds the loopback addresses it resolves to. An unspecified address
// (":8443", "0.0.0.0:8443", "[::]:8443") is reachable under many names:
// the machine's host name, localhost and the addresses of its interfaces
// at first start, and no check later, since the interfaces may change.
func ListenHosts(addr string) (hosts []string, check string, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", err
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		hosts = []string{host}
		if host == "localhost" {
			hosts = append(hosts, "127.0.0.1", "::1")
		}
		return hosts, host, nil
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
	}
	hosts = append(hosts, "localhost")
	ifaddrs, _ := net.InterfaceAddrs()
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			hosts = append(hosts, n.IP.String())
		}
	}
	if len(ifaddrs) == 0 {
		hosts = append(hosts, "127.0.0.1", "::1")
	}
	return hosts, "", nil
}
