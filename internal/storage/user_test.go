package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// Two first-run requests racing create one admin between them: the
// second insert fails because the first exists (not a check made before).
func TestFirstAdminRace(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: dbtest.NewDatabase(t), MaxConns: 10, AcquireTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st := storage.New(db)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.AddFirstAdmin(ctx, "admin"+string(rune('a'+i)), "$argon2id$x")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, storage.ErrExists):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	users, err := st.Users(ctx)
	if ok != 1 || err != nil || len(users) != 1 || !users[0].Admin {
		t.Fatalf("%d first admins created; users %v %v", ok, users, err)
	}
	// Removing an account records its sessions' revocation for the poll.
	se, err := st.AddSession(ctx, users[0].ID, []byte("0123456789abcdef0123456789abcdef"), "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveUser(ctx, users[0].Name); err != nil {
		t.Fatal(err)
	}
	accounts, revoked, err := st.AuthState(ctx, time.Minute)
	if err != nil || accounts || len(revoked) != 1 || revoked[0] != se.ID {
		t.Fatalf("after removal: accounts %v revoked %v err %v", accounts, revoked, err)
	}
	if err := st.RemoveUser(ctx, users[0].Name); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("removing a missing account: %v", err)
	}
}
