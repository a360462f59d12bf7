//go:build !linux

package control

import (
	"errors"
	"syscall"
)

// peerCred is Linux only (SO_PEERCRED); elsewhere every caller is refused.
func peerCred(syscall.RawConn) (uid, gid, pid int, err error) {
	return 0, 0, 0, errors.New("herdbot's control socket identifies callers with SO_PEERCRED, which needs Linux")
}
