package tlsid

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// AuthorizedLine is the authorized_keys line of an Ed25519 public key:
// "ssh-ed25519 AAAA… comment".
func AuthorizedLine(pub crypto.PublicKey, comment string) (string, error) {
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(sp)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return line, nil
}

// Fingerprint is the OpenSSH fingerprint of an Ed25519 public key
// ("SHA256:…"), what a log line shows of a key nobody listed.
func Fingerprint(pub ed25519.PublicKey) string {
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "invalid key"
	}
	return ssh.FingerprintSHA256(sp)
}

// KeySet is the parsed contents of an authorized_keys file: Ed25519
// public keys with their comments.
type KeySet struct {
	comments map[string]string // raw public key → comment
}

// Len is the number of keys.
func (s *KeySet) Len() int { return len(s.comments) }

// Comment returns the comment of pub, and whether pub is listed.
func (s *KeySet) Comment(pub ed25519.PublicKey) (string, bool) {
	c, ok := s.comments[string(pub)]
	return c, ok
}

// ParseAuthorizedKeys parses an authorized_keys file: one key a line in
// OpenSSH form, blank lines and lines starting with # ignored. It is
// strict where sshd is lenient, because a line that is silently skipped
// locks a client out and one whose options are ignored grants more than it
// says: any other key type, a line with options (from=, restrict…) and a
// line that does not parse are errors naming the line.
func ParseAuthorizedKeys(data []byte) (*KeySet, error) {
	s := &KeySet{comments: make(map[string]string)}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		n := i + 1
		key, comment, options, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: not an OpenSSH public key line (ssh-ed25519 AAAA… comment)", n)
		}
		if len(options) > 0 {
			return nil, fmt.Errorf("line %d: options (%s) are not supported: list the bare key", n, strings.Join(options, ","))
		}
		ck, ok := key.(ssh.CryptoPublicKey)
		pub, isEd := ed25519.PublicKey(nil), false
		if ok {
			pub, isEd = ck.CryptoPublicKey().(ed25519.PublicKey)
		}
		if !isEd {
			return nil, fmt.Errorf("line %d: a %s key: only ssh-ed25519 keys are accepted", n, key.Type())
		}
		s.comments[string(pub)] = comment
	}
	return s, nil
}

// ErrNoKeys: the authorized_keys file lists no key, so nobody could
// connect.
var ErrNoKeys = errors.New("lists no key: nobody could connect")

// Authorizer decides which client keys may connect: those listed in an
// authorized_keys file. The file is read again when it changes (checked
// at most once a second), so a key added or removed takes effect without
// a restart, also for connections already open. It fails closed: while
// the file is missing or does not parse, no key is accepted (an edit that
// removes a leaked key and breaks a line must not keep the leaked key
// working). It is safe for concurrent use.
type Authorizer struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	keys    *KeySet
	version fileVersion // of the file keys were read from, or last rejected
	checked time.Time
}

// fileVersion tells versions of the authorized_keys file apart: a file
// replaced (an editor's save by rename) or rewritten in place.
type fileVersion struct {
	fi os.FileInfo
}

func (v fileVersion) same(fi os.FileInfo) bool {
	return v.fi != nil && os.SameFile(v.fi, fi) && v.fi.Size() == fi.Size() && v.fi.ModTime().Equal(fi.ModTime())
}

// NewAuthorizer reads the authorized_keys file at path; a file that lists
// no key is ErrNoKeys.
func NewAuthorizer(path string, log *slog.Logger) (*Authorizer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authorizer{path: path, log: log}
	keys, v, err := a.read()
	if err != nil {
		return nil, err
	}
	if keys.Len() == 0 {
		return nil, fmt.Errorf("%s %w", path, ErrNoKeys)
	}
	a.keys, a.version, a.checked = keys, v, time.Now()
	return a, nil
}

// read parses the file and returns the version it read.
func (a *Authorizer) read() (*KeySet, fileVersion, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, fileVersion{}, err
	}
	defer f.Close()
	v, err := versionOf(f)
	if err != nil {
		return nil, v, err
	}
	var buf bytes.Buffer
	// An authorized_keys file of a million keys is not one.
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFile+1)); err != nil {
		return nil, v, err
	}
	if buf.Len() > maxFile {
		return nil, v, fmt.Errorf("%s is larger than %d bytes", a.path, maxFile)
	}
	keys, err := ParseAuthorizedKeys(buf.Bytes())
	if err != nil {
		return nil, v, fmt.Errorf("%s: %w", a.path, err)
	}
	return keys, v, nil
}

// maxFile bounds the authorized_keys file (about 40,000 keys).
const maxFile = 4 << 20

func versionOf(f *os.File) (fileVersion, error) {
	fi, err := f.Stat()
	return fileVersion{fi: fi}, err
}

// current returns the keys, reading the file again if it changed.
func (a *Authorizer) current() *KeySet {
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.checked) < time.Second {
		return a.keys
	}
	a.checked = time.Now()
	if fi, err := os.Stat(a.path); err == nil && a.version.same(fi) {
		return a.keys
	}
	keys, v, err := a.read()
	a.version = v
	if err != nil {
		if a.keys.Len() > 0 {
			a.log.Error("the authorized keys file cannot be used: refusing every client until it is fixed", "err", err)
		}
		a.keys = &KeySet{}
		return a.keys
	}
	a.keys = keys
	a.log.Info("read the authorized keys file again", "file", a.path, "keys", keys.Len())
	return keys
}

// Who returns the comment of the client key of a connection (its
// fingerprint when the comment is empty), and whether the key is listed
// now.
func (a *Authorizer) Who(cs *tls.ConnectionState) (string, bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return "", false
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return "", false
	}
	c, ok := a.current().Comment(pub)
	if c == "" {
		c = Fingerprint(pub)
	}
	return c, ok
}

// verify refuses a handshake whose client certificate holds a key that is
// not listed. crypto/tls has already checked that the client holds the
// private key (TLS 1.3 CertificateVerify); the certificate's own signature
// and dates say nothing here, the key is the identity.
func (a *Authorizer) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("client key is %T, not Ed25519: only Ed25519 client keys are accepted", cs.PeerCertificates[0].PublicKey)
	}
	if _, ok := a.current().Comment(pub); !ok {
		return fmt.Errorf("client key %s is not in the authorized keys file", Fingerprint(pub))
	}
	return nil
}

// ServerConfig is the TLS configuration of efs serve: TLS 1.3 only, cert
// as the server's identity, and a client certificate required whose
// Ed25519 key a lists. A client without one, or with another key, fails
// the handshake, before any request is read.
func ServerConfig(cert tls.Certificate, a *Authorizer) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAnyClientCert,
		VerifyConnection: a.verify, // also on resumed sessions
		// HTTP/1.1 only (see serve.Serve).
		NextProtos: []string{"http/1.1"},
	}
}
