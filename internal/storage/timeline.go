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
// scope, less the asker's archived and trashed ones and the movies of
// Live Photos, as ListPhotos by default) by the month they were taken,
// newest first: the timeline's date scrubber, in one query. taken_at is
// the wall clock labelled UTC, so the month is read in UTC. The counts come
// from the counters of migration 017 (photo_counts by set of libraries and
// month), plus the photos only an album of the asker shows, less the few
// the asker archived or trashed and the paired movies, each found from its
// own small index: a million photos are not read.
func (s *Storage) MonthCounts(ctx context.Context, scope Scope) ([]MonthCount, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	const month = `coalesce(date_trunc('month', p.taken_at AT TIME ZONE 'UTC')::date, '-infinity')`
	counted := `SELECT month, photos FROM photo_counts WHERE photos <> 0`
	visible, extra := "true", ""
	if scope.Limited() {
		libs := arg(scope.libraries) + "::int[]"
		counted += " AND libs && " + libs
		visible = "p.libs && " + libs
		if scope.user != 0 {
			album := "EXISTS (SELECT 1 FROM album_photos vap WHERE vap.photo_id = p.id AND vap.album_id IN (" + albumsOfSQL(arg(scope.user)) + "))"
			extra = ` UNION ALL SELECT ` + month + `, 1 FROM photos p WHERE p.state = 'ready' AND NOT (p.libs && ` + libs + `) AND ` + album
			visible = "(" + visible + " OR " + album + ")"
		}
	}
	left := ` UNION ALL SELECT ` + month + `, -1 FROM photos p WHERE p.id IN (
			SELECT hs.photo_id FROM photo_states hs WHERE hs.user_id = ` + arg(scope.user) + `
				AND (hs.archived OR hs.trashed_at IS NOT NULL OR hs.purged)
			UNION SELECT lp.live_video FROM photos lp WHERE lp.live_video IS NOT NULL AND lp.state = 'ready')
		AND p.state = 'ready' AND ` + visible
	sql := `SELECT extract(year FROM month)::int, extract(month FROM month)::int, sum(n)::int FROM (` +
		counted + extra + left + `) d (month, n)
		WHERE month <> '-infinity' GROUP BY month HAVING sum(n) <> 0 ORDER BY month DESC`
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

// MonthCountsByCounting is MonthCounts counted from the photos (the truth
// the counters are tested against). It counts the photos of the gallery (every ready photo in
// scope, less the asker's archived and trashed ones, as ListPhotos by
// default) by the month they were taken, newest first: the timeline's date
// scrubber, in one query. taken_at is the wall clock labelled UTC, so the
// month is read in UTC; the gallery index (taken_at, id) WHERE ready
// covers the scan.
func (s *Storage) MonthCountsByCounting(ctx context.Context, scope Scope) ([]MonthCount, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := append([]string{"p.state = 'ready'"}, filterSQL(scope, Default, "", nil, nil, nil, nil, nil, arg)...)
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
