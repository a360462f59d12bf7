package egress

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

const benchBytes = 100 << 20

// startSource serves benchBytes to every connection, then closes it.
func startSource(b *testing.B) net.Listener {
	ln := listen(b)
	chunk := make([]byte, 256<<10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for left := benchBytes; left > 0; left -= len(chunk) {
					if _, err := c.Write(chunk[:min(left, len(chunk))]); err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln
}

func drain(b *testing.B, r io.Reader) {
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != benchBytes {
		b.Fatalf("read %d bytes, %v; want %d", n, err, benchBytes)
	}
}

// BenchmarkTransfer100MB downloads 100 MB over loopback directly and
// through a CONNECT tunnel; compare the MB/s of the two.
func BenchmarkTransfer100MB(b *testing.B) {
	src := startSource(b)
	port := src.Addr().(*net.TCPAddr).Port
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(benchBytes)
		for b.Loop() {
			c, err := net.Dial("tcp", src.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			drain(b, c)
			_ = c.Close()
		}
	})
	b.Run("connect", func(b *testing.B) {
		tp := startProxy(b, Config{Private: []string{fmt.Sprintf("127.0.0.1/32:%d", port)}})
		b.SetBytes(benchBytes)
		for b.Loop() {
			c, br, resp := dialConnect(b, tp.addr, fmt.Sprintf("127.0.0.1:%d", port))
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
			drain(b, br)
			_ = c.Close()
			tp.rec.wait(b)
		}
	})
}

// BenchmarkConnectRoundTrip is one short CONNECT tunnel per iteration
// (CONNECT, one byte each way, close, record); allocs/op minus the
// direct case are the proxy's allocations per connection.
func BenchmarkConnectRoundTrip(b *testing.B) {
	b.ReportAllocs()
	echo := startTCPServer(b, "127.0.0.1:0", "")
	one := func(b *testing.B, c net.Conn, r io.Reader) {
		buf := make([]byte, 1)
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := net.Dial("tcp", echo.ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			one(b, c, c)
		}
	})
	b.Run("connect", func(b *testing.B) {
		b.ReportAllocs()
		tp := startProxy(b, Config{Private: []string{fmt.Sprintf("127.0.0.1/32:%d", echo.port())}})
		target := fmt.Sprintf("127.0.0.1:%d", echo.port())
		for b.Loop() {
			c, br, resp := dialConnect(b, tp.addr, target)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
			one(b, c, br)
			tp.rec.wait(b)
		}
	})
}
