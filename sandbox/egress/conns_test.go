package egress

import (
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// chanListener hands out the pipe ends sent on it.
type chanListener struct{ c chan net.Conn }

func (l chanListener) Accept() (net.Conn, error) {
	c, ok := <-l.c
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l chanListener) Close() error   { return nil }
func (l chanListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestLimitListenerWaitsForASlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := chanListener{c: make(chan net.Conn, 2)}
		for range 2 {
			a, b := net.Pipe()
			defer b.Close()
			src.c <- a
		}
		ln := newLimitListener(src, 1)
		first, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		var accepted atomic.Bool
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted.Store(true)
				_ = c.Close()
			}
		}()
		synctest.Wait()
		if accepted.Load() {
			t.Fatal("a second connection was accepted while the only slot was taken")
		}
		_ = first.Close()
		synctest.Wait()
		if !accepted.Load() {
			t.Fatal("closing the first connection did not free its slot")
		}
		_ = first.Close() // a second Close must not free a second slot
		close(src.c)
		_ = ln.Close()
		if _, err := ln.Accept(); err == nil {
			t.Fatal("Accept after Close succeeded")
		}
	})
}
