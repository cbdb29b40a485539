package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/storage"
)

// The photo lists: the gallery, /search, /api/photos and /api/search are
// one handler (searchPage); no words is the whole library, newest first.

const pageSize = 50

// gallery is GET /: newest first, 50 a page, one query a page — the
// search with no words.
func (s *Server) gallery(w http.ResponseWriter, r *http.Request) { s.searchPage(w, r, "", false, nil) }

// search is GET /search?q=: by meaning with a model, by metadata words
// otherwise.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, r.URL.Query().Get("q"), false, nil)
}

// apiPhotos is GET /api/photos?limit=N&cursor=C&at=YYYY-MM.
func (s *Server) apiPhotos(w http.ResponseWriter, r *http.Request) { s.searchPage(w, r, "", true, nil) }

// stateView is one of the pages of a state: its list and its heading.
type stateView struct {
	Only    storage.StateFilter
	Heading string
	Empty   string // what the page says when it lists nothing
	Trash   bool   // the Trash page: restore and empty forms
}

var (
	favoritesView = &stateView{Only: storage.Favorites, Heading: "Favourites", Empty: "No favourites yet: mark a photo with ☆ on its page."}
	archiveView   = &stateView{Only: storage.Archived, Heading: "Archive", Empty: "Nothing archived. Archived photos stay out of the timeline and search."}
	trashView     = &stateView{Only: storage.Trashed, Heading: "Trash", Trash: true,
		Empty: "The trash is empty. Photos stay here 30 days, then are hidden for good (the files in your folders are never touched)."}
)

// favoritesPage is GET /favorites; archivePage GET /archive; trashPage
// GET /trash: the asker's own photos in that state, newest first.
func (s *Server) favoritesPage(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, "", false, favoritesView)
}
func (s *Server) archivePage(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, "", false, archiveView)
}
func (s *Server) trashPage(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, "", false, trashView)
}

// apiSearch is GET /api/search?q=, in the shape of /api/photos.
func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, r.URL.Query().Get("q"), true, nil)
}

// search is one photo list request, read once: the words as typed, split
// into metadata filters and words to rank by meaning ("year:2019
// camera:canon dog on a beach" filters on the year and camera and ranks by
// "dog on a beach"; bare years are filters too), the page size, and where
// the page starts. No words is the whole library, newest first.
type search struct {
	Query   string              // as typed
	Filters []string            // words that must appear in the photo's metadata/path
	Tags    []string            // tag:NAME (underscores for spaces: tag:hot_air_balloon)
	Albums  []string            // album:NAME (underscores for spaces), of albums the asker owns or is a member of
	Places  []string            // place:NAME (underscores for spaces): the city, region or country where taken
	People  []string            // person:NAME (underscores for spaces): a named person whose face it shows
	Damaged bool                // is:damaged: only photos from truncated or corrupt files
	Media   string              // is:video, is:photo: only videos, only photos ("" both)
	Only    storage.StateFilter // is:favorite, is:archived, is:trashed; else archived and trashed are left out
	Text    string              // free text, ranked by meaning when a model is present
	Limit   int                 // page size, 1 to 500
	After   *storage.Cursor     // nil: the first page
	Before  time.Time           // ?at=YYYY-MM: the end of that month (zero: none); lists by date only
}

var months = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

// parseSearch reads q, limit and cursor, refusing what is not of their
// shape with a 400.
func parseSearch(r *http.Request, q string) (search, error) {
	sr := search{Query: q, Limit: pageSize}
	qs := r.URL.Query()
	var err error
	if sr.After, err = storage.ParseCursor(qs.Get("cursor"), library.ValidID); err != nil {
		return sr, badRequest("invalid cursor")
	}
	if sr.Before, err = parseAt(qs.Get("at")); err != nil {
		return sr, err
	}
	if l := qs.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return sr, badRequest("limit must be 1 to 500")
		}
		sr.Limit = n
	}
	if len(q) > 500 {
		return sr, badRequest("query too long")
	}
	if strings.ContainsRune(q, 0) { // PostgreSQL text cannot hold NUL: a 500 otherwise
		return sr, badRequest("invalid character in query")
	}
	words := strings.Fields(q)
	if len(words) > 10 {
		return sr, badRequest("too many search words (10 at most)")
	}
	var free []string
	for _, w := range words {
		k, v, ok := strings.Cut(w, ":")
		switch {
		case w == "is:damaged":
			sr.Damaged = true
		case w == "is:video" || w == "is:photo":
			sr.Media = strings.TrimPrefix(w, "is:")
		case w == "is:favorite" || w == "is:favourite":
			sr.Only = storage.Favorites
		case w == "is:archived":
			sr.Only = storage.Archived
		case w == "is:trashed":
			sr.Only = storage.Trashed
		case ok && v != "" && (k == "year" || k == "camera" || k == "folder" || k == "lens"):
			sr.Filters = append(sr.Filters, v)
		case ok && v != "" && k == "tag":
			sr.Tags = append(sr.Tags, strings.ReplaceAll(v, "_", " "))
		case ok && v != "" && k == "place":
			sr.Places = append(sr.Places, v)
		case ok && v != "" && k == "person":
			sr.People = append(sr.People, v)
		case ok && v != "" && k == "album":
			sr.Albums = append(sr.Albums, strings.ReplaceAll(v, "_", " "))
		case ok && v != "" && k == "month":
			if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 12 {
				v = months[n-1]
			}
			sr.Filters = append(sr.Filters, v)
		case len(w) == 4 && w >= "1800" && w <= "2199" && isDigits(w):
			sr.Filters = append(sr.Filters, w)
		default:
			free = append(free, w)
		}
	}
	sr.Text = strings.Join(free, " ")
	return sr, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ranked reports whether the search is ranked by meaning (free text and a
// model) rather than listed by date.
func (s *Server) ranked(sr search) bool { return s.embed != nil && sr.Text != "" }

// searchPhotos answers a search: by meaning when it is ranked, otherwise
// by metadata words (newest first). It returns the page and the next
// page's cursor ("" at the end).
func (s *Server) searchPhotos(ctx context.Context, scope storage.Scope, sr search) ([]storage.PhotoSummary, string, error) {
	if !s.ranked(sr) {
		// Named filters always filter; free words do too when there is no
		// model to rank by their meaning.
		p := storage.ListParams{After: sr.After, Before: sr.Before, Limit: sr.Limit, Tags: sr.Tags, Albums: sr.Albums, Places: sr.Places, People: sr.People, Damaged: sr.Damaged, MediaType: sr.Media,
			Scope: scope, Only: sr.Only, Terms: append(slices.Clip(sr.Filters), strings.Fields(sr.Text)...)}
		photos, next, err := s.st.ListPhotos(ctx, p)
		if err != nil || next == nil {
			return photos, "", err
		}
		return photos, next.String(), nil
	}
	// Words that are all found in some photo's metadata or path (a camera,
	// a folder) filter as well as rank: "canon" finds Canon photos first.
	filters := sr.Filters
	if ok, err := s.st.AllWordsMatch(ctx, scope, strings.Fields(sr.Text)); err != nil {
		return nil, "", err
	} else if ok {
		filters = append(slices.Clip(filters), strings.Fields(sr.Text)...)
	}
	vec, err := s.embed.EmbedText(ctx, sr.Text)
	if err != nil {
		return nil, "", err
	}
	offset := 0
	if sr.After != nil {
		offset = sr.After.Offset
	}
	photos, _, err := s.st.Nearest(ctx, storage.NearestParams{Model: s.embed.Name(), Vector: vec,
		Limit: sr.Limit + 1, Offset: offset, Terms: filters, Tags: sr.Tags, Albums: sr.Albums, Places: sr.Places, People: sr.People, Damaged: sr.Damaged, MediaType: sr.Media, Scope: scope, Only: sr.Only})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(photos) > sr.Limit && offset+sr.Limit < storage.RankDepth {
		photos = photos[:sr.Limit]
		next = storage.Cursor{Offset: offset + sr.Limit}.String()
	}
	return photos, next, nil
}

// searchPage serves every photo list: the gallery and /search (HTML),
// /api/photos and /api/search (JSON).
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, q string, api bool, view *stateView) {
	sr, err := parseSearch(r, q)
	if view != nil {
		sr.Only = view.Only
	}
	if err == nil && sr.After != nil && sr.After.Ranked() != s.ranked(sr) {
		// An offset on a list by date, or a keyset on a ranking: refused,
		// not ignored (it would silently serve the first page again).
		err = badRequest("invalid cursor")
	}
	if err == nil && !sr.Before.IsZero() && s.ranked(sr) {
		err = badRequest("at is for lists by date, not a ranking by meaning")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scope := s.scope(r)
	s.cached(w, r, scope, func(ctx context.Context) (page, error) {
		photos, next, err := s.searchPhotos(ctx, scope, sr)
		if err != nil {
			return page{}, err
		}
		if api {
			b, err := json.Marshal(photoList(photos, next))
			return page{body: b, ctype: jsonType}, err
		}
		data := map[string]any{"Photos": photos, "Next": next != "", "Query": q,
			"Meaning": s.ranked(sr), "NoModel": s.embed == nil && sr.Text != "", "View": view}
		if q == "" && view == nil {
			// The gallery is the timeline: headings, and the scrubber's
			// months (one more query, cached with the page).
			counts, err := s.st.MonthCounts(ctx, scope)
			if err != nil {
				return page{}, err
			}
			data["Timeline"], data["Scrubber"] = groupByDay(photos), scrubber(counts)
			data["Newer"] = sr.After != nil || !sr.Before.IsZero()
		}
		if next != "" {
			v := url.Values{"cursor": {next}}
			if q != "" {
				v.Set("q", q)
			}
			data["NextURL"] = r.URL.Path + "?" + v.Encode()
		}
		b, err := s.renderBytes("gallery", data)
		return page{body: b, ctype: htmlType}, err
	})
}
