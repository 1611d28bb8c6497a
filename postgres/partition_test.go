package postgres

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// proxy is a loopback TCP proxy to the test server that can cut the
// network: frozen, it stops forwarding without closing anything, as a
// dead switch would.
type proxy struct {
	ln       net.Listener
	upstream func() (net.Conn, error)
	mu       sync.Mutex
	frozen   chan struct{}
	conns    []net.Conn
}

func newProxy(t *testing.T, url string) *proxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	if strings.HasPrefix(cfg.Host, "/") {
		network, addr = "unix", filepath.Join(cfg.Host, fmt.Sprintf(".s.PGSQL.%d", cfg.Port))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, frozen: make(chan struct{}), upstream: func() (net.Conn, error) { return net.Dial(network, addr) }}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	return p
}

// url is the test database's URL through the proxy.
func (p *proxy) url(t *testing.T, dbURL string) string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, p.ln.Addr(), cfg.Database)
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := p.upstream()
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies src to dst until either closes; once frozen it holds what it
// reads.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-p.frozen:
				<-make(chan struct{}) // never delivered; ended by closeAll
			default:
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) freeze() { close(p.frozen) }

// closeAll closes every connection (the server notices the dead peer).
func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A leader cut off from the database by a dead network (nothing closed,
// nothing answered) stops its duties within seconds, on its own; once the
// server drops its session, the standby takes over.
func TestLeaderCutOffStopsDuties(t *testing.T) {
	url := pgtestURL(t)
	p := newProxy(t, url)
	a := startInstance(t, p.url(t, url), "cut-off")
	e1 := waitEpoch(t, a.started, 10*time.Second, "a leads")
	b := startInstance(t, url, "b")

	cut := time.Now()
	p.freeze()
	waitEpoch(t, a.stopped, 3*DefaultPing+5*time.Second, "a stops its duties")
	stoppedAfter := time.Since(cut)
	t.Logf("the cut-off leader stopped its duties %v after the cut", stoppedAfter.Round(time.Millisecond))
	if a.l.Leading() || a.db.Epoch() != 0 {
		t.Fatalf("a still leads (epoch %d)", a.db.Epoch())
	}
	select {
	case <-b.started:
		t.Fatal("b led while a's session still held the lock")
	default:
	}
	// The server notices the dead peer (keepalives, user timeout): its
	// session ends and the lock with it.
	p.closeAll()
	e2 := waitEpoch(t, b.started, 10*time.Second, "b takes over")
	if e2 <= e1 {
		t.Fatalf("epoch %d after %d", e2, e1)
	}
}
