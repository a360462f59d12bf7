package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/herdbot/herdbot/web"
)

// cmdWeb is `herdbot web hash-password`: it reads a password (twice,
// without echo, from a terminal; else the first line of stdin) and prints
// the fleet .env line of its bcrypt hash.
func cmdWeb(_ context.Context, e stdio, args []string) error {
	fs := newFlags("web", e, false)
	cost := fs.Int("cost", 12, "bcrypt cost (10 at least; each step doubles the time a check takes)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "hash-password" {
		fs.Usage()
		return errors.New("web: the only subcommand is hash-password")
	}
	pw, err := readPassword(e)
	if err != nil {
		return err
	}
	h, err := web.HashPassword(pw, *cost)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s='%s'\n", web.PasswordHashEnv, h)
	if f, ok := e.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(e.stderr, "Put this line in the fleet .env (beside herdbot.yaml, mode 0600) and restart herdbot; sign in as the operator with the password.")
	}
	return nil
}

// readPassword reads the password: from a terminal twice without echo,
// else the first line of stdin (without its line end).
func readPassword(e stdio) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(e.stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			return string(b), err
		}
		pw, err := read("Password: ")
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		again, err := read("Again: ")
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if pw != again {
			return "", errors.New("the two passwords differ")
		}
		return pw, nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
