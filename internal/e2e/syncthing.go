//go:build unix

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/efs-project/efs/internal/testenv"
)

// Syncthing is one Syncthing instance run by a test: its own home
// directory, the REST API (GUI) and the sync protocol on free ports of
// 127.0.0.1, and nothing that reaches beyond this machine — no global or
// local discovery, relays, NAT traversal, usage or crash reporting, or
// upgrades. NewSyncthing makes its keys; Start writes its config once the
// peers' device IDs are known, and runs it until the test ends.
type Syncthing struct {
	Name string // a label for its logs and its device entry
	ID   string // the device ID

	home, gui, listen, apiKey string
	client                    *http.Client
	log                       lockedBuffer
	exited                    chan struct{}
}

// SyncFolder is a folder a Syncthing instance shares with its peers.
type SyncFolder struct {
	ID, Path string
	// Type is "sendonly", "receiveonly" or "sendreceive".
	Type string
	// Marker is the name in Path that tells Syncthing the folder is there
	// (markerName); empty means Syncthing's .stfolder, which it creates.
	Marker string
	// RescanS is the interval of full rescans, in seconds; the file
	// system watcher is always off, so a test decides when to scan.
	RescanS int
}

// NewSyncthing makes the keys of a new instance in its own home
// directory and picks its ports. Without syncthing it skips the test,
// except where FUSE is required (EFS_REQUIRE_FUSE) or in CI, where it
// fails it.
func NewSyncthing(t testing.TB, name string) *Syncthing {
	t.Helper()
	if _, err := exec.LookPath("syncthing"); err != nil {
		if os.Getenv("EFS_REQUIRE_FUSE") != "" {
			t.Fatalf("syncthing is required (EFS_REQUIRE_FUSE is set) but not installed: %v", err)
		}
		testenv.SkipOrFail(t, "syncthing not installed")
	}
	s := &Syncthing{
		Name:   name,
		home:   t.TempDir(),
		gui:    freePort(t),
		listen: freePort(t),
		apiKey: rand.Text(),
		// No proxy: the instance is on this machine.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second},
		exited: make(chan struct{}),
	}
	s.syncthing(t, "generate", "--home", s.home)
	s.ID = strings.TrimSpace(s.syncthing(t, "serve", "--home", s.home, "--device-id"))
	return s
}

// syncthing runs a short syncthing command and returns its standard
// output.
func (s *Syncthing) syncthing(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("syncthing", args...)
	cmd.Env = syncthingEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("syncthing %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// syncthingEnv is the environment of every syncthing run: no default
// folder, no upgrades, and no monitor process that restarts it (so the
// process a test kills is the one that syncs).
func syncthingEnv() []string {
	return append(os.Environ(), "STNODEFAULTFOLDER=1", "STNOUPGRADE=1", "STNORESTART=1")
}

// freePort returns a 127.0.0.1 address with a port that was free a
// moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Start writes the instance's config (folder shared with every peer,
// each peer at its own 127.0.0.1 address), runs it until the test ends
// and returns once its REST API answers.
func (s *Syncthing) Start(t testing.TB, folder SyncFolder, peers ...*Syncthing) {
	t.Helper()
	data := configData{Self: s.device(), Folder: folder, GUI: s.gui, APIKey: s.apiKey}
	for _, p := range peers {
		data.Peers = append(data.Peers, p.device())
	}
	var cfg bytes.Buffer
	if err := syncthingConfig.Execute(&cfg, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.home, "config.xml"), cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("syncthing", "serve", "--home", s.home, "--no-browser", "--no-restart", "--logflags=3")
	cmd.Env = syncthingEnv()
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	// Its own process group, so that the kill below takes anything it
	// starts with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting syncthing: %v", err)
	}
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		if t.Failed() {
			t.Logf("syncthing %s log:\n%s", s.Name, s.Log())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.Get("/rest/system/ping", nil)
		if err == nil {
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("syncthing %s exited at start", s.Name)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("syncthing %s: the REST API did not answer within 30 s: %v", s.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Get calls the REST API and decodes the JSON answer into v (unless nil).
func (s *Syncthing) Get(path string, v any) error { return s.call("GET", path, v) }

// Post calls the REST API with an empty body; a scan answers once done.
func (s *Syncthing) Post(path string) error { return s.call("POST", path, nil) }

func (s *Syncthing) call(method, path string, v any) error {
	req, err := http.NewRequest(method, "http://"+s.gui+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", s.apiKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("syncthing %s: %s %s: %w", s.Name, method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("syncthing %s: %s %s: %w", s.Name, method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("syncthing %s: %s %s: %s: %s", s.Name, method, path, resp.Status, bytes.TrimSpace(body))
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("syncthing %s: %s %s: %w", s.Name, method, path, err)
	}
	return nil
}

// Log returns what the instance has logged so far.
func (s *Syncthing) Log() string { return s.log.String() }

// lockedBuffer is a bytes.Buffer a process writes to while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// xmlText escapes s for XML text and attributes.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// syncthingConfig is a complete config.xml (version 36: Syncthing 1.19;
// later versions migrate it). What it leaves out takes Syncthing's
// defaults. The peers are dialled only at their 127.0.0.1 addresses,
// every second until connected; a puller that failed retries after a
// second, not a minute.
var syncthingConfig = template.Must(template.New("config.xml").Funcs(template.FuncMap{"x": xmlText}).Parse(`<configuration version="36">
    <folder id="{{x .Folder.ID}}" label="{{x .Folder.ID}}" path="{{x .Folder.Path}}" type="{{x .Folder.Type}}" rescanIntervalS="{{.Folder.RescanS}}" fsWatcherEnabled="false" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="{{.Self.ID}}"></device>
{{- range .Peers}}
        <device id="{{.ID}}"></device>
{{- end}}
{{- if .Folder.Marker}}
        <markerName>{{x .Folder.Marker}}</markerName>
{{- end}}
        <pullerPauseS>1</pullerPauseS>
    </folder>
    <device id="{{.Self.ID}}" name="{{x .Self.Name}}" compression="metadata">
        <address>dynamic</address>
    </device>
{{- range .Peers}}
    <device id="{{.ID}}" name="{{x .Name}}" compression="metadata">
        <address>tcp://{{.Listen}}</address>
    </device>
{{- end}}
    <gui enabled="true" tls="false">
        <address>{{.GUI}}</address>
        <apikey>{{.APIKey}}</apikey>
    </gui>
    <options>
        <listenAddress>tcp://{{.Self.Listen}}</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <startBrowser>false</startBrowser>
        <urAccepted>-1</urAccepted>
        <crashReportingEnabled>false</crashReportingEnabled>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <reconnectionIntervalS>1</reconnectionIntervalS>
        <setLowPriority>false</setLowPriority>
    </options>
</configuration>
`))

// configData is what syncthingConfig is filled in with.
type configData struct {
	Self        device
	Peers       []device
	Folder      SyncFolder
	GUI, APIKey string
}

// device is an instance as a config lists it.
type device struct{ ID, Name, Listen string }

func (s *Syncthing) device() device { return device{s.ID, s.Name, s.listen} }

// folderStatus is the part of /rest/db/status WaitInSync reads.
type folderStatus struct {
	State          string `json:"state"`
	Error          string `json:"error"`
	NeedTotalItems int    `json:"needTotalItems"`
	PullErrors     int    `json:"pullErrors"`
}

// completion is the part of /rest/db/completion WaitInSync reads: how
// far a device is with a folder, as the asking instance sees it.
type completion struct {
	Completion  float64 `json:"completion"`
	NeedItems   int     `json:"needItems"`
	NeedDeletes int     `json:"needDeletes"`
	// RemoteState is "valid" once the device has sent its index;
	// Syncthing before 1.20 leaves it out.
	RemoteState string `json:"remoteState"`
}

// WaitInSync waits until peer has all that s has of folder — s is idle
// (done scanning), s sees peer 100 % complete, peer is idle with nothing
// left to pull — and same, the test's own comparison of the two copies,
// returns nil. At deadline it fails the test with what it last saw.
func (s *Syncthing) WaitInSync(t testing.TB, folder string, peer *Syncthing, deadline time.Time, same func() error) {
	t.Helper()
	q := "?folder=" + url.QueryEscape(folder)
	var last string
	for {
		var from, to folderStatus
		var c completion
		err := s.Get("/rest/db/status"+q, &from)
		if err == nil {
			err = s.Get("/rest/db/completion"+q+"&device="+peer.ID, &c)
		}
		if err == nil {
			err = peer.Get("/rest/db/status"+q, &to)
		}
		switch {
		case err != nil:
			last = err.Error()
		case from.State != "idle" || to.State != "idle" || (c.RemoteState != "valid" && c.RemoteState != "") || c.Completion != 100 || c.NeedItems+c.NeedDeletes+to.NeedTotalItems != 0:
			last = fmt.Sprintf("%s: %+v; %s: %+v; %s as %s sees it: %+v", s.Name, from, peer.Name, to, peer.Name, s.Name, c)
		default:
			err := same()
			if err == nil {
				return
			}
			last = "Syncthing says in sync, but the copies differ: " + err.Error()
		}
		if time.Now().After(deadline) {
			var errs json.RawMessage
			peer.Get("/rest/folder/errors"+q, &errs)
			t.Fatalf("syncthing %s and %s not in sync by the deadline: %s\n%s's folder errors: %s", s.Name, peer.Name, last, peer.Name, errs)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
