// Command minhttp is the reference for Shoebox's thumbnail serving in
// `make bench`: the least a Go net/http server can do to answer
// GET /thumbnail/{id} with the same bytes and the same headers. Every
// thumbnail under -media is read into memory at start with its header
// values made once; a request is a map lookup and a write. No router, no
// middleware, no metrics, no If-None-Match. What it serves per second on a
// machine is the ceiling of Go's HTTP stack there, and Shoebox's figure is
// read as a share of it.
//
//	go run ./bench/minhttp -media DATA/media -addr 127.0.0.1:8090
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

type thumb struct {
	body                       []byte
	ctype, length, cache, etag []string
	nosniff                    []string
}

func main() {
	media := flag.String("media", "", "Shoebox's <data>/media folder")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	thumbs := map[string]*thumb{}
	err := filepath.WalkDir(*media, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		id, ok := strings.CutSuffix(d.Name(), ".thumb.webp")
		if !ok || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		thumbs[id] = &thumb{body: b, ctype: []string{"image/webp"}, length: []string{strconv.Itoa(len(b))},
			cache: []string{"public, max-age=31536000, immutable"}, etag: []string{`"` + id + `-t"`},
			nosniff: []string{"nosniff"}}
		return nil
	})
	if err != nil || len(thumbs) == 0 {
		log.Fatalf("minhttp: no thumbnails under %q: %v", *media, err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("minhttp: %d thumbnails on http://%s/\n", len(thumbs), ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strings.CutPrefix(r.URL.Path, "/thumbnail/")
		t, ok := thumbs[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h["Content-Type"] = t.ctype
		h["Content-Length"] = t.length
		h["Cache-Control"] = t.cache
		h["Etag"] = t.etag
		h["X-Content-Type-Options"] = t.nosniff
		w.Write(t.body)
	})))
}
