package main

import (
	"bufio"
	"io"
)

// lineReader delivers r's lines on a channel, closed at EOF. The goroutine
// ends with r (stdin ends with the process).
func lineReader(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}
