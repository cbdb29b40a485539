package web

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// Downloads: a selection as one zip, streamed as it is read (no temporary
// file, nothing held in memory but a copy buffer). POST /api/photos/download
// takes {"ids":[…]}, POST /download the form fields "id" (a selection in
// any grid). Every id is checked against who asks first: one they may not
// see makes it a 404 before a byte is sent. Photos are stored, not
// compressed again (they are compressed already), under the name the
// asker's library gives them.

// apiDownload is POST /api/photos/download.
func (s *Server) apiDownload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	s.download(w, r, req.IDs)
}

// downloadForm is POST /download.
func (s *Server) downloadForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	s.download(w, r, r.PostForm["id"])
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, ids []string) {
	if err := checkIDs(ids); err != nil {
		s.fail(w, r, err)
		return
	}
	names, err := s.st.PhotoNames(r.Context(), s.scope(r), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="shoebox-`+time.Now().Format("2006-01-02")+`.zip"`)
	h["Cache-Control"] = noStore
	s.writeZip(r.Context(), w, names)
}

// writeZip streams the originals of names (id → file path) into a zip on
// w, in name order. A file no longer the one indexed is left out and
// listed in NOT-INCLUDED.txt.
func (s *Server) writeZip(ctx context.Context, w http.ResponseWriter, names map[string]string) {
	ids := make([]string, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return names[ids[i]]+ids[i] < names[ids[j]]+ids[j] })
	zw := zip.NewWriter(w)
	used := map[string]bool{}
	var missing []string
	for _, id := range ids {
		f, o, err := s.store.OpenSource(ctx, id)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s): %v", id, path.Base(names[id]), err))
			if o.Path != "" {
				s.originalChanged(id, err)
			}
			continue
		}
		name := zipName(names[id], id, path.Ext(o.Path), used)
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: time.Unix(0, o.MTime)})
		if err == nil {
			_, err = io.Copy(fw, f)
		}
		f.Close()
		if err != nil { // the client went away, or the disk failed mid-file
			s.log.Warn("zip download cut short", "err", err)
			return
		}
	}
	if len(missing) > 0 {
		if fw, err := zw.Create("NOT-INCLUDED.txt"); err == nil {
			fmt.Fprintf(fw, "These photos changed on disk since they were indexed and were left out:\n%s\n", strings.Join(missing, "\n"))
		}
	}
	zw.Close()
}

// zipName is a safe, unique entry name: the file's base name (never a
// folder, so nothing unpacks outside where it is opened), or the id when
// there is none, "name (2).jpg" on a clash.
func zipName(rel, id, ext string, used map[string]bool) string {
	base := path.Base(strings.ReplaceAll(rel, "\\", "/"))
	if base == "." || base == "/" || base == "" || base == ".." {
		base = id + ext
	}
	base = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, base)
	name := base
	stem, e := strings.TrimSuffix(base, path.Ext(base)), path.Ext(base)
	for n := 2; used[strings.ToLower(name)]; n++ {
		name = fmt.Sprintf("%s (%d)%s", stem, n, e)
	}
	used[strings.ToLower(name)] = true
	return name
}
