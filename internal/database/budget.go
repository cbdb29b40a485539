package database

import (
	"context"
	"fmt"
)

// Budget compares this process's connection budget with what the server
// allows, so a budget that cannot fit is reported at start, not discovered
// as "too many clients" under load.
type Budget struct {
	Server         string `json:"server_version"`
	MaxConnections int    `json:"max_connections"`
	Reserved       int    `json:"reserved"` // superuser (+ role) reserved slots
	InUse          int    `json:"in_use"`   // client connections now, other than the one asking
	Budget         int    `json:"budget"`
}

// Free is how many connections are left for us.
func (b Budget) Free() int { return b.MaxConnections - b.Reserved - b.InUse }

// Fits reports whether our whole budget can be opened now.
func (b Budget) Fits() bool { return b.Budget <= b.Free() }

func (b Budget) String() string {
	return fmt.Sprintf("budget %d, max_connections %d, reserved %d, in use by others %d, free %d",
		b.Budget, b.MaxConnections, b.Reserved, b.InUse, b.Free())
}

// CheckBudget reads max_connections, the reserved slots and current use.
func (db *DB) CheckBudget(ctx context.Context) (Budget, error) {
	b := Budget{Budget: db.budget}
	err := db.Do(ctx, func(q Querier) error {
		return q.QueryRow(ctx, `SELECT current_setting('server_version'),
			current_setting('max_connections')::int,
			current_setting('superuser_reserved_connections')::int
			  + coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int,
			(SELECT count(*) FROM pg_stat_activity
			  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())::int`).
			Scan(&b.Server, &b.MaxConnections, &b.Reserved, &b.InUse)
	})
	if err != nil {
		return b, fmt.Errorf("database: check budget: %w", err)
	}
	// Our own idle pooled connections count as in use by "others" above;
	// take them back out so a restart of the check doesn't misreport.
	b.InUse -= int(db.Pool.Stat().TotalConns()) - 1
	if db.direct != nil {
		b.InUse -= int(db.direct.Stat().TotalConns())
	}
	if b.InUse < 0 {
		b.InUse = 0
	}
	return b, nil
}
