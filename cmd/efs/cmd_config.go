package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/naming"
)

// existsHint follows ErrExists from efs init.
const existsHint = "efs init never overwrites a config; efs passwd changes its password"

func runInit(args []string) error {
	fs := newFlagSet("init", "PLAINDIR", "Create PLAINDIR/.efs.toml with a new random master key wrapped by your password,\nand print the master key once: keep it apart from the backup to restore without the config.")
	var pf passwordFlags
	pf.register(fs)
	var lf logFlags
	lf.register(fs)
	cfgPath := fs.String("config", "", "write the config to `FILE` instead of PLAINDIR/.efs.toml")
	d := config.Defaults().Text()
	enc := fs.String("name-encoding", d.NameEncoding, "name encoding: base32 (safe on case-insensitive storage) or base64 (shorter)")
	nameMax := fs.Int("name-max", d.NameMax, fmt.Sprintf("longest encrypted name stored as is (%d..%d); longer ones get a hashed name plus a companion file", naming.MinNameMax, naming.MaxNameMax))
	blockSize := fs.Int("block-size", d.BlockSize, "plaintext block size in bytes: a power of two from 4096 to 1048576")
	fileID := fs.String("file-id", d.FileID, "derive per-file keys from inode+path (inode), the path alone (path: survives\ncopying the tree to a new disk), or inode+path+mtime+size (version: every change\nre-uploads the whole file; protects against splicing, blocks of two versions\ncombined into a file that never existed)")
	padding := fs.String("padding", d.Padding, "pad every file to a Padmé size (padme: the storage learns a size to within\n~12%, not to the byte; costs at most ~12% space) or not (none)")
	hideMeta := fs.Bool("hide-metadata", false, "show the storage uniform modes (0600 files, 0700 directories), the\nmounting user as owner and keyed pseudo-mtimes; the real ones travel sealed")
	kdfTime := fs.Uint64("kdf-time", 0, "argon2id passes, 1..16 (default 2; lower only for tests)")
	kdfMemory := fs.Uint64("kdf-memory", 0, "argon2id memory in MiB, 1..1024 (default 256; lower only for tests)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	dir := pos[0]
	if err := checkDir("PLAINDIR", dir); err != nil {
		return err
	}
	s, err := config.SettingsText{Version: d.Version, NameEncoding: *enc, NameMax: *nameMax, BlockSize: *blockSize, FileID: *fileID, Padding: *padding, HideMetadata: *hideMeta}.Parse()
	if err != nil {
		return withCode(exitUsage, err)
	}
	path := filepath.Join(dir, config.FileName)
	if *cfgPath != "" {
		path = *cfgPath
	}
	if _, err := os.Lstat(path); err == nil {
		return withHint(fmt.Errorf("%w: %s", config.ErrExists, path), existsHint)
	}
	// NewKDF checks the ranges before narrowing to the file's 32-bit
	// fields, so 4294967297 passes is an error, not one pass.
	kdf, err := config.NewKDF(*kdfTime, *kdfMemory)
	if err != nil {
		return withCode(exitUsage, err)
	}
	pw, err := pf.get("New password", true)
	if err != nil {
		return err
	}
	defer clear(pw)
	cfg, mk, err := config.Create(pw, s, kdf, "efs "+version)
	if err != nil {
		return withCode(exitUsage, err)
	}
	defer mk.Wipe()
	if err := cfg.WriteNew(path); err != nil {
		if errors.Is(err, config.ErrExists) {
			err = withHint(err, existsHint)
		}
		return err
	}
	fmt.Printf(`Created %s.

Your master key is:

    %s

Write it down and keep it apart from the backup. With it, efs can restore
the backup even if the config or the password is lost (--masterkey).
It is shown only this once.

Next: efs reverse %s MOUNTPOINT
`, path, mk.Recovery(), dir)
	return nil
}

// findConfig returns the config path for DIR: DIR/.efs.toml (a plaintext
// tree) or DIR/efs.toml (a backup); a file argument is used as is.
func findConfig(arg string) (string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", withCode(exitBadDir, err)
	}
	if !st.IsDir() {
		return arg, nil
	}
	for _, name := range []string{config.FileName, naming.ConfigName} {
		p := filepath.Join(arg, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", withHint(fmt.Errorf("%w: neither %s nor %s in %s", config.ErrNotFound, config.FileName, naming.ConfigName, arg),
		fmt.Sprintf("%s is neither an efs tree nor a backup; efs init %s makes it a tree", arg, arg))
}

func runPasswd(args []string) error {
	fs := newFlagSet("passwd", "DIR", "Change the password of the config in DIR (a plaintext tree or a backup). Only the\nwrapped master key changes; no file is re-encrypted and the view stays identical.\n\nThis does not protect against a leaked old password: every upload carries the\nconfig as efs.toml, and storage that keeps old versions keeps copies the old\npassword still opens, and with them the master key. After a leak, use efs rekey.")
	var pf passwordFlags
	pf.register(fs)
	npf := passwordFlags{prefix: "new-"}
	fs.StringVar(&npf.passfile, "new-passfile", "", "read the new password from the first line of `FILE`")
	fs.StringVar(&npf.extpass, "new-extpass", "", "run `CMD` for the new password")
	cfgPath := fs.String("config", "", "change the config at `FILE`")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	npf.timeout = pf.timeout
	path := *cfgPath
	if path == "" {
		if path, err = findConfig(pos[0]); err != nil {
			return err
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	old, err := pf.get("Old password", false)
	if err != nil {
		return err
	}
	defer clear(old)
	mk, err := cfg.Unlock(old)
	if err != nil {
		return err
	}
	defer mk.Wipe()
	pw, err := npf.get("New password", true)
	if err != nil {
		return err
	}
	defer clear(pw)
	if err := cfg.ChangePassword(mk, pw); err != nil {
		return err
	}
	if err := cfg.Replace(path); err != nil {
		return err
	}
	fmt.Printf("Password changed in %s. The master key is unchanged.\n", path)
	return nil
}

// rekeySummary is the help of efs rekey.
const rekeySummary = `Give PLAINDIR a new random master key, in a new config wrapped with a new password,
for when the password or the master key has leaked. (efs passwd cannot help then: the
storage keeps old copies of efs.toml, which the old password still opens.)

The whole encrypted view changes, every name and every block: the next upload is a
full one. Upload it to a new place and remove the old backup only once the new one is
complete. Backups made before stay readable only with the old key: the old password
with the config they carry, or the old master key. The old config is kept beside the
new one as .efs.toml.old-TIME; efs never deletes it.`

// runRekey implements efs rekey PLAINDIR.
func runRekey(args []string) error {
	fs := newFlagSet("rekey", "PLAINDIR", rekeySummary)
	var pf passwordFlags
	pf.register(fs)
	npf := passwordFlags{prefix: "new-"}
	fs.StringVar(&npf.passfile, "new-passfile", "", "read the new password from the first line of `FILE`")
	fs.StringVar(&npf.extpass, "new-extpass", "", "run `CMD` for the new password")
	cfgPath := fs.String("config", "", "rekey the config at `FILE` instead of PLAINDIR/.efs.toml")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	npf.timeout = pf.timeout
	dir := pos[0]
	if err := checkDir("PLAINDIR", dir); err != nil {
		return err
	}
	path := filepath.Join(dir, config.FileName)
	if *cfgPath != "" {
		path = *cfgPath
	}
	old, err := config.Load(path)
	if errors.Is(err, config.ErrNotFound) {
		return withHint(err, noTreeConfigHint(dir))
	}
	if err != nil {
		return err
	}
	pw, err := pf.get("Current password", false)
	if err != nil {
		return err
	}
	defer clear(pw)
	oldKey, err := old.Unlock(pw)
	if err != nil {
		return err
	}
	oldKey.Wipe() // only proof that the caller may replace the config
	newPw, err := npf.get("New password", true)
	if err != nil {
		return err
	}
	defer clear(newPw)
	// The same settings and KDF cost, a fresh salt.
	kdf, err := config.DefaultKDF()
	if err != nil {
		return err
	}
	kdf.Time, kdf.MemoryKiB, kdf.Threads = old.KDF.Time, old.KDF.MemoryKiB, old.KDF.Threads
	cfg, mk, err := config.Create(newPw, old.Settings, kdf, "efs "+version)
	if err != nil {
		return err
	}
	defer mk.Wipe()
	kept := path + ".old-" + time.Now().UTC().Format("20060102T150405Z")
	if err := keepCopy(path, kept); err != nil {
		return fmt.Errorf("keeping the old config: %w", err)
	}
	if err := cfg.Replace(path); err != nil {
		os.Remove(kept) // the old config is still in place
		return err
	}
	fmt.Printf(`Rekeyed %s: a new master key, wrapped with the new password.

Your new master key is:

    %s

Write it down and keep it apart from the backup. With it, efs can restore
backups made from now on even if the config or the password is lost
(--masterkey-file). It is shown only this once.

The old config is kept as %s.

Warning: the whole encrypted view has changed, every name and every block,
so the next upload is a full one. Upload it to a new place, and remove the
old backup only once the new one is complete: a sync over the old backup
mixes both keys until it finishes. Backups made before stay readable only
with the old key: the old password (with the config they carry, or the one
kept above), or the old master key. A view mounted now shows the old key
until it is unmounted and mounted again.
`, path, mk.Recovery(), kept)
	return nil
}

// keepCopy makes dst, which must not exist, a copy of the file src: a hard
// link where the file system has them, else a synced copy, mode 0600.
func keepCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}

func runInfo(args []string) error {
	fs := newFlagSet("info", "DIR|CONFIG", "Show the settings of a config without asking for the password.")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	path, err := findConfig(pos[0])
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	s := cfg.Settings
	fmt.Printf("config:         %s\nformat version: %d\ncreated by:     %s\nname encoding:  %s\nname limit:     %d bytes\nblock size:     %d bytes\nfile id:        %s\npadding:        %s\nhide metadata:  %s\nkdf:            argon2id, %d passes, %d MiB, %d threads\n",
		path, s.Version, cfg.Creator, s.NameEncoding, s.NameMax, s.BlockSize, s.FileID, s.Padding(), yesNo(s.HideMetadata()),
		cfg.KDF.Time, cfg.KDF.MemoryKiB>>10, cfg.KDF.Threads)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func runVersion(args []string) error {
	fs := newFlagSet("version", "", "Print the efs and format versions.")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	fmt.Printf("efs %s (format v%d)\n", version, config.FormatVersion)
	return nil
}
