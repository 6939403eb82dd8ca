package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits against slow, stuck or too many clients.
const (
	// readHeaderTimeout bounds the TLS handshake and each request's
	// headers (a PROPFIND body has the Handler's bodyTimeout).
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes a keep-alive connection nobody uses.
	idleTimeout = 2 * time.Minute
	// maxHeaderBytes bounds a request's headers.
	maxHeaderBytes = 64 << 10
	// maxConns bounds open connections (each a goroutine and TLS state);
	// the next one waits in the kernel's backlog.
	maxConns = 256
	// shutdownGrace is how long requests in flight may finish after
	// SIGINT or SIGTERM before their connections are closed.
	shutdownGrace = 10 * time.Second
)

// Serve answers HTTPS on l with h until ctx is done, then stops accepting,
// lets requests in flight finish for up to 10 s and closes every
// connection. cfg is the TLS configuration (tlsid.ServerConfig): the TLS
// handshake, with its client key check, completes before any request is
// read. A plain-HTTP request gets net/http's 400 and nothing else. It
// speaks HTTP/1.1 only: one protocol stack to bound, and an aborted
// response closes its connection, which every client sees as a failed
// transfer. Errors of the server (refused handshakes among them) go to
// log at Warn.
func Serve(ctx context.Context, l net.Listener, h http.Handler, cfg *tls.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         cfg,
		Protocols:         &protocols,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(limitListener(l, maxConns), "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still in flight after the grace period: closing their connections", "grace", shutdownGrace)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// limitListener accepts at most n connections at once.
func limitListener(l net.Listener, n int) net.Listener {
	return &limited{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limited struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{} // closed by Close: a waiting Accept returns
	closeOnce sync.Once
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limited) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn frees its slot on its first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
