package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leader election: the leader is the instance holding a session-level
// advisory lock (leaderLockKey) on a connection of its own. That
// connection is pinged every LeaderOptions.Ping; TCP keepalives and a TCP
// user timeout (client and server side) bound how long a dead peer goes
// unnoticed. A leader whose ping fails stops its duties at once (their
// context is cancelled, and the store's epoch is dropped first, so that no
// claim of theirs succeeds afterwards); a standby tries the lock every
// LeaderOptions.Retry, so it takes over within seconds of the leader's
// connection dropping. Each takeover bumps the epoch in newsbot_leader,
// which fences the claims of the instance it replaced.

// leaderChannel is the NOTIFY channel on which a leader that steps down
// tells the standbys.
const leaderChannel = "newsbot_leader"

// Default timings (design.md: ping every 2 s, user timeout about 10 s,
// takeover within 10 s).
const (
	DefaultPing        = 2 * time.Second
	DefaultRetry       = 3 * time.Second
	tcpUserTimeout     = 10 * time.Second
	keepAliveIdle      = 2 * time.Second
	keepAliveInterval  = 2 * time.Second
	keepAliveCount     = 3
	leaderQueryTimeout = 5 * time.Second
)

// createLeaderTable creates the leader row (outside the versioned
// migrations: a standby of an older or newer binary reads it too). The
// caller holds the migrate lock (pg_advisory_xact_lock) in tx.
func createLeaderTable(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS newsbot_leader (
		id     INTEGER PRIMARY KEY CHECK (id = 1),
		epoch  BIGINT NOT NULL DEFAULT 0,
		holder TEXT NOT NULL DEFAULT '',
		since  BIGINT
	)`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO newsbot_leader (id) VALUES (1) ON CONFLICT (id) DO NOTHING")
	return err
}

// LeaderOptions configure a Leader.
type LeaderOptions struct {
	// Holder names this instance in the leader row (`newsbot check`);
	// default host:pid.
	Holder string
	// Lead runs the leader's duties after each takeover, until its context
	// is cancelled (leadership lost or Run's context ended). It must return
	// then.
	Lead func(ctx context.Context, epoch int64)
	// Ready is asked before each try of the lock; an error (such as one
	// wrapping ErrNewerSchema) keeps this instance standing by.
	Ready func(ctx context.Context) error
	// OnChange is called with true when this instance starts leading
	// (before Lead) and false as soon as it stops (its claims are fenced
	// off, its duties being stopped); may be nil.
	OnChange func(leading bool)
	Ping     time.Duration // 0: DefaultPing
	Retry    time.Duration // 0: DefaultRetry
	Log      *slog.Logger
}

// Leader runs the lock loop of one instance.
type Leader struct {
	db      *DB
	o       LeaderOptions
	leading atomic.Bool
	running atomic.Bool
	why     atomic.Value // string: why it stands by
	mu      sync.Mutex
	conn    *pgx.Conn
}

// NewLeader returns the lock loop of this instance on db; Run runs it.
func (db *DB) NewLeader(o LeaderOptions) *Leader {
	if o.Ping <= 0 {
		o.Ping = DefaultPing
	}
	if o.Retry <= 0 {
		o.Retry = DefaultRetry
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Holder == "" {
		o.Holder = DefaultHolder()
	}
	return &Leader{db: db, o: o}
}

// DefaultHolder names this process: host:pid.
func DefaultHolder() string {
	host, _ := osHostname()
	return host + ":" + strconv.Itoa(osGetpid())
}

// Leading reports whether this instance leads now.
func (l *Leader) Leading() bool { return l.leading.Load() }

// Running reports whether the lock loop runs (a standby is healthy then).
func (l *Leader) Running() bool { return l.running.Load() }

// StandbyReason says why this instance does not lead ("" when it does, or
// when another instance simply holds the lock).
func (l *Leader) StandbyReason() string {
	s, _ := l.why.Load().(string)
	return s
}

// Run tries the lock until ctx ends, leading whenever it holds it. On
// return this instance does not lead and its lock is released.
func (l *Leader) Run(ctx context.Context) error {
	l.running.Store(true)
	defer l.running.Store(false)
	defer l.closeConn()
	var lastWhy string
	standBy := func(why string) {
		l.why.Store(why)
		if why != lastWhy && why != "" {
			l.o.Log.Warn("standing by", "reason", why)
		}
		lastWhy = why
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		epoch, err := l.tryLock(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			standBy(err.Error())
		case epoch == 0:
			standBy("")
		default:
			standBy("")
			lastWhy = ""
			l.lead(ctx, epoch)
			if ctx.Err() != nil {
				l.unlock()
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		l.waitTurn(ctx)
	}
}

// tryLock connects when need be and tries the lock once; it returns the new
// epoch when it got the lock, 0 when another instance holds it.
func (l *Leader) tryLock(ctx context.Context) (int64, error) {
	if l.o.Ready != nil {
		if err := l.o.Ready(ctx); err != nil {
			return 0, err
		}
	}
	conn, err := l.connect(ctx)
	if err != nil {
		return 0, fmt.Errorf("leader lock: connect: %w", err)
	}
	qctx, cancel := context.WithTimeout(ctx, leaderQueryTimeout)
	defer cancel()
	var got bool
	if err := conn.QueryRow(qctx, "SELECT pg_try_advisory_lock($1)", leaderLockKey).Scan(&got); err != nil {
		l.closeConn()
		return 0, fmt.Errorf("leader lock: %w", err)
	}
	if !got {
		return 0, nil
	}
	var epoch int64
	err = pgx.BeginFunc(qctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(qctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return err
		}
		if err := createLeaderTable(qctx, tx); err != nil {
			return err
		}
		return tx.QueryRow(qctx, `UPDATE newsbot_leader SET epoch = epoch + 1, holder = $1, since = $2
			WHERE id = 1 RETURNING epoch`, l.o.Holder, time.Now().UnixNano()).Scan(&epoch)
	})
	if err != nil {
		// The lock without the epoch is of no use: drop both.
		l.closeConn()
		return 0, fmt.Errorf("leader lock: new epoch: %w", err)
	}
	return epoch, nil
}

// lead runs the duties while the lock connection answers its pings.
func (l *Leader) lead(ctx context.Context, epoch int64) {
	l.db.epoch.Store(epoch)
	l.leading.Store(true)
	l.o.Log.Info("leading", "epoch", epoch, "holder", l.o.Holder)
	if l.o.OnChange != nil {
		l.o.OnChange(true)
	}
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if l.o.Lead != nil {
			l.o.Lead(dctx, epoch)
		} else {
			<-dctx.Done()
		}
	}()
	tick := time.NewTicker(l.o.Ping)
	defer tick.Stop()
	var lost error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-done:
			lost = errors.New("the leader's duties ended")
			break loop
		case <-tick.C:
			if err := l.ping(ctx); err != nil {
				if ctx.Err() != nil {
					break loop
				}
				lost = err
				break loop
			}
		}
	}
	// Fence first: from here on no claim of this instance succeeds; then
	// the duties stop.
	l.db.epoch.Store(0)
	l.leading.Store(false)
	if l.o.OnChange != nil {
		l.o.OnChange(false)
	}
	cancel()
	if lost != nil {
		l.o.Log.Error("leadership lost: duties stopped", "epoch", epoch, "error", lost)
		l.closeConn()
	}
	<-done
}

func (l *Leader) ping(ctx context.Context) error {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return errors.New("no lock connection")
	}
	pctx, cancel := context.WithTimeout(ctx, l.o.Ping+time.Second)
	defer cancel()
	// The lock is still held when the session is: a ping on it suffices.
	var one int
	if err := conn.QueryRow(pctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("leader lock connection: %w", err)
	}
	return nil
}

// unlock releases the lock on a clean stop, so that a standby takes over at
// its next try rather than when the connection closes.
func (l *Leader) unlock() {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", leaderLockKey); err != nil {
		return
	}
	// The standbys listening are told at once (see waitTurn).
	_, _ = conn.Exec(ctx, "SELECT pg_notify($1, $2)", leaderChannel, l.o.Holder)
}

// waitTurn waits until the next try of the lock: Retry, or less when the
// leader steps down cleanly (it notifies leaderChannel, which the lock
// connection listens on), so that a rolling restart hands over at once.
func (l *Leader) waitTurn(ctx context.Context) {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, l.o.Retry)
	defer cancel()
	if conn != nil {
		err := conn.PgConn().WaitForNotification(wctx)
		if err == nil || wctx.Err() != nil {
			return
		}
		l.closeConn() // broken: the next try connects again
	}
	<-wctx.Done()
}

func (l *Leader) connect(ctx context.Context) (*pgx.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil && !l.conn.IsClosed() {
		return l.conn, nil
	}
	cfg := l.db.cfg.ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "newsbot leader lock"
	// The server notices a dead leader quickly too (ignored on unix sockets).
	cfg.RuntimeParams["tcp_keepalives_idle"] = strconv.Itoa(int(keepAliveIdle.Seconds()))
	cfg.RuntimeParams["tcp_keepalives_interval"] = strconv.Itoa(int(keepAliveInterval.Seconds()))
	cfg.RuntimeParams["tcp_keepalives_count"] = strconv.Itoa(keepAliveCount)
	cfg.RuntimeParams["tcp_user_timeout"] = strconv.Itoa(int(tcpUserTimeout.Milliseconds()))
	cfg.DialFunc = dialLockConn
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, safeErr(err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{leaderChannel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	l.conn = conn
	return conn, nil
}

func (l *Leader) closeConn() {
	l.mu.Lock()
	conn := l.conn
	l.conn = nil
	l.mu.Unlock()
	if conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}
}

// dialLockConn dials the lock connection with TCP keepalives and a user
// timeout, so that a cut network shows as an error within seconds.
func dialLockConn(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{
		Timeout: 10 * time.Second,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: keepAliveIdle, Interval: keepAliveInterval, Count: keepAliveCount,
		},
		Control: setUserTimeout,
	}
	return d.DialContext(ctx, network, addr)
}

// LeaderInfo is what the database says of the leader.
type LeaderInfo struct {
	Held   bool   // the lock is held now by some session
	Holder string // who took it last
	Epoch  int64
	Since  time.Time
}

// WhoLeads reads the leader row and whether the lock is held.
func (db *DB) WhoLeads(ctx context.Context) (LeaderInfo, error) {
	var info LeaderInfo
	var since *int64
	var exists bool
	if err := db.pool.QueryRow(ctx, "SELECT to_regclass('newsbot_leader') IS NOT NULL").Scan(&exists); err != nil {
		return info, fmt.Errorf("postgres: who leads: %w", err)
	}
	if exists {
		if err := db.pool.QueryRow(ctx, "SELECT holder, epoch, since FROM newsbot_leader WHERE id = 1").
			Scan(&info.Holder, &info.Epoch, &since); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return info, fmt.Errorf("postgres: who leads: %w", err)
		}
	}
	info.Since = timeFrom(since)
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1)`,
		leaderLockKey>>32, leaderLockKey&0xffffffff).Scan(&info.Held)
	if err != nil {
		return info, fmt.Errorf("postgres: who leads: %w", err)
	}
	return info, nil
}
