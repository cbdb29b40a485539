package web

import (
	"net/http"
	"net/url"
	"strings"

	"shoebox/internal/place"
)

// The map: /map (Leaflet and Leaflet.markercluster, served from the
// binary), the located photos it shows (/api/map), and the world's
// country outlines it draws beneath the tiles (/map/outline.json), which
// is all it shows where the tiles do not load (offline).

// MapOptions are the map's tiles.
type MapOptions struct {
	// Tiles is a tile URL template ({s}, {z}, {x}, {y}); "" or "off": none,
	// the outline map only.
	Tiles string
	// Attribution is the tiles' attribution (HTML), shown on the map.
	Attribution string
}

// SetMap sets the map's tiles. Without it the map draws the outline only.
func (s *Server) SetMap(o MapOptions) {
	if o.Tiles == "off" {
		o.Tiles = ""
	}
	s.mapOpts = o
	s.mapCSP = csp
	if origin := tileOrigin(o.Tiles); origin != "" {
		s.mapCSP = []string{strings.Replace(csp[0], "img-src 'self' data:", "img-src 'self' data: "+origin, 1)}
	}
}

// tileOrigin is the origin tiles load from, as a CSP source ("" for
// none): https://tile.example, or https://*.tile.example for {s}.
func tileOrigin(tiles string) string {
	if tiles == "" {
		return ""
	}
	u, err := url.Parse(strings.ReplaceAll(tiles, "{s}", "sub"))
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Host
	if strings.Contains(tiles, "{s}") {
		host = strings.Replace(host, "sub", "*", 1)
	}
	return u.Scheme + "://" + host
}

// mapLimit bounds the photos /api/map returns (newest first).
const mapLimit = 100000

// mapPage is GET /map.
func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Security-Policy"] = s.mapCSP
	s.render(w, r, http.StatusOK, "map", map[string]any{"Tiles": s.mapOpts.Tiles, "Attribution": s.mapOpts.Attribution})
}

// apiMapPhoto is one located photo on the map.
type apiMapPhoto struct {
	ID           string  `json:"id"`
	Lat          float64 `json:"lat"`
	Lon          float64 `json:"lon"`
	ThumbnailURL string  `json:"thumbnail_url"`
}

// apiMap is GET /api/map: {"photos":[{"id","lat","lon","thumbnail_url"}],
// "truncated":bool}, every located photo the asker's gallery shows
// (archived and trashed ones left out), newest first.
func (s *Server) apiMap(w http.ResponseWriter, r *http.Request) {
	photos, err := s.st.MapPhotos(r.Context(), s.scope(r), mapLimit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	truncated := len(photos) > mapLimit
	if truncated {
		photos = photos[:mapLimit]
	}
	out := make([]apiMapPhoto, len(photos))
	for i, p := range photos {
		out[i] = apiMapPhoto{ID: p.ID, Lat: p.Lat, Lon: p.Lon, ThumbnailURL: "/thumbnail/" + p.ID + "?v=1"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"photos": out, "truncated": truncated})
}

// mapOutline is GET /map/outline.json: Natural Earth's country borders at
// 1:110m as GeoJSON (embedded; the same for everyone).
func (s *Server) mapOutline(w http.ResponseWriter, r *http.Request) {
	b, err := place.Outline()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", jsonType)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

// placeName is a place as one line: "Lisbon, Lisbon, Portugal".
func placeName(p *place.Place) string {
	var parts []string
	for _, n := range []string{p.City, p.Region, p.Country} {
		if n != "" {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, ", ")
}
