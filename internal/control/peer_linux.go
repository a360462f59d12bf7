package control

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// peerCred reads the socket's SO_PEERCRED: the uid, gid and pid of the
// process that connected, as of connect(2).
func peerCred(raw syscall.RawConn) (uid, gid, pid int, err error) {
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, 0, err
	}
	if serr != nil {
		return 0, 0, 0, serr
	}
	return int(cred.Uid), int(cred.Gid), int(cred.Pid), nil
}
