package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// TestOpenConcurrentlyOnNewFile: the bot and verbs beside it (or several
// of them) opening one new database at once all get it migrated; none
// fails with SQLITE_BUSY while another turns the file to WAL or migrates.
func TestOpenConcurrentlyOnNewFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "newsbot.db")
		const n = 6
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				db, err := Open(ctx, path)
				if err != nil {
					errs[i] = err
					return
				}
				v, err := db.SchemaVersion(ctx)
				if err == nil && v == 0 {
					t.Errorf("round %d: opened at schema version 0", round)
				}
				errs[i] = err
				db.Close()
			}(i)
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, opener %d: %v", round, i, err)
			}
		}
	}
}
