package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"shoebox/internal/config"
	"shoebox/internal/database"
	"shoebox/internal/media"
)

// doctor checks what Shoebox depends on and says how to fix what is wrong.
func doctor(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	problems := 0
	check := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			problems++
		}
		fmt.Printf("%s %-16s %s\n", mark, what, detail)
	}
	if err := media.Init(); err != nil {
		check(false, "libvips", err.Error())
	} else {
		check(true, "libvips", media.Version()+" loads "+strings.Join(media.Formats(), ", "))
	}
	a, err := openApp(ctx, cfg, quietLogger(log), false)
	if err != nil {
		if errors.Is(err, database.ErrNoPgvector) {
			check(false, "pgvector", err.Error())
		} else {
			check(false, "postgresql", err.Error())
		}
		return fmt.Errorf("%d problem(s)", problems)
	}
	defer a.close()
	where := "DATABASE_URL"
	if a.cluster != nil {
		where = "embedded cluster in " + a.cluster.DataDir()
	}
	check(true, "postgresql", a.budget.Server+" ("+where+")")
	var vec string
	err = a.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&vec)
	})
	check(err == nil, "pgvector", vec+errText(err))
	b, err := a.db.CheckBudget(ctx)
	if err != nil {
		check(false, "connections", err.Error())
	} else {
		detail := b.String()
		if !b.Fits() {
			detail += ": lower SHOEBOX_DB_MAX_CONNS or raise max_connections"
		}
		check(b.Fits(), "connections", detail)
	}
	for _, l := range cfg.Libraries {
		check(checkLibraries(&config.Config{Libraries: []string{l}}) == nil, "library", l)
	}
	if problems > 0 {
		return fmt.Errorf("%d problem(s)", problems)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}
