package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"

	"shoebox/internal/media"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

var pageNames = []string{"gallery", "photo", "stats", "duplicates", "error", "login", "setup", "sessions", "password", "keys", "audit",
	"share", "sharephoto", "shares", "albums", "album", "map", "people"}

func (s *Server) parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"static":      s.static.url,
		"placeholder": placeholderStyle,
		"tileStyle":   tileStyle,
		"bytes":       FormatBytes,
		"takenAt":     takenAt,
		"library":     libraryName,
		"decimal":     func(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) },
		"deref":       func(p *float64) float64 { return *p },
		"camera":      camera,
		"tagQuery":    func(l string) string { return "tag:" + strings.ReplaceAll(l, " ", "_") },
		"placeQuery":  func(n string) string { return "place:" + strings.ReplaceAll(n, " ", "_") },
		"placeName":   placeName,
		"faceBox":     faceBox,
		"faceCrop":    faceCrop,
		"personQuery": personQuery,
		"percent":     func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"plural":      plural,
		"duration":    formatDuration,
		"playable": func(p *storage.Photo) bool {
			// As it is, or converted by its transcode job (a file beside
			// the thumbnail).
			return media.Video{Container: p.Format, VideoCodec: p.VideoCodec, AudioCodec: p.AudioCodec}.Playable() ||
				s.store.Has(p.ID, thumbs.Transcode)
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	b, err := s.renderBytes(page, data)
	if err != nil {
		s.log.Error("render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", htmlType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}

const htmlType = "text/html; charset=utf-8"

func (s *Server) renderBytes(page string, data map[string]any) ([]byte, error) {
	if _, ok := data["Query"]; !ok {
		data["Query"] = ""
	}
	// The same for every reader (pages are cached across them): accounts
	// exist, so whoever sees a page is signed in; but the sign-in and
	// first-run pages are for people signed out, who get no "Sign out".
	data["SignedIn"] = s.accountsExist() && page != "login" && page != "setup"
	// Uploads (upload.js): for whoever may see the gallery, not the
	// signed-out pages.
	data["Uploads"] = s.uploads != nil && page != "login" && page != "setup"
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return buf.Bytes(), nil
}

// placeholderStyle shows the thumbhash image until the thumbnail loads. The
// data URL is made by us at index time; it is checked anyway before being
// marked safe CSS.
func placeholderStyle(p string) template.CSS {
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(p, prefix) || len(p) == len(prefix) {
		return ""
	}
	for i := len(prefix); i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return ""
		}
	}
	return template.CSS("background-image:url(" + p + ")")
}

// tileStyle sizes a gallery tile by its aspect ratio, so the grid is laid out
// before any image arrives. The width follows the row height the style sheet
// picks for the screen (--tile: 180px, less on a phone), so tiles keep their
// shape there too.
func tileStyle(p storage.PhotoSummary) template.CSS {
	w, h := p.ThumbWidth, p.ThumbHeight
	if w <= 0 || h <= 0 {
		w, h = 1, 1
	}
	ratio := strconv.FormatFloat(float64(w)/float64(h), 'f', 4, 64)
	return template.CSS("width:calc(var(--tile) * " + ratio + ");flex-grow:" + strconv.Itoa(180*w/h))
}

// FormatBytes writes a size for people (binary units: 1.5 MB is 1.5 MiB);
// the stats page and `shoebox stats` both use it, so they agree. Under 1 kB
// it counts bytes, and a figure that would round up to 1024 of a unit is
// written in the next one ("1.0 MB", not "1024 kB").
func FormatBytes(n int64) string {
	const k = 1 << 10
	if n < k {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n) / k
	if v < 1023.5 {
		return fmt.Sprintf("%.0f kB", v)
	}
	if v /= k; v < 1023.95 {
		return fmt.Sprintf("%.1f MB", v)
	}
	return fmt.Sprintf("%.1f GB", v/k)
}

// plural picks the noun for a count: "1 photo", "0 photos", "2 photos".
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// takenAt shows the wall-clock time the photo was taken, with its offset
// when the photo says it, and says when the date is only the file's time.
func takenAt(p *storage.Photo) string {
	t, zone := localTime(p.PhotoSummary)
	s := t.Format("Mon 2 Jan 2006 15:04:05")
	if zone != "" {
		s += " " + zone
	}
	if p.TakenSource == "file" {
		s += " (file time)"
	}
	return s
}

// camera names a camera once: "Canon EOS 70D", not "Canon Canon EOS 70D".
func camera(make, model string) string {
	if model == "" || make == "" {
		return strings.TrimSpace(make + model)
	}
	if strings.HasPrefix(strings.ToLower(model), strings.ToLower(strings.Fields(make)[0])) {
		return model
	}
	return make + " " + model
}

// formatDuration prints a video's length for its badge: "0:42", "1:02:03"
// (timeline.js prints the same).
func formatDuration(s float64) string {
	n := int(math.Round(s))
	if n >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", n/3600, n/60%60, n%60)
	}
	return fmt.Sprintf("%d:%02d", n/60, n%60)
}
