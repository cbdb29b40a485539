package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"shoebox/internal/storage"
)

// The timeline: the gallery's photos under month and day headings, the
// date scrubber's month counts (GET /api/timeline), and ?at=YYYY-MM, which
// starts a date list at the end of a month. static/timeline.js lays the
// tiles out in justified rows, windows them and loads the next pages; the
// server-rendered page works without it.

// parseAt reads ?at=YYYY-MM (exactly: four-digit year, two-digit month)
// and returns the first instant after that month, the bound the list
// starts below. taken_at is the wall clock labelled UTC, so the bound is
// in UTC too. "" is no bound (the zero time).
func parseAt(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	m, err := time.Parse("2006-01", v)
	if err != nil || len(v) != len("2006-01") || m.Year() < 1 {
		return time.Time{}, badRequest("at must be a month: YYYY-MM")
	}
	return m.AddDate(0, 1, 0), nil
}

// timelineMonth is a month heading of the gallery and its days.
type timelineMonth struct {
	Key   string // "2019-06": the scrubber's ?at= value
	Label string // "June 2019"
	Days  []timelineDay
}

// timelineDay is a day heading and its photos, newest first.
type timelineDay struct {
	Key    string // "2019-06-01"
	Label  string // "Saturday 1 June"
	Photos []storage.PhotoSummary
}

// groupByDay puts a page of photos (newest first) under month and day
// headings, by the wall clock where each was taken.
func groupByDay(photos []storage.PhotoSummary) []timelineMonth {
	var out []timelineMonth
	for _, p := range photos {
		t, _ := localTime(p)
		mk, dk := t.Format("2006-01"), t.Format("2006-01-02")
		if len(out) == 0 || out[len(out)-1].Key != mk {
			out = append(out, timelineMonth{Key: mk, Label: t.Format("January 2006")})
		}
		m := &out[len(out)-1]
		if len(m.Days) == 0 || m.Days[len(m.Days)-1].Key != dk {
			m.Days = append(m.Days, timelineDay{Key: dk, Label: t.Format("Monday 2 January")})
		}
		d := &m.Days[len(m.Days)-1]
		d.Photos = append(d.Photos, p)
	}
	return out
}

// scrubYear is one year of the date scrubber, its months newest first.
type scrubYear struct {
	Year   int
	Months []scrubMonth
}

type scrubMonth struct {
	Key   string // "2019-06"
	Short string // "Jun"
	Label string // "June 2019"
	Count int
}

// scrubber arranges the month counts (newest first) by year.
func scrubber(counts []storage.MonthCount) []scrubYear {
	var out []scrubYear
	for _, c := range counts {
		if len(out) == 0 || out[len(out)-1].Year != c.Year {
			out = append(out, scrubYear{Year: c.Year})
		}
		t := time.Date(c.Year, time.Month(c.Month), 1, 0, 0, 0, 0, time.UTC)
		y := &out[len(out)-1]
		y.Months = append(y.Months, scrubMonth{Key: t.Format("2006-01"), Short: t.Format("Jan"), Label: t.Format("January 2006"), Count: c.Count})
	}
	return out
}

// apiTimeline is GET /api/timeline: how many photos the gallery holds in
// each month, newest first ({"months":[{"year":2019,"month":6,"count":123},…]}),
// one query, cached like the pages.
func (s *Server) apiTimeline(w http.ResponseWriter, r *http.Request) {
	scope := s.scope(r)
	s.cached(w, r, scope, func(ctx context.Context) (page, error) {
		months, err := s.st.MonthCounts(ctx, scope)
		if err != nil {
			return page{}, err
		}
		if months == nil {
			months = []storage.MonthCount{}
		}
		b, err := json.Marshal(map[string]any{"months": months})
		return page{body: b, ctype: jsonType}, err
	})
}
