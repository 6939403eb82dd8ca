package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"

	"github.com/efs-project/efs/internal/tlsid"
)

// runKeygen implements efs keygen DIR.
func runKeygen(args []string) error {
	fs := newFlagSet("keygen", "DIR", "Make a client identity for efs serve in DIR: client.key (a new Ed25519 key, PKCS#8 PEM, 0600),\nclient.crt (a self-signed certificate for it) and client.pub (its authorized-keys line, also\nprinted). Add the line to the server's --authorized-keys file; give rclone --client-cert\nDIR/client.crt --client-key DIR/client.key (curl: --cert, --key). Existing files are never\nreplaced.")
	comment := fs.String("comment", "", "the key's `COMMENT` in client.pub, which the server's access log shows\n(default USER@HOST)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	dir := pos[0]
	c := *comment
	if c == "" {
		c = defaultComment()
	}
	line, err := tlsid.ClientFiles(dir, c)
	if errors.Is(err, os.ErrExist) {
		return withHint(err, "efs keygen never replaces a key: give another DIR")
	}
	if err != nil {
		return err
	}
	fmt.Println(line)
	return nil
}

// defaultComment is USER@HOST, what ssh-keygen puts in a key's comment.
func defaultComment() string {
	name := "efs"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return name
}
