package web

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"shoebox/internal/storage"
)

// Who sees which photo. A user sees the photos of the libraries they own
// or that are shared with them, and those of the albums they own or that
// are shared with them. Pages and the API ask the database with
// the user's Scope (every query filters by it). Media routes run no SQL, so
// every process keeps in memory which libraries hold each photo and which
// libraries each user sees, refreshed by the auth poll every second: new
// files incrementally, and everything again whenever access may have
// shrunk (the database's visibility epoch moved). A photo id is a content
// hash that anyone holding the file can compute; knowing it is never
// enough.

// visibility is one process's copy of who sees what (accounts mode only).
type visibility struct {
	mu     sync.RWMutex
	mark   storage.VisibilityMark
	photos map[string][]int32 // photo id → the libraries holding it (sorted)
	users  map[int64]storage.Scope
	// albums are the photos each user sees through albums (on top of
	// their libraries; loaded only for users whose scope is limited).
	albums map[int64]map[string]struct{}
	roots  map[int32]string // library id → folder
	// single holds the one-library sets every photo of one library
	// shares, so a library of a million photos costs no million slices.
	single map[int32][]int32
	shares map[int64]*liveShare // live share links (share.go)
}

// refreshVisibility brings the copy up to date from st.
func (s *Server) refreshVisibility(ctx context.Context, st *storage.Storage) error {
	v := s.vis
	v.mu.RLock()
	mark := v.mark
	v.mu.RUnlock()
	c, err := st.VisibilitySince(ctx, mark)
	if err != nil {
		return err
	}
	if c.Full {
		v.replace(c)
		return nil
	}
	v.mu.Lock()
	for _, f := range c.Files {
		v.add(f)
	}
	v.mark = c.Mark
	v.mu.Unlock()
	return nil
}

// replace loads everything anew (built aside, then swapped in).
func (v *visibility) replace(c storage.VisibilityChanges) {
	n := &visibility{photos: make(map[string][]int32, len(c.Files)), users: map[int64]storage.Scope{},
		roots: map[int32]string{}, single: map[int32][]int32{}, albums: map[int64]map[string]struct{}{}}
	seen := map[int64][]int32{}
	for _, l := range c.Libraries {
		n.roots[l.ID] = l.Root
		n.single[l.ID] = []int32{l.ID}
		for _, u := range l.Users {
			seen[u] = append(seen[u], l.ID)
		}
	}
	for u, libs := range seen {
		if len(libs) == len(c.Libraries) {
			n.users[u] = storage.Scope{} // every library: no filter at all
		} else {
			n.users[u] = storage.Only(libs)
		}
	}
	for _, f := range c.Files {
		n.add(f)
	}
	for _, a := range c.Albums {
		if sc, ok := n.users[a.User]; ok && !sc.Limited() {
			continue // sees every photo already
		}
		if n.albums[a.User] == nil {
			n.albums[a.User] = map[string]struct{}{}
		}
		n.albums[a.User][a.Photo] = struct{}{}
	}
	v.mu.Lock()
	v.photos, v.users, v.roots, v.single, v.albums = n.photos, n.users, n.roots, n.single, n.albums
	v.mark = c.Mark
	v.mu.Unlock()
	v.setShares(c.Shares)
}

// setShares replaces the live share links.
func (v *visibility) setShares(list []storage.ShareAccess) {
	m := make(map[int64]*liveShare, len(list))
	for _, sh := range list {
		l := &liveShare{download: sh.AllowDownload, meta: sh.ShowMetadata, exp: sh.ExpiresAt, photos: make(map[string]struct{}, len(sh.Photos))}
		for _, id := range sh.Photos {
			l.photos[id] = struct{}{}
		}
		m[sh.ID] = l
	}
	v.mu.Lock()
	v.shares = m
	v.mu.Unlock()
}

// share is the live link id, or nil.
func (v *visibility) share(id int64) *liveShare {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.shares[id]
}

// add notes that library f.Library holds photo f.Photo. Sets are never
// changed in place: they may be shared.
func (v *visibility) add(f storage.PhotoLibrary) {
	cur := v.photos[f.Photo]
	if _, ok := slices.BinarySearch(cur, f.Library); ok {
		return
	}
	if len(cur) == 0 {
		if one, ok := v.single[f.Library]; ok {
			v.photos[f.Photo] = one
			return
		}
	}
	next := make([]int32, 0, len(cur)+1)
	next = append(append(next, cur...), f.Library)
	slices.Sort(next)
	v.photos[f.Photo] = next
}

// clear forgets everything (no accounts: nobody's scope is limited).
func (v *visibility) clear() {
	v.mu.Lock()
	v.photos, v.users, v.roots, v.single, v.albums = nil, nil, nil, nil, nil
	v.mark = storage.VisibilityMark{} // shares stay: setShares keeps them
	v.mu.Unlock()
}

// epoch is the visibility epoch of the copy (0 before any load).
func (v *visibility) epoch() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.mark.Epoch
}

// scopeOf is what user sees; a user who sees no library (or one not
// known yet) sees nothing.
func (v *visibility) scopeOf(user int64) storage.Scope {
	v.mu.RLock()
	sc, ok := v.users[user]
	v.mu.RUnlock()
	if !ok {
		return storage.Only(nil).As(user)
	}
	return sc.As(user)
}

// sees says whether user may see photo id: no SQL.
func (v *visibility) sees(user int64, id string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if sc, ok := v.users[user]; ok {
		if !sc.Limited() {
			return true
		}
		mine := sc.Libraries()
		for _, l := range v.photos[id] {
			if _, ok := slices.BinarySearch(mine, l); ok {
				return true
			}
		}
	}
	_, ok := v.albums[user][id]
	return ok
}

// ownsPath says whether path lies in one of the libraries user sees.
func (v *visibility) ownsPath(user int64, path string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	sc, ok := v.users[user]
	if !ok {
		return false
	}
	for id, root := range v.roots {
		if _, mine := slices.BinarySearch(sc.Libraries(), id); (mine || !sc.Limited()) && strings.HasPrefix(path, root+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// scope is what r may see: every library without accounts; the libraries
// of the signed-in user (or the key's owner) with them; nothing otherwise.
func (s *Server) scope(r *http.Request) storage.Scope {
	if !s.accountsExist() {
		return storage.Scope{}
	}
	se, ok := currentSession(r)
	if !ok {
		return storage.Only(nil)
	}
	return s.vis.scopeOf(se.UserID)
}

// mediaID is the photo id of a media route's path.
func mediaID(p string) string {
	for _, prefix := range []string{"/thumbnail/", "/preview/", "/original/", "/video/"} {
		if id, ok := strings.CutPrefix(p, prefix); ok {
			return id
		}
	}
	return ""
}
