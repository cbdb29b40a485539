package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"shoebox/internal/library"
	"shoebox/internal/storage"
)

// query is a search split into metadata filters and words to rank by
// meaning: "year:2019 camera:canon dog on a beach" filters on the year and
// camera and ranks by "dog on a beach". Bare years are filters too.
type query struct {
	Filters []string // words that must appear in the photo's metadata/path
	Tags    []string // tag:NAME (underscores for spaces: tag:hot_air_balloon)
	Damaged bool     // is:damaged: only photos from truncated or corrupt files
	Text    string   // free text, ranked by meaning when a model is present
}

var months = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

func parseQuery(words []string) query {
	var (
		q    query
		free []string
	)
	for _, w := range words {
		k, v, ok := strings.Cut(w, ":")
		switch {
		case w == "is:damaged":
			q.Damaged = true
		case ok && v != "" && (k == "year" || k == "camera" || k == "folder" || k == "lens"):
			q.Filters = append(q.Filters, v)
		case ok && v != "" && k == "tag":
			q.Tags = append(q.Tags, strings.ReplaceAll(v, "_", " "))
		case ok && v != "" && k == "month":
			if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 12 {
				v = months[n-1]
			}
			q.Filters = append(q.Filters, v)
		case len(w) == 4 && w >= "1800" && w <= "2199" && isDigits(w):
			q.Filters = append(q.Filters, w)
		default:
			free = append(free, w)
		}
	}
	q.Text = strings.Join(free, " ")
	return q
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// meaningDepth bounds how far a search by meaning pages (best matches first).
const meaningDepth = 1000

// searchPhotos answers a search: by meaning when there is free text and a
// model, otherwise by metadata words (newest first). It returns the page,
// and the next page's cursor (an offset for meaning, a keyset otherwise).
func (s *Server) searchPhotos(ctx context.Context, p storage.ListParams, offset int) ([]storage.PhotoSummary, string, error) {
	q := parseQuery(p.Terms)
	// Named filters always filter; free words do too when there is no model
	// to rank by their meaning.
	p.Tags, p.Terms, p.Damaged = q.Tags, q.Filters, q.Damaged
	if s.embed == nil {
		p.Terms = append(p.Terms, strings.Fields(q.Text)...)
	}
	if s.embed == nil || q.Text == "" {
		photos, next, err := s.st.ListPhotos(ctx, p)
		if err != nil || next == nil {
			return photos, "", err
		}
		return photos, next.String(), nil
	}
	// Words that are all found in some photo's metadata or path (a camera,
	// a folder) filter as well as rank: "canon" finds Canon photos first.
	filters := q.Filters
	if ok, err := s.st.AllWordsMatch(ctx, strings.Fields(q.Text)); err != nil {
		return nil, "", err
	} else if ok {
		filters = append(filters, strings.Fields(q.Text)...)
	}
	vec, err := s.embed.EmbedText(ctx, q.Text)
	if err != nil {
		return nil, "", err
	}
	photos, _, err := s.st.Nearest(ctx, storage.NearestParams{Model: s.embed.Name(), Vector: vec,
		Limit: p.Limit + 1, Offset: offset, Terms: filters, Tags: q.Tags, Damaged: q.Damaged})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(photos) > p.Limit && offset+p.Limit < meaningDepth {
		photos = photos[:p.Limit]
		next = "o" + strconv.Itoa(offset+p.Limit)
	}
	return photos, next, nil
}

// searchOffset reads a meaning search's cursor ("o<offset>"); a keyset
// cursor is left to listParams.
func searchOffset(r *http.Request) (int, bool) {
	c := r.URL.Query().Get("cursor")
	if !strings.HasPrefix(c, "o") {
		return 0, false
	}
	n, err := strconv.Atoi(c[1:])
	if err != nil || n < 0 || n > meaningDepth {
		return 0, false
	}
	return n, true
}

// searchPage serves every photo list: the gallery and /search (HTML),
// /api/photos and /api/search (JSON). No words is the whole library.
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, q string, api bool) {
	offset, isOffset := searchOffset(r)
	rr := r
	if isOffset { // not a keyset cursor: don't let listParams parse it
		u := *r.URL
		v := u.Query()
		v.Del("cursor")
		u.RawQuery = v.Encode()
		rr = r.Clone(r.Context())
		rr.URL = &u
	}
	p, err := listParams(rr, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.cached(w, r, func(ctx context.Context) (page, error) {
		photos, next, err := s.searchPhotos(ctx, p, offset)
		if err != nil {
			return page{}, err
		}
		if api {
			b, err := json.Marshal(photoList(photos, next))
			return page{body: b, ctype: jsonType}, err
		}
		data := map[string]any{"Photos": photos, "Next": next != "", "Query": q,
			"Meaning": s.embed != nil && parseQuery(p.Terms).Text != "",
			"NoModel": s.embed == nil && parseQuery(p.Terms).Text != ""}
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

// similar is GET /api/photos/{id}/similar: nearest neighbours, best first.
func (s *Server) apiSimilar(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		s.fail(w, r, storage.ErrNotFound)
		return
	}
	photos, err := s.similarTo(r.Context(), id, 24)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, photoList(photos, ""))
}

func (s *Server) similarTo(ctx context.Context, id string, n int) ([]storage.PhotoSummary, error) {
	if s.embed == nil {
		return nil, nil
	}
	vec, err := s.st.EmbeddingOf(ctx, s.embed.Name(), id)
	if err != nil {
		if errorsIsNotFound(err) {
			return nil, nil // not embedded yet
		}
		return nil, err
	}
	photos, _, err := s.st.Nearest(ctx, storage.NearestParams{Model: s.embed.Name(), Vector: vec, Limit: n, Exclude: id})
	return photos, err
}
