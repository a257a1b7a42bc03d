package tunnel

import (
	"io"
	"sync"
	"sync/atomic"
)

// join copies both ways between a forwarded connection (an SSH channel)
// and its local target. An EOF on one side is passed on as a half-close (CloseWrite) so
// the other direction can finish (a client that sends its request and then
// shuts down its write side still gets the answer); an error closes both.
// It returns when both directions are done, with both connections closed.
func join(remote, local io.ReadWriteCloser, in, out *atomic.Int64) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		pipe(local, remote, in)
	}()
	go func() {
		defer wg.Done()
		pipe(remote, local, out)
	}()
	wg.Wait()
	remote.Close()
	local.Close()
}

type closeWriter interface{ CloseWrite() error }

func pipe(dst, src io.ReadWriteCloser, n *atomic.Int64) {
	buf := make([]byte, 32*1024)
	_, err := io.CopyBuffer(countingWriter{w: dst, n: n}, onlyReader{src}, buf)
	cw, ok := dst.(closeWriter)
	if err != nil || !ok || cw.CloseWrite() != nil {
		// Unblock the other direction too.
		dst.Close()
		src.Close()
	}
}

// onlyReader hides WriterTo so io.CopyBuffer uses our buffer and the
// counting writer sees every byte.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
