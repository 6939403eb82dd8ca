package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/efs-project/efs/config"
	"github.com/efs-project/efs/forward"
	"github.com/efs-project/efs/keys"
	"github.com/efs-project/efs/naming"
)

// keyFlags locate the config and supply the secret: a password (via
// passwordFlags or the terminal) or, for recovery, the master key itself.
type keyFlags struct {
	passwordFlags
	config        string
	masterkey     string
	masterkeyFile string
	// cmd is "efs NAME", for the warning about --masterkey.
	cmd string
	// Overrides for recovery with --masterkey when the config is missing
	// or damaged; ignored (and rejected) otherwise.
	nameEncoding string
	nameMax      int
	blockSize    int
	fileID       string
	format       int
	padding      string
	hideMetadata bool
	// backupDir is the backup being opened, whose root tells its format
	// when recovering without a config; "" for a plaintext tree.
	backupDir string
}

// register adds the flags; recovery adds --masterkey and the overrides.
func (k *keyFlags) register(fs *flag.FlagSet, recovery bool) {
	k.passwordFlags.register(fs)
	k.cmd = "efs " + fs.Name()
	fs.StringVar(&k.config, "config", "", "use the config at `FILE` instead of the one in the directory")
	if !recovery {
		return
	}
	fs.StringVar(&k.masterkeyFile, "masterkey-file", "", "recovery: read the master key printed by efs init from `FILE` (- for standard input)\ninstead of using the config's password")
	fs.StringVar(&k.masterkey, "masterkey", "", "recovery: the master `KEY` on the command line, where other local users can read it;\nprefer --masterkey-file")
	fs.StringVar(&k.nameEncoding, "name-encoding", "", "recovery with a master key and no usable config: name encoding (base32|base64, default base32)")
	fs.IntVar(&k.nameMax, "name-max", 0, "recovery with a master key and no usable config: long-name limit (default 255)")
	fs.IntVar(&k.blockSize, "block-size", 0, "recovery with a master key and no usable config: block size (default 4096)")
	fs.StringVar(&k.fileID, "file-id", "", "recovery with a master key and no usable config: file-id mode (inode|path|version, default inode)")
	fs.IntVar(&k.format, "format", 0, "recovery with a master key and no usable config: the format `VERSION`, 1 or 2\n(default: 2 if the backup's root holds "+naming.RecordName+", else 1)")
	fs.StringVar(&k.padding, "padding", "", "recovery with a master key and no usable config: padding (none|padme)\n(default: padme if the header of the root's "+naming.RecordName+" says padded, else none)")
	fs.BoolVar(&k.hideMetadata, "hide-metadata", false, "recovery with a master key and no usable config: the backup was made with\nefs init --hide-metadata, so its stored mtimes are pseudo-mtimes and are never restored")
}

// unlocked is what a command needs to work on a tree or a backup.
type unlocked struct {
	Settings config.Settings
	Keys     *keys.Keys
	// ConfigPath is the config used, "" when recovering without one.
	ConfigPath string
}

// Namer returns the name/symlink cipher for the settings.
func (u *unlocked) Namer() (*naming.Namer, error) {
	return naming.New(u.Keys.Name(), u.Keys.Symlink(), u.Settings.NamingOptions())
}

// Wipe zeroes the keys.
func (u *unlocked) Wipe() { u.Keys.Wipe() }

// overrides applies the recovery flags to s.
func (k *keyFlags) overrides(s config.Settings) (config.Settings, error) {
	t := s.Text()
	if k.nameEncoding != "" {
		t.NameEncoding = k.nameEncoding
	}
	if k.fileID != "" {
		t.FileID = k.fileID
	}
	if k.nameMax != 0 {
		t.NameMax = k.nameMax
	}
	if k.blockSize != 0 {
		t.BlockSize = k.blockSize
	}
	if k.format != 0 {
		t.Version = k.format
	}
	if k.padding != "" {
		t.Padding = k.padding
	}
	if k.hideMetadata {
		t.HideMetadata = true
	}
	s, err := t.Parse()
	if err != nil {
		return s, withCode(exitUsage, err)
	}
	return s, nil
}

func (k *keyFlags) hasOverrides() bool {
	return k.nameEncoding != "" || k.nameMax != 0 || k.blockSize != 0 || k.fileID != "" || k.format != 0 || k.padding != "" || k.hideMetadata
}

// recoveryFlags names the flags hasOverrides looks at, for its errors.
const recoveryFlags = "--name-encoding, --name-max, --block-size, --file-id, --format, --padding and --hide-metadata"

// detectFormat tells the format of the backup in dir without its config:
// every directory of a v2 backup holds its record (efs.dir), and no v1
// backup has that name.
func detectFormat(dir string) (version int, why string) {
	if _, err := os.Lstat(filepath.Join(dir, naming.RecordName)); err == nil {
		return 2, naming.RecordName + " at the root"
	}
	return 1, "no " + naming.RecordName + " at the root"
}

// givesMasterKey reports whether the user gave a master key for recovery.
func (k *keyFlags) givesMasterKey() bool { return k.masterkey != "" || k.masterkeyFile != "" }

// masterKeyText returns the master key as the user gave it: handed over by
// the parent of a daemon, read from --masterkey-file, or --masterkey (with
// a warning: every local user can read a command line). It is nil when
// none was given. The caller clears it.
func (k *keyFlags) masterKeyText() ([]byte, error) {
	if b, ok, err := daemonSecret(handMasterKey); ok {
		return b, err
	}
	switch {
	case k.masterkey != "" && k.masterkeyFile != "":
		return nil, withCode(exitUsage, errors.New("give either --masterkey or --masterkey-file, not both"))
	case k.masterkeyFile == "-":
		b, err := readLine(os.Stdin)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("reading the master key from standard input: %w", err))
		}
		return b, nil
	case k.masterkeyFile != "":
		b, err := readPassfile(k.masterkeyFile)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("reading --masterkey-file: %w", err))
		}
		return b, nil
	case k.masterkey != "":
		fmt.Fprintf(os.Stderr, "%s: warning: --masterkey puts the master key on the command line, where every local user can read it (%s)\n", k.cmd, argvReaders(runtime.GOOS))
		fmt.Fprintln(os.Stderr, "hint: --masterkey-file FILE (- for standard input) keeps it out of sight")
		return []byte(k.masterkey), nil
	}
	return nil, nil
}

// masterKey parses the master key the user gave; nil when none was given.
func (k *keyFlags) masterKey() (*keys.MasterKey, error) {
	text, err := k.masterKeyText()
	if text == nil || err != nil {
		return nil, err
	}
	defer clear(text)
	mk, err := keys.ParseMasterKeyBytes(text)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return mk, nil
}

// unlock loads the config (k.config or defaultPath) and unwraps the master
// key. notFoundHints are attached to the error when there is no config.
func (k *keyFlags) unlock(defaultPath string, notFoundHints []string, log *slog.Logger) (*unlocked, error) {
	path := defaultPath
	if k.config != "" {
		path = k.config
	}
	cfg, cfgErr := config.Load(path)
	mk, err := k.masterKey()
	if err != nil {
		return nil, err
	}
	if mk == nil {
		if k.hasOverrides() {
			return nil, withCode(exitUsage, errors.New(recoveryFlags+" are recovery flags: use them with --masterkey-file"))
		}
		if cfgErr != nil {
			if errors.Is(cfgErr, config.ErrNotFound) {
				return nil, withHint(cfgErr, notFoundHints...)
			}
			return nil, cfgErr
		}
		pw, err := k.get("Password", false)
		if err != nil {
			return nil, err
		}
		defer clear(pw)
		mk, err := cfg.Unlock(pw)
		// argon2id's working memory (256 MiB by default) is garbage now.
		// Hand it back at once: the Go runtime would keep it for minutes,
		// and in efs reverse, mount or serve that is most of the daemon's
		// resident memory for its first minutes.
		debug.FreeOSMemory()
		if errors.Is(err, config.ErrTampered) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err != nil {
			return nil, err
		}
		defer mk.Wipe()
		return finishUnlock(mk, cfg.Settings, path)
	}
	defer mk.Wipe()
	settings := config.Defaults()
	used := ""
	switch {
	case cfgErr != nil:
		log.Warn("recovering without a usable config: using defaults and flags", "config", path, "reason", cfgErr)
	case cfg.Verify(mk) != nil:
		// A config that parses but does not authenticate under this key
		// almost always means a mistyped key; going on with defaults
		// would only report every entry as damaged.
		return nil, withCode(exitPassword, withHint(fmt.Errorf("the master key does not fit %s", path),
			"check the key: it is the one efs init printed when it created this config",
			"if you are sure the key is right and the config was altered, move the config aside to recover with defaults and flags"))
	default:
		settings, used = cfg.Settings, path
	}
	if used != "" && k.hasOverrides() {
		return nil, withCode(exitUsage, errors.New("the config is intact: the recovery flags ("+recoveryFlags+") are only for a missing or damaged config"))
	}
	if used == "" {
		if k.format == 0 && k.backupDir != "" {
			v, why := detectFormat(k.backupDir)
			settings.Version = v
			log.Info("format version told by the backup", "format", v, "because", why)
		}
		if k.padding == "" && k.backupDir != "" && settings.Version >= 2 && k.format != 1 {
			padded, why := forward.DetectPadding(k.backupDir)
			if padded {
				settings.Flags |= config.FlagPadme
			}
			log.Info("padding told by the backup", "padding", settings.Padding(), "because", why)
		}
		if settings, err = k.overrides(settings); err != nil {
			return nil, err
		}
	}
	return finishUnlock(mk, settings, used)
}

func finishUnlock(mk *keys.MasterKey, s config.Settings, path string) (*unlocked, error) {
	keys, err := mk.Derive()
	if err != nil {
		return nil, err
	}
	return &unlocked{Settings: s, Keys: keys, ConfigPath: path}, nil
}

// noTreeConfigHint follows "config not found" for a PLAINDIR.
func noTreeConfigHint(plainDir string) string {
	return fmt.Sprintf("run efs init %s first, or give --config FILE", plainDir)
}

// checkDir returns an exitBadDir error unless path is an existing directory.
func checkDir(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return withCode(exitBadDir, fmt.Errorf("%s: %w", what, err))
	}
	if !st.IsDir() {
		return withCode(exitBadDir, fmt.Errorf("%s %s is not a directory", what, path))
	}
	return nil
}

// checkNewDir checks a directory efs creates when it is missing (export's
// and restore's DEST): it must be a directory, or not exist in a directory
// that does, so a typo fails before any password is asked for.
func checkNewDir(what, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return checkDir(what+"'s parent", filepath.Dir(filepath.Clean(path)))
	}
	return checkDir(what, path)
}

// argvReaders names where other local users of system goos see a
// process's command line, for the --masterkey warning.
func argvReaders(goos string) string {
	switch goos {
	case "linux":
		return "ps, /proc"
	case "windows":
		return "Task Manager, Get-CimInstance Win32_Process"
	}
	return "ps"
}
