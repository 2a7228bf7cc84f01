// tcprawpeer: a test peer, not part of ostpd.  It behaves like gost's
// tun/tap tunnel with tcp=true: each packet read from a tun (or tap)
// device travels as one datagram of xtaci/tcpraw's "fake TCP", and each
// datagram received is written to the device.
//
//	tcprawpeer [-tap] client DEV HOST:PORT
//	tcprawpeer [-tap] server DEV [ADDR]:PORT
//
// DEV is made and addressed beforehand (ip tuntap add dev DEV mode tun)
// and the peer attaches to it; a missing DEV would be created by the
// kernel, unaddressed, and vanish when the peer exits.  The server answers the address it last heard from
// and drops device packets while it has heard from nobody.  "ready" is
// printed once the connection is dialed or listening.  SIGTERM and
// SIGINT close the tcpraw connection, which removes the iptables rule
// tcpraw added (filter OUTPUT, --ttl-eq 1 -j DROP).
//
// Built in GOPATH mode from Debian's golang-github-xtaci-tcpraw-dev
// (see the Makefile's $(BUILD)/tools/tcprawpeer rule).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/xtaci/tcpraw"
)

// linux/if_tun.h
const (
	tunSetIff = 0x400454ca
	iffTun    = 0x0001
	iffTap    = 0x0002
	iffNoPi   = 0x1000
)

// struct ifreq as TUNSETIFF reads it: a name and the flags.
type ifreq struct {
	name  [16]byte
	flags uint16
	_     [22]byte
}

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tcprawpeer: "+format+"\n", args...)
	os.Exit(1)
}

// tunAttach opens /dev/net/tun and binds it to the device name.  The
// descriptor is non-blocking so that the Go runtime polls it.
func tunAttach(name string, tap bool) (*os.File, error) {
	var req ifreq

	if len(name) >= len(req.name) {
		return nil, fmt.Errorf("%s: name too long", name)
	}
	copy(req.name[:], name)
	req.flags = iffTun | iffNoPi
	if tap {
		req.flags = iffTap | iffNoPi
	}
	fd, err := syscall.Open("/dev/net/tun",
		syscall.O_RDWR|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("/dev/net/tun: %v", err)
	}
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd),
		tunSetIff, uintptr(unsafe.Pointer(&req)))
	if errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %v", name, errno)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

func main() {
	tap := flag.Bool("tap", false, "attach as a tap device (frames)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tcprawpeer [-tap] client DEV HOST:PORT\n"+
			"       tcprawpeer [-tap] server DEV [ADDR]:PORT")
		os.Exit(2)
	}
	flag.Parse()
	if flag.NArg() != 3 {
		flag.Usage()
	}
	mode, dev, addr := flag.Arg(0), flag.Arg(1), flag.Arg(2)
	if mode != "client" && mode != "server" {
		flag.Usage()
	}

	tun, err := tunAttach(dev, *tap)
	if err != nil {
		fatal("%v", err)
	}

	// The peer a device packet goes to: the server's address for the
	// client, the last sender for the server (none until one is heard).
	// Boxed, as atomic.Value wants one concrete type.
	type peerAddr struct{ addr net.Addr }
	var peer atomic.Value
	var conn *tcpraw.TCPConn
	if mode == "client" {
		raddr, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			fatal("%s: %v", addr, err)
		}
		if conn, err = tcpraw.Dial("tcp", addr); err != nil {
			fatal("dial %s: %v", addr, err)
		}
		peer.Store(peerAddr{raddr})
	} else if conn, err = tcpraw.Listen("tcp", addr); err != nil {
		fatal("listen %s: %v", addr, err)
	}

	// Either direction failing, or a signal, ends the peer; Close is
	// what removes tcpraw's iptables rule.
	done := make(chan int, 3)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		done <- 0
	}()

	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := tun.Read(buf)
			if err != nil {
				fmt.Fprintf(os.Stderr, "tcprawpeer: %s: %v\n", dev, err)
				done <- 1
				return
			}
			to, ok := peer.Load().(peerAddr)
			if !ok {
				continue
			}
			if _, err := conn.WriteTo(buf[:n], to.addr); err != nil {
				fmt.Fprintf(os.Stderr, "tcprawpeer: send: %v\n", err)
			}
		}
	}()

	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				// io.EOF: closed on a signal, not worth a line.
				if err != io.EOF {
					fmt.Fprintf(os.Stderr,
						"tcprawpeer: receive: %v\n", err)
				}
				done <- 1
				return
			}
			if mode == "server" {
				peer.Store(peerAddr{from})
			}
			// A packet the device refuses (bad version, too long)
			// is dropped, as a tunnel would.
			if _, err := tun.Write(buf[:n]); err != nil {
				fmt.Fprintf(os.Stderr, "tcprawpeer: %s: %v\n", dev, err)
			}
		}
	}()

	fmt.Println("ready")
	status := <-done
	conn.Close()
	os.Exit(status)
}
