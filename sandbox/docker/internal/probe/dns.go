package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// selfAnswer is the address dnsSelf's own server answers with.
const selfAnswer = "192.0.2.53"

// dnsQuery sends one A query for name to server over UDP and reports the
// answer: OK when the reply holds at least one address.
func dnsQuery(server, name string) Result {
	conn, err := net.DialTimeout("udp", server, timeout)
	if err != nil {
		return Result{Detail: err.Error()}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	q, err := dnsMessage(0x4242, name, false, "")
	if err != nil {
		return Result{Detail: err.Error()}
	}
	if _, err := conn.Write(q); err != nil {
		return Result{Detail: "send: " + err.Error()}
	}
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		return Result{Detail: "no answer: " + err.Error()}
	}
	rcode, addrs, err := dnsParse(buf[:n])
	if err != nil {
		return Result{Detail: err.Error()}
	}
	f := map[string]string{"rcode": strconv.Itoa(rcode), "answers": strings.Join(addrs, ",")}
	return Result{OK: len(addrs) > 0, Detail: fmt.Sprintf("rcode %d, answers [%s]", rcode, strings.Join(addrs, ",")), Fields: f}
}

// dnsSelf serves DNS on 127.0.0.1:53 inside this container (it needs
// net.ipv4.ip_unprivileged_port_start=0), then asks Docker's embedded
// resolver (127.0.0.11) for name. Fields: "forwarded_here" says whether
// the embedded resolver forwarded the query to this container's own
// loopback, "answers" what came back.
func dnsSelf(name string) Result {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:53")
	if err != nil {
		return Result{Detail: "serve on 127.0.0.1:53: " + err.Error()}
	}
	defer pc.Close()
	var mu sync.Mutex
	var seen []string
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			id, qname, err := dnsQuestion(buf[:n])
			if err != nil {
				continue
			}
			mu.Lock()
			seen = append(seen, qname)
			mu.Unlock()
			if reply, err := dnsMessage(id, qname, true, selfAnswer); err == nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}
	}()
	r := dnsQuery("127.0.0.11:53", name)
	mu.Lock()
	defer mu.Unlock()
	here := false
	for _, s := range seen {
		if strings.EqualFold(strings.TrimSuffix(s, "."), strings.TrimSuffix(name, ".")) {
			here = true
		}
	}
	if r.Fields == nil {
		r.Fields = map[string]string{}
	}
	r.Fields["forwarded_here"] = strconv.FormatBool(here)
	r.Detail += fmt.Sprintf("; own loopback server saw %q", seen)
	return r
}

// dnsMessage builds a query (or, with answer set, a reply with one A
// record) for name.
func dnsMessage(id uint16, name string, reply bool, answer string) ([]byte, error) {
	msg := make([]byte, 12, 512)
	binary.BigEndian.PutUint16(msg[0:], id)
	flags := uint16(0x0100) // RD
	if reply {
		flags = 0x8180 // QR, RD, RA
	}
	binary.BigEndian.PutUint16(msg[2:], flags)
	binary.BigEndian.PutUint16(msg[4:], 1)
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return nil, fmt.Errorf("bad name %q", name)
		}
		msg = append(msg, byte(len(label)))
		msg = append(msg, label...)
	}
	msg = append(msg, 0, 0, 1, 0, 1) // root, type A, class IN
	if reply {
		ip := net.ParseIP(answer).To4()
		binary.BigEndian.PutUint16(msg[6:], 1)
		msg = append(msg, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		msg = append(msg, ip...)
	}
	return msg, nil
}

// dnsName reads a (possibly compressed) name at off and returns the
// offset after it.
func dnsName(msg []byte, off int) (string, int, error) {
	var labels []string
	end := -1
	for hops := 0; hops < 32; hops++ {
		if off >= len(msg) {
			return "", 0, errors.New("short name")
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			return strings.Join(labels, "."), end, nil
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) {
				return "", 0, errors.New("short pointer")
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
		default:
			if off+1+l > len(msg) {
				return "", 0, errors.New("short label")
			}
			labels = append(labels, string(msg[off+1:off+1+l]))
			off += 1 + l
		}
	}
	return "", 0, errors.New("name loop")
}

// dnsQuestion returns a query's id and name.
func dnsQuestion(msg []byte) (uint16, string, error) {
	if len(msg) < 12 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		return 0, "", errors.New("not a one-question message")
	}
	name, _, err := dnsName(msg, 12)
	return binary.BigEndian.Uint16(msg), name, err
}

// dnsParse returns a reply's rcode and its A records.
func dnsParse(msg []byte) (int, []string, error) {
	if len(msg) < 12 {
		return 0, nil, errors.New("short reply")
	}
	rcode := int(msg[3] & 0x0f)
	qd, an := int(binary.BigEndian.Uint16(msg[4:])), int(binary.BigEndian.Uint16(msg[6:]))
	off := 12
	for range qd {
		_, next, err := dnsName(msg, off)
		if err != nil {
			return rcode, nil, err
		}
		off = next + 4
	}
	var addrs []string
	for range an {
		_, next, err := dnsName(msg, off)
		if err != nil || next+10 > len(msg) {
			return rcode, addrs, errors.New("short answer")
		}
		typ := binary.BigEndian.Uint16(msg[next:])
		rdlen := int(binary.BigEndian.Uint16(msg[next+8:]))
		rd := next + 10
		if rd+rdlen > len(msg) {
			return rcode, addrs, errors.New("short rdata")
		}
		if typ == 1 && rdlen == 4 {
			addrs = append(addrs, net.IP(msg[rd:rd+4]).String())
		}
		off = rd + rdlen
	}
	return rcode, addrs, nil
}
