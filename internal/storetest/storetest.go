// Package storetest is the contract suite every newsbot store passes (the
// SQLite store and the PostgreSQL store): feeds and polls, the posting
// state machine, the archive's state and /ask's questions. A store's own
// tests call Run with a Harness that opens fresh stores.
package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/commands"
)

// Store is what every store implements.
type Store interface {
	articles.Store
	articles.LinkStore
	articles.DeliveryStore
	commands.QuestionStore
}

// Harness gives the suite what it cannot do through the interfaces.
type Harness struct {
	// Open returns a fresh, empty store (migrated; on PostgreSQL, leading),
	// closed by tb's cleanup.
	Open func(tb testing.TB) Store
	// SetState puts an article in a state directly (message id "orig" when
	// posted), for the table tests of the transitions.
	SetState func(tb testing.TB, db Store, id int64, state articles.State)
	// SetClock replaces the store's clock (updated_at, default times).
	SetClock func(db Store, now func() time.Time)
}

type suite struct{ h Harness }

func (s suite) open(t testing.TB) Store { t.Helper(); return s.h.Open(t) }

func (s suite) setState(t testing.TB, db Store, id int64, state articles.State) {
	t.Helper()
	s.h.SetState(t, db, id, state)
}

func (s suite) setClock(db Store, now func() time.Time) { s.h.SetClock(db, now) }

// Run runs every test of the suite (each method named Test*) as a subtest
// of t.
func Run(t *testing.T, h Harness) {
	s := suite{h}
	v := reflect.ValueOf(s)
	ty := v.Type()
	ran := 0
	for i := 0; i < ty.NumMethod(); i++ {
		m := ty.Method(i)
		if !strings.HasPrefix(m.Name, "Test") {
			continue
		}
		fn := v.Method(i).Interface().(func(*testing.T))
		t.Run(m.Name, fn)
		ran++
	}
	if ran == 0 {
		t.Fatal("storetest: no test in the suite")
	}
}
