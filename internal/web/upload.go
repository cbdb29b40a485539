package web

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/filestore"
	tus "github.com/tus/tusd/v2/pkg/handler"
	expslog "golang.org/x/exp/slog"

	"shoebox/internal/jobs"
	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/objstore"
	"shoebox/internal/storage"
	"shoebox/internal/upload"
)

// UploadOptions configure uploads (SetUploads).
type UploadOptions struct {
	// Dir is the uploads folder, <data>/uploads: each user's upload
	// library is a folder in it, tus keeps uploads in progress in its
	// hidden upload.TusDir.
	Dir string
	// MaxBytes is the largest file taken (413 beyond). 0: no limit.
	MaxBytes int64
	// Quota is how many bytes of uploads each user may keep (507 beyond).
	// 0: no quota.
	Quota int64
	// Media bounds the content check (pixels, video time limits).
	Media media.Options
	// Bucket, when set (media on S3, no SHOEBOX_UPLOAD_DIR), keeps each
	// user's upload library as objects under upload.BucketFolder in it, so
	// that every process reaches it; tus's uploads in progress stay in
	// Dir, on this machine (see the README's "Uploads").
	Bucket objstore.Bucket
}

// uploads is the tus side of the server (SetUploads).
type uploads struct {
	opts    UploadOptions
	store   upload.Store
	checks  chan struct{} // content checks running (at most one per CPU)
	handler http.Handler  // tusd's, under /api/uploads/
}

// Metadata keys the server sets on each tus upload at its creation, over
// whatever the client sent: whose upload it is.
const (
	metaUser = "shoebox_user"
	metaName = "shoebox_name"
)

// SetUploads turns uploads on: tus at /api/uploads/, the check at
// /api/uploads/check. Call it before serving; without it both answer 404.
func (s *Server) SetUploads(o UploadOptions) error {
	dir := filepath.Join(o.Dir, upload.TusDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	u := &uploads{opts: o, store: upload.NewStore(dir), checks: make(chan struct{}, runtime.NumCPU())}
	composer := tus.NewStoreComposer()
	u.store.UseIn(composer)
	filelocker.New(dir).UseIn(composer)
	h, err := tus.NewHandler(tus.Config{
		StoreComposer:        composer,
		BasePath:             "/api/uploads/",
		MaxSize:              o.MaxBytes,
		DisableDownload:      true,
		DisableConcatenation: true, // a concatenation would dodge the checks at creation
		Cors:                 &tus.CorsConfig{Disable: true},
		// tusd logs every request; the server's own middleware counts
		// them, and the hooks log what matters.
		Logger:                    expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback:   s.uploadCreate,
		PreFinishResponseCallback: s.uploadFinish,
	})
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	u.handler = http.StripPrefix("/api/uploads/", s.uploadOwner(h))
	s.uploads = u
	go s.sweepUploads()
	return nil
}

// abandonedAfter is how long an upload in progress may lie untouched
// before it is removed (its client gave up).
const abandonedAfter = 7 * 24 * time.Hour

// sweepUploads removes abandoned uploads in progress now and every hour,
// until the server closes.
func (s *Server) sweepUploads() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n := s.uploads.store.Sweep(abandonedAfter); n > 0 {
			s.log.Info("abandoned uploads removed", "files", n, "untouched_for", abandonedAfter)
		}
		select {
		case <-s.auth.stop:
			return
		case <-t.C:
		}
	}
}

// tusUpload serves the tus protocol under /api/uploads/.
func (s *Server) tusUpload(w http.ResponseWriter, r *http.Request) {
	if s.uploads == nil {
		http.NotFound(w, r)
		return
	}
	w.Header()["Cache-Control"] = noStore
	s.uploads.handler.ServeHTTP(w, r)
}

// uploader is the account a request uploads as: the signed-in user or
// key's owner, or the local user (0) without accounts (the guard lets no
// one else through).
func uploader(ctx context.Context) (id int64, name string) {
	se, _ := ctx.Value(ctxKey{}).(storage.Session)
	return se.UserID, se.UserName
}

var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// uploadOwner lets a request about an upload in progress (HEAD, PATCH,
// DELETE /api/uploads/{id}) through only when it is its uploader's: any
// other answer is 404, as if no such upload existed.
func (s *Server) uploadOwner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		user, _ := uploader(r.Context())
		if uploadID.MatchString(id) {
			if up, err := s.uploads.store.GetUpload(r.Context(), id); err == nil {
				if info, err := up.GetInfo(r.Context()); err == nil && info.MetaData[metaUser] == strconv.FormatInt(user, 10) {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		http.Error(w, "no such upload", http.StatusNotFound)
	})
}

// uploadError is a tus answer with status and a message for people.
func uploadError(status int, code, msg string) tus.Error {
	return tus.NewError(code, msg, status)
}

var (
	errNoType = func(name string) tus.Error {
		return uploadError(http.StatusUnsupportedMediaType, "ERR_UNSUPPORTED_TYPE",
			fmt.Sprintf("%q is not a photo or video type Shoebox indexes (send the file name in the metadata as \"filename\")", name))
	}
	errQuota = func(used, size, quota int64) tus.Error {
		return uploadError(http.StatusInsufficientStorage, "ERR_QUOTA_EXCEEDED",
			fmt.Sprintf("upload quota exceeded: %d bytes used of %d, this file needs %d more", used, quota, size))
	}
)

// uploadCreate checks an upload before tus creates it: a photo or video
// type, a known length, within the quota; it records whose it is.
func (s *Server) uploadCreate(hook tus.HookEvent) (tus.HTTPResponse, tus.FileInfoChanges, error) {
	ctx := hook.Context
	user, name := uploader(ctx)
	if user == 0 && s.auth.mode.Load() != modeOpen {
		// The guard lets no one unsigned this far; should that change, no
		// upload goes to the local user's library while accounts exist.
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, uploadError(http.StatusUnauthorized, "ERR_UNAUTHORIZED", "sign in first")
	}
	info := hook.Upload
	if upload.Kind(info.MetaData["filename"]) == "" {
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, errNoType(info.MetaData["filename"])
	}
	if info.SizeIsDeferred {
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, uploadError(http.StatusBadRequest, "ERR_LENGTH_REQUIRED",
			"Upload-Length is required: the size is checked against the limits before any byte is sent")
	}
	if err := s.checkQuota(ctx, user, info.Size, true); err != nil {
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, err
	}
	meta := make(tus.MetaData, len(info.MetaData)+2)
	for k, v := range info.MetaData {
		meta[k] = v
	}
	meta[metaUser] = strconv.FormatInt(user, 10)
	meta[metaName] = name
	return tus.HTTPResponse{}, tus.FileInfoChanges{MetaData: meta}, nil
}

// checkQuota refuses (507) size more bytes for user beyond the quota. At
// creation (pending) the user's other uploads in progress count too, so
// many uploads started at once cannot fill the disk past it.
func (s *Server) checkQuota(ctx context.Context, user, size int64, pending bool) error {
	quota := s.uploads.opts.Quota
	if quota <= 0 {
		return nil
	}
	used, err := s.st.UploadedBytes(ctx, user)
	if err != nil {
		return err
	}
	if pending {
		used += s.uploads.store.Pending(metaUser, strconv.FormatInt(user, 10))
	}
	if used+size > quota {
		return errQuota(used, size, quota)
	}
	return nil
}

// uploadFinish runs when the last byte of an upload is in, before tus
// answers: it takes the hash made as the bytes streamed (upload.Store) and
// checks the file (no database connection held),
// then keeps it in its uploader's library (moved into place, its indexing
// queued with its row) or refuses it with the reason. Either way nothing
// is left of the tus upload. A duplicate of one of the uploader's photos
// is not kept twice; the answer names the photo (Shoebox-Photo) either way.
func (s *Server) uploadFinish(hook tus.HookEvent) (tus.HTTPResponse, error) {
	ctx := hook.Context
	info := hook.Upload
	u := s.uploads
	path := info.Storage[filestore.StorageKeyPath]
	user, err := strconv.ParseInt(info.MetaData[metaUser], 10, 64)
	if err != nil || path == "" {
		return tus.HTTPResponse{}, fmt.Errorf("upload %s: no owner or file", info.ID)
	}
	// done removes what tus keeps of the upload (its data, if not moved
	// into a library, its info and hash state); the id is tus's own (hex),
	// checked again so no path can come of it.
	done := func() {
		if !uploadID.MatchString(info.ID) {
			return
		}
		for _, p := range u.store.Paths(info.ID) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("upload: remove tus upload", "id", info.ID, "err", err)
			}
		}
	}
	filename := info.MetaData["filename"]
	sum, err := u.store.Sum(info.ID, info.Size) // hashed as it streamed
	if err != nil {
		return tus.HTTPResponse{}, err
	}
	// Decoding is bounded like indexing: a few at once, whatever the
	// number of uploads finishing together.
	select {
	case u.checks <- struct{}{}:
	case <-ctx.Done():
		return tus.HTTPResponse{}, ctx.Err()
	}
	taken, err := upload.Check(ctx, path, filename, u.opts.Media)
	<-u.checks
	if errors.Is(err, upload.ErrRefused) {
		done()
		s.log.Info("upload refused", "user", user, "file", filename, "reason", err)
		return tus.HTTPResponse{}, uploadError(http.StatusUnprocessableEntity, "ERR_CONTENT_REFUSED",
			strings.TrimPrefix(err.Error(), upload.ErrRefused.Error()+": "))
	} else if err != nil {
		return tus.HTTPResponse{}, err
	}
	id := library.PhotoID(sum)
	answer := tus.HTTPResponse{Header: tus.HTTPHeader{"Shoebox-Photo": id}}
	have, err := s.st.HaveHashes(ctx, user, [][]byte{sum})
	if err != nil {
		return tus.HTTPResponse{}, err
	}
	if len(have) > 0 {
		done()
		answer.Header["Shoebox-Duplicate"] = "true"
		return answer, nil
	}
	if err := s.checkQuota(ctx, user, info.Size, false); err != nil {
		done()
		return tus.HTTPResponse{}, err
	}
	folder := upload.Folder(info.MetaData[metaName], user)
	want := filepath.Join(u.opts.Dir, folder)
	if u.opts.Bucket != nil {
		want = u.opts.Bucket.URL(upload.BucketFolder + "/" + folder)
	}
	// A library made before goes on where it is (a folder made before
	// media moved to S3 stays a folder).
	libID, root, err := s.st.UploadLibrary(ctx, user, want)
	if err != nil {
		return tus.HTTPResponse{}, err
	}
	if taken.IsZero() || taken.Year() < 1900 || taken.After(time.Now().Add(48*time.Hour)) {
		taken = time.Now()
	}
	rel, size, mtime, err := u.place(ctx, path, root, taken, upload.SafeName(filename))
	if err != nil {
		return tus.HTTPResponse{}, err
	}
	done()
	// The file is in its library now: were the row not saved, the next
	// scan of the library would index it.
	err = s.st.Tx(ctx, func(tx *storage.Storage) error {
		added, err := tx.SaveScanned(ctx, libID, []storage.ScannedFile{{RelPath: rel, Size: size,
			MTime: mtime, PhotoID: id, Hash: sum}})
		if err != nil {
			return err
		}
		for _, p := range added {
			if err := tx.Enqueue(ctx, jobs.ProcessJob(p)); err != nil {
				return err
			}
		}
		return tx.Unpurge(ctx, user, id)
	})
	if err != nil {
		s.log.Warn("upload kept; indexed by the next scan of its library", "file", rel, "err", err)
		s.nudgeScan()
	}
	s.log.Info("upload kept", "user", user, "library", root, "file", rel, "photo", id, "bytes", size)
	return answer, nil
}

// place keeps the checked upload at path in the upload library at root:
// a folder (moved there), or a folder of objects in the media bucket
// (stored, path left for done to remove). It says where under root, and
// the size and time the scan of the library will find.
func (u *uploads) place(ctx context.Context, path, root string, taken time.Time, name string) (rel string, size int64, mtime time.Time, err error) {
	if library.IsObjects(root) {
		prefix, err := library.KeyOf(u.opts.Bucket, root)
		if err != nil {
			return "", 0, time.Time{}, fmt.Errorf("upload: %w", err)
		}
		rel, info, err := upload.PlaceObject(ctx, u.opts.Bucket, path, prefix, taken, name)
		return rel, info.Size, info.Modified, err
	}
	if rel, err = upload.Place(path, root, taken, name); err != nil {
		return "", 0, time.Time{}, err
	}
	fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return "", 0, time.Time{}, fmt.Errorf("upload: %w", err)
	}
	return rel, fi.Size(), fi.ModTime().UTC().Truncate(time.Microsecond), nil
}

// nudgeScan asks for a rescan soon (an upload whose row could not be saved).
func (s *Server) nudgeScan() {
	if s.staleOriginal != nil {
		s.staleOriginal()
	}
}

// maxCheck is how many hashes one check may ask about.
const maxCheck = 10000

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// uploadCheck is POST /api/uploads/check: {"sha256":["hex",…]} →
// {"have":["hex",…]}, those of the files the asker already has (a client
// skips them).
func (s *Server) uploadCheck(w http.ResponseWriter, r *http.Request) {
	if s.uploads == nil {
		http.NotFound(w, r)
		return
	}
	var req struct {
		SHA256 []string `json:"sha256"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCheck*70+1024)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, r, badRequest("want {\"sha256\":[\"hex\",…]}"))
		return
	}
	if len(req.SHA256) > maxCheck {
		s.fail(w, r, badRequest("at most %d hashes at once", maxCheck))
		return
	}
	sums := make([][]byte, 0, len(req.SHA256))
	for _, h := range req.SHA256 {
		h = strings.ToLower(h)
		if !hexSHA256.MatchString(h) {
			s.fail(w, r, badRequest("%q is not a SHA-256 in hex", h))
			return
		}
		b, _ := hex.DecodeString(h)
		sums = append(sums, b)
	}
	user, _ := uploader(r.Context())
	have, err := s.st.HaveHashes(r.Context(), user, sums)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]string, 0, len(have))
	for _, h := range have {
		out = append(out, hex.EncodeToString(h))
	}
	w.Header()["Cache-Control"] = noStore
	writeJSON(w, http.StatusOK, map[string]any{"have": out})
}
