package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/user"
	"strconv"
)

// Peer is the process at the other end of a control connection as the
// kernel reports it (the socket's peer credentials, SO_PEERCRED), never
// what the client says about itself.
type Peer struct {
	UID, GID, PID int
	User          string // the uid's user name; "" when it has none
}

// String is the peer as the actor of an approval or an audit row:
// "cli:uid=1000(alice),pid=4242".
func (p Peer) String() string {
	u := strconv.Itoa(p.UID)
	if p.User != "" {
		u += "(" + p.User + ")"
	}
	return fmt.Sprintf("cli:uid=%s,pid=%d", u, p.PID)
}

type peerKey struct{}

type peerResult struct {
	peer Peer
	err  error
}

// connContext stores the connection's peer (or why it is unknown) in the
// context of every request on it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	p, err := peerOf(c)
	return context.WithValue(ctx, peerKey{}, peerResult{p, err})
}

// PeerFrom returns the caller of a control request.
func PeerFrom(ctx context.Context) (Peer, error) {
	r, ok := ctx.Value(peerKey{}).(peerResult)
	if !ok {
		return Peer{}, errors.New("control: no peer credentials for this request")
	}
	return r.peer, r.err
}

func peerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("control: %T is not a unix socket connection", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("control: peer credentials: %w", err)
	}
	uid, gid, pid, err := peerCred(raw)
	if err != nil {
		return Peer{}, fmt.Errorf("control: peer credentials: %w", err)
	}
	p := Peer{UID: uid, GID: gid, PID: pid}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		p.User = u.Username
	}
	return p, nil
}
