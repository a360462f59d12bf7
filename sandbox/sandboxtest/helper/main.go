// Command helper is the program the sandboxtest contract suite runs inside
// a backend. Build it static (CGO_ENABLED=0) with sandboxtest.BuildHelper.
//
//	helper cat           copy stdin to stdout until EOF, then exit 0
//	helper env           print the environment, one KEY=VALUE per line
//	helper exit N        write "bye" to stderr and exit with code N
//	helper streams       write "out" to stdout and "err" to stderr
//	helper trap          print "ready", then on SIGTERM/SIGINT print "got <signal>" and exit 143
//	helper hang          print "ready", ignore SIGTERM and block until killed
//	helper pwd           print the working directory
//	helper files OP...   file operations, each printing "OP: ok" or "OP: error":
//	                     w:PATH:TEXT (write), r:PATH (print the content), rm:PATH, mv:PATH:NEW
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: helper cat|env|exit N|streams|trap|hang|pwd")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "cat:", err)
			os.Exit(1)
		}
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
	case "exit":
		code := 0
		if len(os.Args) > 2 {
			n, err := strconv.Atoi(os.Args[2])
			if err != nil {
				fmt.Fprintln(os.Stderr, "exit:", err)
				os.Exit(2)
			}
			code = n
		}
		fmt.Fprintln(os.Stderr, "bye")
		os.Exit(code)
	case "streams":
		fmt.Fprintln(os.Stdout, "out")
		fmt.Fprintln(os.Stderr, "err")
	case "trap":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		fmt.Println("ready")
		s := <-ch
		fmt.Println("got", s)
		os.Exit(143)
	case "hang":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		never := make(chan os.Signal, 1)
		signal.Notify(never, syscall.SIGUSR2)
		fmt.Println("ready")
		<-never
		os.Exit(3)
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			fmt.Fprintln(os.Stderr, "pwd:", err)
			os.Exit(1)
		}
		fmt.Println(wd)
	case "files":
		for _, op := range os.Args[2:] {
			fmt.Printf("%s: %s\n", op, fileOp(op))
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// fileOp runs one op of "helper files" and says how it went.
func fileOp(op string) string {
	parts := strings.SplitN(op, ":", 3)
	var err error
	switch {
	case parts[0] == "w" && len(parts) == 3:
		err = os.WriteFile(parts[1], []byte(parts[2]), 0o644)
	case parts[0] == "r" && len(parts) == 2:
		var b []byte
		if b, err = os.ReadFile(parts[1]); err == nil {
			return "ok " + strconv.Quote(string(b))
		}
	case parts[0] == "rm" && len(parts) == 2:
		err = os.Remove(parts[1])
	case parts[0] == "mv" && len(parts) == 3:
		err = os.Rename(parts[1], parts[2])
	default:
		return "error: unknown op"
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}
