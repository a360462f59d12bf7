// Command probe runs inside an agent container during the escape tests and
// tries to get out. It is built static and put into a test image.
//
//	probe run '<json checks>'  run each check, print one JSON result per line
//	probe forkbomb N           start children until that fails or N run
//	probe memhog MB            allocate and touch MB mebibytes
//	probe serve PORT           answer every TCP connection with "hello from <host>\n"
//	probe sleep                block until killed
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Check is one escape attempt.
type Check struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`   // dial, resolve, dns, dns_self, proxy_get, connect, model_get, model_do, exists, read, write, find, unix, status, scan
	Target string `json:"target"` // address, URL, path or base64 needle
}

// Result is what a check found. OK means the attempt succeeded (for an
// escape attempt, that is a failure of the sandbox).
type Result struct {
	Name   string            `json:"name"`
	OK     bool              `json:"ok"`
	Detail string            `json:"detail"`
	Fields map[string]string `json:"fields,omitempty"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe run|forkbomb|memhog|serve|sleep")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		var checks []Check
		if err := json.Unmarshal([]byte(os.Args[2]), &checks); err != nil {
			fmt.Fprintln(os.Stderr, "checks:", err)
			os.Exit(2)
		}
		// Checks run concurrently (most wait for a timeout); results
		// are printed in order.
		results := make([]Result, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() {
				results[i] = run(c)
				results[i].Name = c.Name
			})
		}
		wg.Wait()
		enc := json.NewEncoder(os.Stdout)
		for _, r := range results {
			_ = enc.Encode(r)
		}
	case "forkbomb":
		n, _ := strconv.Atoi(os.Args[2])
		forkbomb(n)
	case "memhog":
		mb, _ := strconv.Atoi(os.Args[2])
		memhog(mb)
	case "serve":
		serve(os.Args[2])
	case "sleep":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR2)
		<-ch
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

const timeout = 2 * time.Second

func run(c Check) Result {
	switch c.Kind {
	case "dial":
		conn, err := net.DialTimeout("tcp", c.Target, timeout)
		if err != nil {
			return Result{Detail: err.Error()}
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		return Result{OK: true, Detail: "connected: " + strings.TrimSpace(line)}
	case "resolve":
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, c.Target)
		if err != nil {
			return Result{Detail: err.Error()}
		}
		return Result{OK: true, Detail: strings.Join(addrs, ",")}
	case "dns":
		// Target "SERVER:PORT NAME": one A query straight to SERVER,
		// bypassing /etc/resolv.conf (as hostile code would).
		server, name, ok := strings.Cut(c.Target, " ")
		if !ok {
			return Result{Detail: "want SERVER:PORT NAME"}
		}
		return dnsQuery(server, name)
	case "dns_self":
		return dnsSelf(c.Target)
	case "proxy_get":
		// Plain HTTP through HTTP_PROXY.
		cl := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
		return httpGet(cl, c.Target)
	case "model_get":
		cl := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil}}
		return httpGet(cl, os.Getenv("ANTHROPIC_BASE_URL")+c.Target)
	case "model_do":
		// Target "METHOD /path?query": one call to the model proxy, sent
		// as written (no path cleaning), with the container's key.
		method, path, _ := strings.Cut(c.Target, " ")
		return modelDo(method, path)
	case "connect":
		return connect(c.Target)
	case "fetch", "fetch_direct":
		return fetch(c.Target, c.Kind == "fetch")
	case "exists":
		_, err := os.Lstat(c.Target)
		if err != nil {
			return Result{Detail: err.Error()}
		}
		return Result{OK: true, Detail: "exists"}
	case "read":
		b, err := os.ReadFile(c.Target)
		if err != nil {
			return Result{Detail: err.Error()}
		}
		return Result{OK: len(b) > 0, Detail: fmt.Sprintf("%d bytes: %.64q", len(b), b)}
	case "write":
		if err := os.WriteFile(c.Target, []byte("probe"), 0o644); err != nil {
			return Result{Detail: err.Error()}
		}
		return Result{OK: true, Detail: "written"}
	case "find":
		// Target: comma-separated file names; "SOCKET" matches any unix
		// socket. Walks the whole file system but /proc, /sys and /dev.
		return find(strings.Split(c.Target, ","))
	case "grep":
		// Target: base64 needle, searched in every readable regular file
		// (but /proc, /sys and /dev).
		needle, err := base64.StdEncoding.DecodeString(c.Target)
		if err != nil || len(needle) == 0 {
			return Result{Detail: "bad needle"}
		}
		return grep(needle)
	case "unix":
		conn, err := net.DialTimeout("unix", c.Target, timeout)
		if err != nil {
			return Result{Detail: err.Error()}
		}
		conn.Close()
		return Result{OK: true, Detail: "connected"}
	case "status":
		return status()
	case "env":
		// The environment, without values except the API key's (the
		// test checks it is the placeholder).
		f := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = ""
			if k == "ANTHROPIC_API_KEY" {
				f[k] = v
			}
		}
		return Result{OK: true, Fields: f}
	case "scan":
		// The needle comes base64-encoded so that it is not in this
		// process's own command line.
		needle, err := base64.StdEncoding.DecodeString(c.Target)
		if err != nil || len(needle) == 0 {
			return Result{Detail: "bad needle"}
		}
		return scan(string(needle))
	}
	return Result{Detail: "unknown kind " + c.Kind}
}

func httpGet(cl *http.Client, u string) Result {
	resp, err := cl.Get(u)
	if err != nil {
		return Result{Detail: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return Result{OK: resp.StatusCode == 200, Detail: fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))}
}

func modelDo(method, path string) Result {
	req, err := http.NewRequest(method, os.Getenv("ANTHROPIC_BASE_URL")+path, strings.NewReader(`{"model":"x","max_tokens":1,"messages":[]}`))
	if err != nil {
		return Result{Detail: err.Error()}
	}
	req.Header.Set("X-Api-Key", os.Getenv("ANTHROPIC_API_KEY"))
	req.Header.Set("Content-Type", "application/json")
	cl := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil}}
	resp, err := cl.Do(req)
	if err != nil {
		return Result{Detail: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return Result{OK: resp.StatusCode == 200, Detail: fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))),
		Fields: map[string]string{"status": strconv.Itoa(resp.StatusCode)}}
}

// connect asks the HTTPS_PROXY for a CONNECT tunnel to target and reads
// the first line the destination sends.
func connect(target string) Result {
	pu, err := url.Parse(os.Getenv("HTTPS_PROXY"))
	if err != nil || pu.Host == "" {
		return Result{Detail: "no HTTPS_PROXY"}
	}
	conn, err := net.DialTimeout("tcp", pu.Host, timeout)
	if err != nil {
		return Result{Detail: "dial proxy: " + err.Error()}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return Result{Detail: "read proxy answer: " + err.Error()}
	}
	if resp.StatusCode != 200 {
		return Result{Detail: "proxy said " + resp.Status}
	}
	line, err := br.ReadString('\n')
	if err != nil {
		return Result{Detail: "tunnel open, read: " + err.Error()}
	}
	return Result{OK: true, Detail: "tunnel: " + strings.TrimSpace(line)}
}

// fetch reads everything a TCP server at target sends, through a CONNECT
// tunnel of the HTTPS_PROXY or directly, and reports bytes and seconds.
func fetch(target string, viaProxy bool) Result {
	var conn net.Conn
	var err error
	start := time.Now()
	if viaProxy {
		pu, perr := url.Parse(os.Getenv("HTTPS_PROXY"))
		if perr != nil || pu.Host == "" {
			return Result{Detail: "no HTTPS_PROXY"}
		}
		conn, err = net.Dial("tcp", pu.Host)
		if err == nil {
			fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
			br := bufio.NewReader(conn)
			resp, rerr := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
			if rerr != nil || resp.StatusCode != 200 {
				conn.Close()
				return Result{Detail: fmt.Sprintf("CONNECT: %v %v", rerr, resp)}
			}
			n, cerr := io.Copy(io.Discard, br)
			conn.Close()
			return fetchResult(n, cerr, start)
		}
	} else {
		conn, err = net.Dial("tcp", target)
	}
	if err != nil {
		return Result{Detail: err.Error()}
	}
	defer conn.Close()
	n, err := io.Copy(io.Discard, conn)
	return fetchResult(n, err, start)
}

func fetchResult(n int64, err error, start time.Time) Result {
	secs := time.Since(start).Seconds()
	f := map[string]string{"bytes": strconv.FormatInt(n, 10), "seconds": strconv.FormatFloat(secs, 'f', 6, 64)}
	if err != nil {
		return Result{Detail: err.Error(), Fields: f}
	}
	return Result{OK: true, Fields: f}
}

func status() Result {
	f := map[string]string{"uid": strconv.Itoa(os.Getuid()), "euid": strconv.Itoa(os.Geteuid()), "gid": strconv.Itoa(os.Getgid())}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Result{Detail: err.Error(), Fields: f}
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp":
			f[k] = strings.TrimSpace(v)
		}
	}
	wd, _ := os.Getwd()
	f["cwd"] = wd
	return Result{OK: true, Fields: f}
}

// walk calls fn for every file under / except /proc, /sys and /dev.
func walk(fn func(path string, d os.DirEntry)) {
	_ = filepath.WalkDir("/", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skip
		}
		if d.IsDir() && (path == "/proc" || path == "/sys" || path == "/dev") {
			return filepath.SkipDir
		}
		fn(path, d)
		return nil
	})
}

func find(names []string) Result {
	var hits []string
	walk(func(path string, d os.DirEntry) {
		for _, n := range names {
			if n == d.Name() || n == "SOCKET" && d.Type()&os.ModeSocket != 0 {
				hits = append(hits, path)
			}
		}
	})
	if len(hits) > 0 {
		return Result{OK: true, Detail: strings.Join(hits, ", ")}
	}
	return Result{Detail: "nothing found"}
}

func grep(needle []byte) Result {
	var hits []string
	files := 0
	walk(func(path string, d os.DirEntry) {
		if !d.Type().IsRegular() {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		files++
		if strings.Contains(string(b), string(needle)) {
			hits = append(hits, path)
		}
	})
	if len(hits) > 0 {
		return Result{OK: true, Detail: "found in " + strings.Join(hits, ", ")}
	}
	return Result{Detail: fmt.Sprintf("not in any of %d readable files", files)}
}

// scan looks for needle in this process's environment and in every
// readable /proc/*/environ and /proc/*/cmdline.
func scan(needle string) Result {
	var hits []string
	for _, kv := range os.Environ() {
		if strings.Contains(kv, needle) {
			hits = append(hits, "os.Environ")
		}
	}
	files, _ := filepath.Glob("/proc/[0-9]*/environ")
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	read := 0
	for _, p := range append(files, cmdlines...) {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		read++
		if strings.Contains(string(b), needle) {
			hits = append(hits, p)
		}
	}
	if len(hits) > 0 {
		return Result{OK: true, Detail: "found in " + strings.Join(hits, ", ")}
	}
	return Result{Detail: fmt.Sprintf("not found in the environment or %d /proc files", read)}
}

// forkbomb starts sleeping children of itself until a start fails or n
// run, prints the count and the error, and exits (the children die with
// the container).
func forkbomb(n int) {
	self, _ := os.Executable()
	started := 0
	var lastErr error
	for started < n {
		cmd := exec.Command(self, "sleep")
		if err := cmd.Start(); err != nil {
			lastErr = err
			break
		}
		started++
	}
	fmt.Printf("started %d\n", started)
	if lastErr != nil {
		fmt.Printf("error %v\n", lastErr)
	}
}

// memhog allocates and touches memory in 16 MiB steps.
func memhog(mb int) {
	var keep [][]byte
	for i := 0; i < mb/16; i++ {
		b := make([]byte, 16<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
		fmt.Printf("allocated %d MiB\n", (i+1)*16)
	}
	fmt.Println("survived", len(keep))
}

func serve(port string) {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	host, _ := os.Hostname()
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		fmt.Fprintf(c, "hello from %s\n", host)
		c.Close()
	}
}
