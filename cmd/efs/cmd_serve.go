package main

// efs serve and efs keygen: the view, or a backup, over HTTPS to clients
// holding an authorized Ed25519 key (serve/, internal/tlsid).

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/efs-project/efs/internal/tlsid"
	httpserve "github.com/efs-project/efs/serve"
)

// runServe implements efs serve PLAINDIR and efs serve --backup CIPHERDIR.
func runServe(args []string) error {
	fs := newFlagSet("serve", "PLAINDIR | --backup CIPHERDIR", "Serve the encrypted view of PLAINDIR over HTTPS as read-only WebDAV (the bytes of efs reverse\nand efs export), or with --backup the decrypted, authenticated backup CIPHERDIR by plaintext\npath. TLS 1.3 only; clients pin DIR/server.crt and present a certificate whose Ed25519 key is\nlisted in --authorized-keys (efs keygen makes one). Stops on SIGINT or SIGTERM.\n\n  rclone copy :webdav,url=https://127.0.0.1:8443: COPY --ca-cert DIR/server.crt \\\n    --client-cert KEYDIR/client.crt --client-key KEYDIR/client.key")
	listen := fs.String("listen", "127.0.0.1:8443", "listen on `ADDR` (host:port; port 0 picks a free one, which the log names)")
	tlsDir := fs.String("tls-dir", "", "keep the server's key and certificate in `DIR`: made on first start (the listen\nhost in the certificate), reused after; clients pin DIR/server.crt (required)")
	authKeys := fs.String("authorized-keys", "", "accept the client keys listed in `FILE`, one ssh-ed25519 line each as in\nefs keygen's client.pub; read again when it changes (required)")
	backup := fs.Bool("backup", false, "serve the backup CIPHERDIR decrypted, by plaintext path; a block that fails\nauthentication is an error status or an aborted transfer, never data")
	var kf keyFlags
	kf.register(fs, false)
	var lf logFlags
	lf.register(fs)
	var vf viewFlags
	vf.register(fs, "serve directories on other file systems as empty")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	switch {
	case *tlsDir == "" || *authKeys == "":
		return usageErr(fs, errors.New("--tls-dir and --authorized-keys are required"))
	case *backup && (len(vf.excludes) > 0 || vf.excludeFrom != "" || vf.oneFS):
		return usageErr(fs, errors.New("--exclude, --exclude-from and --one-file-system choose what the view shows: not with --backup"))
	}
	dir, what := pos[0], "PLAINDIR"
	if *backup {
		what = "CIPHERDIR"
	}
	if err := checkDir(what, dir); err != nil {
		return err
	}
	exclude, err := vf.excluder()
	if err != nil {
		return err
	}
	log := lf.logger(os.Stderr)
	// Everything that can fail without the password, before asking it.
	auth, err := tlsid.NewAuthorizer(*authKeys, log)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--authorized-keys: %w", err))
	}
	hosts, check, err := tlsid.ListenHosts(*listen)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--listen: %w", err))
	}
	cert, created, err := tlsid.ServerCertificate(*tlsDir, hosts, check)
	if errors.Is(err, tlsid.ErrWrongHost) {
		return withHint(err, "clients pin that certificate: to make a new one for this address, move server.crt and server.key out of --tls-dir, and give every client the new server.crt")
	}
	if err != nil {
		return fmt.Errorf("--tls-dir: %w", err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	defer l.Close()

	opts := httpserve.Options{Log: log, Who: func(r *http.Request) (string, bool) { return auth.Who(r.TLS) }}
	var h http.Handler
	if *backup {
		b, u, err := openBackup(&kf, dir, log)
		if err != nil {
			return err
		}
		defer u.Wipe()
		h = httpserve.NewBackup(b, opts)
	} else {
		tree, u, err := vf.openTree(&kf, dir, exclude, log)
		if err != nil {
			return err
		}
		defer u.Wipe()
		defer tree.Close()
		h = httpserve.NewView(tree, opts)
	}
	certPath := filepath.Join(*tlsDir, tlsid.ServerCertFile)
	if created {
		log.Info("made a new server certificate: give it to every client to pin", "cert", certPath)
	}
	kind := "the encrypted view"
	if *backup {
		kind = "the decrypted backup"
	}
	log.Info("serving "+kind+" over HTTPS (read-only WebDAV)", "addr", l.Addr().String(), "cert", certPath, "keys", *authKeys)
	ctx, stop := interruptible()
	defer stop()
	if err := httpserve.Serve(ctx, l, h, tlsid.ServerConfig(cert, auth), log); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
