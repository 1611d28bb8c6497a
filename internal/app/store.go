package app

import (
	"context"
	"fmt"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/postgres"
	"github.com/newsbot/newsbot/sqlite"
)

// store is what newsbot keeps: the SQLite store or the PostgreSQL one.
type store interface {
	articles.Store
	articles.LinkStore
	articles.DeliveryStore
	commands.QuestionStore
	Close() error
}

// openStore opens the database DATABASE_URL names: a PostgreSQL store for a
// postgres:// URL (migrated now when migrate is true; otherwise the leader
// migrates it), else SQLite (memory: a private in-memory database). pg is
// nil on SQLite.
func openStore(ctx context.Context, cfg config.Config, memory, migrate bool) (db store, pg *postgres.DB, err error) {
	if cfg.DatabaseURL != "" {
		if migrate {
			pg, err = postgres.Open(ctx, cfg.DatabaseURL)
		} else {
			pg, err = postgres.Connect(ctx, cfg.DatabaseURL)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("DATABASE_URL (PostgreSQL): %w", err)
		}
		return pg, pg, nil
	}
	path := cfg.DatabasePath
	if memory {
		path = ":memory:"
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return s, nil, nil
}
