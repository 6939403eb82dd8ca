//go:build unix

package e2e

import "os"

// Appender appends to a file in bursts, one burst per Kick, so a test of
// a file that grows while it is copied makes it grow by a bounded amount
// per copy, whatever the machine's speed.
type Appender struct {
	kick chan struct{}
	done chan error
}

// StartAppender appends data[start:] to path, steps writes of step bytes
// per Kick; queue is how many kicks may wait.
func StartAppender(path string, data []byte, start, step, steps, queue int) *Appender {
	a := &Appender{kick: make(chan struct{}, queue), done: make(chan error, 1)}
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			a.done <- err
			return
		}
		defer f.Close()
		for n := start; n < len(data); {
			if _, ok := <-a.kick; !ok {
				break
			}
			for i := 0; i < steps && n < len(data); i, n = i+1, n+step {
				if _, err := f.Write(data[n : n+step]); err != nil {
					a.done <- err
					return
				}
			}
		}
		a.done <- nil
	}()
	return a
}

// Kick asks for the next burst.
func (a *Appender) Kick() { a.kick <- struct{}{} }

// Stop ends the appending and returns the first write error.
func (a *Appender) Stop() error {
	close(a.kick)
	return <-a.done
}
