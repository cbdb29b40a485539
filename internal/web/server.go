// Package web serves Shoebox's gallery and API. Every route is registered
// in routes() below; each handler lives in the file of its page or
// resource: gallery.go (every photo list, HTML and JSON), timeline.go (the
// gallery's headings, date scrubber and months), photo.go (one
// photo), album.go (albums, API and pages), people.go (people and faces), map.go (the map of located photos), image.go (thumbnail, preview, original), video.go, upload.go (tus uploads), duplicates.go, stats.go,
// metrics.go, static.go.
// Media routes (thumbnail, preview, original, video) read files named by photo id
// and never touch the database, so they keep working when it is down or
// its connection budget is spent.
package web

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"shoebox/internal/ai"
	"shoebox/internal/database"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

//go:embed templates/*.html
var templateFS embed.FS

// Server is the HTTP side of Shoebox.
type Server struct {
	db      *database.DB
	st      *storage.Storage
	store   thumbs.Store
	embed   ai.Embedder // nil: no search by meaning
	log     *slog.Logger
	pages   map[string]*template.Template
	static  *staticFiles
	metrics *metrics
	cache   *pageCache
	thumbs  *thumbCache

	staleOriginal func()       // see OnStaleOriginal
	staleAt       atomic.Int64 // when it was last called, Unix ns

	bg      *storage.Storage // background share: the auth poll
	access  Access           // see SetAccess
	hosts   map[string]bool  // Host names allowed without accounts, from SetAccess
	auth    *authState       // accounts mode, grant key, revoked sessions (auth.go)
	vis     *visibility      // who sees which photo, for media routes (visibility.go)
	states  stateGens        // per-user state changes, for the page cache (state.go)
	uploads *uploads         // tus and the upload library (upload.go); nil: uploads off
	mapOpts MapOptions       // the map's tiles (SetMap)
	mapCSP  []string         // the map page's CSP: tiles' origin allowed
}

// New builds the server and starts its auth poll (Close stops it). st
// must run on db's foreground pool; embed may be nil (no model: search by
// metadata only).
func New(db *database.DB, st *storage.Storage, store thumbs.Store, embed ai.Embedder, log *slog.Logger) (*Server, error) {
	s := &Server{db: db, st: st, store: store, embed: embed, log: log, static: loadStatic(), metrics: newMetrics(db, st), cache: newPageCache(time.Second, 3*time.Second, 16<<20), thumbs: newThumbCache(32 << 20),
		auth: newAuthState(), vis: &visibility{}, mapCSP: csp}
	if db != nil {
		s.bg = storage.New(db.Background())
	}
	var err error
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, err
	}
	// Learn the accounts mode and the grant key now (media routes never
	// ask the database), then keep them fresh; a database down now is
	// read on a later poll, and until then media answer 503, pages ask.
	// (No database at all, in benchmarks of the image path: no account.)
	if db == nil {
		s.auth.mode.Store(modeOpen)
		return s, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := s.refreshAuth(ctx, s.bg); err != nil {
		log.Warn("accounts state not read yet", "err", err)
	}
	cancel()
	go s.pollAuth()
	return s, nil
}

// routes registers every route of Shoebox.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.gallery)
	m.HandleFunc("GET /search", s.search)
	m.HandleFunc("GET /photo/{id}", s.photo)
	m.HandleFunc("GET /stats", s.statsPage)
	m.HandleFunc("GET /map", s.mapPage)
	m.HandleFunc("GET /map/outline.json", s.mapOutline)
	m.HandleFunc("GET /api/map", s.apiMap)
	m.HandleFunc("GET /thumbnail/{id}", s.image(thumbs.Thumb))
	m.HandleFunc("GET /preview/{id}", s.image(thumbs.Preview))
	m.HandleFunc("GET /original/{id}", s.original)
	m.HandleFunc("GET /video/{id}", s.video)
	m.HandleFunc("GET /api/photos", s.apiPhotos)
	m.HandleFunc("GET /api/photos/{id}", s.apiPhoto)
	m.HandleFunc("GET /api/photos/{id}/similar", s.apiSimilar)
	m.HandleFunc("PATCH /api/photos/{id}", s.apiPatchPhoto)
	m.HandleFunc("PATCH /api/photos", s.apiPatchPhotos)
	m.HandleFunc("POST /photo/{id}/state", s.photoStateForm)
	m.HandleFunc("GET /favorites", s.favoritesPage)
	m.HandleFunc("GET /archive", s.archivePage)
	m.HandleFunc("GET /trash", s.trashPage)
	m.HandleFunc("POST /trash", s.trashForm)
	m.HandleFunc("POST /api/photos/download", s.apiDownload)
	m.HandleFunc("POST /download", s.downloadForm)
	m.HandleFunc("POST /api/shares", s.apiCreateShare)
	m.HandleFunc("GET /api/shares", s.apiShares)
	m.HandleFunc("DELETE /api/shares/{id}", s.apiRevokeShare)
	m.HandleFunc("GET /shares", s.sharesPage)
	m.HandleFunc("POST /shares", s.shareForm)
	m.HandleFunc("POST /shares/{id}/revoke", s.revokeShareForm)
	m.HandleFunc("GET /s/{key}", s.sharePage)
	m.HandleFunc("POST /s/{key}", s.sharePassword)
	m.HandleFunc("GET /s/{key}/p/{id}", s.sharePhotoPage)
	m.HandleFunc("GET /duplicates", s.duplicatesPage)
	m.HandleFunc("GET /api/duplicates", s.apiDuplicates)
	m.HandleFunc("GET /api/search", s.apiSearch)
	m.HandleFunc("GET /api/timeline", s.apiTimeline)
	m.HandleFunc("GET /api/stats", s.apiStats)
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("GET /metrics", s.metricsPage)
	m.HandleFunc("GET /static/{hash}/{name}", s.staticFile)
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("GET /setup", s.setupPage)
	m.HandleFunc("POST /setup", s.setup)
	m.HandleFunc("GET /account/sessions", s.sessionsPage)
	m.HandleFunc("POST /account/sessions/{id}/signout", s.endSession)
	m.HandleFunc("GET /account/password", s.passwordPage)
	m.HandleFunc("POST /account/password", s.changePassword)
	m.HandleFunc("GET /account/keys", s.keysPage)
	m.HandleFunc("POST /account/keys", s.addKey)
	m.HandleFunc("POST /account/keys/{id}/revoke", s.revokeKey)
	m.HandleFunc("GET /albums", s.albumsPage)
	m.HandleFunc("POST /albums", s.createAlbumForm)
	m.HandleFunc("GET /albums/{id}", s.albumView)
	m.HandleFunc("POST /albums/{id}/edit", s.editAlbumForm)
	m.HandleFunc("POST /albums/{id}/cover", s.coverForm)
	m.HandleFunc("POST /albums/{id}/photos/remove", s.removePhotoForm)
	m.HandleFunc("POST /albums/{id}/members", s.shareAlbumForm)
	m.HandleFunc("POST /albums/{id}/members/{user}/remove", s.unshareAlbumForm)
	m.HandleFunc("POST /albums/{id}/delete", s.deleteAlbumForm)
	m.HandleFunc("POST /photo/{id}/album", s.addToAlbumForm)
	m.HandleFunc("POST /api/albums", s.apiCreateAlbum)
	m.HandleFunc("GET /api/albums", s.apiAlbums)
	m.HandleFunc("GET /api/albums/{id}", s.apiAlbum)
	m.HandleFunc("PATCH /api/albums/{id}", s.apiPatchAlbum)
	m.HandleFunc("DELETE /api/albums/{id}", s.apiDeleteAlbum)
	m.HandleFunc("POST /api/albums/{id}/photos", s.apiAlbumPhotos)
	m.HandleFunc("DELETE /api/albums/{id}/photos", s.apiAlbumPhotos)
	m.HandleFunc("POST /api/albums/{id}/members", s.apiShareAlbum)
	m.HandleFunc("DELETE /api/albums/{id}/members/{user}", s.apiUnshareAlbum)
	m.HandleFunc("GET /people", s.peoplePage)
	m.HandleFunc("POST /people/merge", s.mergePeopleForm)
	m.HandleFunc("POST /people/{id}", s.personForm)
	m.HandleFunc("POST /people/{id}/split", s.splitPersonForm)
	m.HandleFunc("GET /api/people", s.apiPeople)
	m.HandleFunc("PATCH /api/people/{id}", s.apiPatchPerson)
	m.HandleFunc("POST /api/people/{id}/merge", s.apiMergePeople)
	m.HandleFunc("POST /api/people/{id}/split", s.apiSplitPerson)
	m.HandleFunc("POST /api/uploads/check", s.uploadCheck)
	m.HandleFunc("/api/uploads/", s.tusUpload) // tus: POST, HEAD, PATCH, DELETE, OPTIONS
	m.HandleFunc("GET /admin/audit", s.auditLog)
	m.HandleFunc("GET /api/audit", s.auditLog)
	return m
}

// Handler is the whole site with its middleware: headers and metrics,
// then cross-origin protection of every state-changing request (besides
// SameSite cookies), then who may reach what (guard, auth.go).
func (s *Server) Handler() http.Handler {
	return s.middleware(http.NewCrossOriginProtection().Handler(s.guard(s.routes())))
}

// Serve listens on addr until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, addr string, ready func(addr string)) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // 431 beyond: no header needs more
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer s.Close()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
