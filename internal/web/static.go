package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

//go:embed static
var staticFS embed.FS

// staticFiles are the embedded assets, addressed by content hash so they can
// be cached forever: /static/{hash}/{name}.
type staticFiles struct {
	byName map[string]staticFile
}

type staticFile struct {
	hash string
	data []byte
}

func loadStatic() *staticFiles {
	sf := &staticFiles{byName: map[string]staticFile{}}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := staticFS.ReadFile(p)
		sum := sha256.Sum256(b)
		sf.byName[path.Base(p)] = staticFile{hash: hex.EncodeToString(sum[:6]), data: b}
		return nil
	})
	return sf
}

// url is the cache-forever address of an asset.
func (sf *staticFiles) url(name string) string {
	f, ok := sf.byName[name]
	if !ok {
		return "/static/missing/" + name
	}
	return "/static/" + f.hash + "/" + name
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static.byName[r.PathValue("name")]
	if !ok || f.hash != r.PathValue("hash") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(r.PathValue("name"))))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(f.data)
}
