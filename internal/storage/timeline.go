package storage

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// MonthCount is how many photos of a list were taken in one calendar
// month, by the wall clock where they were taken.
type MonthCount struct {
	Year  int `json:"year"`
	Month int `json:"month"` // 1 to 12
	Count int `json:"count"`
}

// MonthCounts counts the photos of the gallery (every ready photo in
// scope, less the asker's archived and trashed ones, as ListPhotos by
// default) by the month they were taken, newest first: the timeline's date
// scrubber, in one query. taken_at is the wall clock labelled UTC, so the
// month is read in UTC; the gallery index (taken_at, id) WHERE ready
// covers the scan.
func (s *Storage) MonthCounts(ctx context.Context, scope Scope) ([]MonthCount, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := append([]string{"p.state = 'ready'"}, filterSQL(scope, Default, "", nil, nil, nil, arg)...)
	sql := `SELECT extract(year FROM m)::int, extract(month FROM m)::int, n FROM (
			SELECT date_trunc('month', p.taken_at AT TIME ZONE 'UTC') AS m, count(*) AS n
			FROM photos p WHERE ` + strings.Join(where, " AND ") + `
			GROUP BY 1) months
		ORDER BY m DESC`
	var out []MonthCount
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[MonthCount])
		return err
	})
	if err != nil {
		return nil, interpretError("month counts", err)
	}
	return out, nil
}
