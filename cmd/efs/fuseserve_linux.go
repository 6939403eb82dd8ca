package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// serve reports success to a waiting parent, then waits until the file
// system is unmounted, unmounting it cleanly on SIGINT or SIGTERM.
func serve(server *fuse.Server, mountpoint string, log *slog.Logger) {
	defer startProfile()()
	notifyParent(nil)
	if isDaemonChild() {
		// Detach from the parent's (already /dev/null) stdio for good.
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			unix.Dup2(int(null.Fd()), 0)
			unix.Dup2(int(null.Fd()), 1)
			unix.Dup2(int(null.Fd()), 2)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for sig := range sigs {
			log.Info("unmounting", "signal", sig.String(), "mountpoint", mountpoint)
			for i := 0; ; i++ {
				err := server.Unmount()
				if err == nil {
					break
				}
				if i == 0 {
					log.Warn("unmount failed, retrying (is the mountpoint busy?)", "err", err)
				}
				time.Sleep(500 * time.Millisecond)
				if i > 20 {
					log.Error("giving up unmounting; use efs unmount", "mountpoint", mountpoint)
					break
				}
			}
		}
	}()
	server.Wait()
	signal.Stop(sigs)
	log.Info("unmounted", "mountpoint", mountpoint)
}
