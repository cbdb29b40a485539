package jobs

import (
	"context"

	"shoebox/internal/place"
	"shoebox/internal/storage"
)

// placeBatch is how many photos one statement places.
const placeBatch = 500

// places is the places index, loaded on first use (once a process), or
// nil when it cannot be (then photos stay unplaced, to be placed by a
// later scan: their place_version is left behind).
func (r *Runner) places() *place.Index {
	ix, err := place.Default()
	if err != nil {
		r.placeWarn.Do(func() { r.log.Warn("places: index not loaded; photos are not placed", "err", err) })
		return nil
	}
	return ix
}

// placeOf names the place at a position read from a photo, and the
// version of the data that named it (0: not placed).
func (r *Runner) placeOf(lat, lon *float64) (*place.Place, int) {
	if lat == nil || lon == nil {
		return nil, place.Version // nothing to place: done
	}
	ix := r.places()
	if ix == nil {
		return nil, 0
	}
	if p, ok := ix.Lookup(*lat, *lon); ok {
		return &p, place.Version
	}
	return nil, place.Version
}

// placeLibrary places the located photos of a library that no version,
// or an older one, of the places data placed: photos indexed before
// places existed get theirs without their files being read again.
func (r *Runner) placeLibrary(ctx context.Context, libID int) (int, error) {
	n := 0
	for {
		todo, err := r.st.Unplaced(ctx, libID, place.Version, placeBatch)
		if err != nil || len(todo) == 0 {
			return n, err
		}
		ix := r.places() // loaded only when there is something to place
		if ix == nil {
			return n, nil
		}
		placed := make([]storage.Placed, len(todo))
		for i, l := range todo {
			placed[i].ID = l.ID
			if p, ok := ix.Lookup(l.Lat, l.Lon); ok {
				placed[i].Place = &p
			}
		}
		if err := r.st.SavePlaces(ctx, place.Version, placed); err != nil {
			return n, err
		}
		n += len(todo)
		if len(todo) < placeBatch {
			return n, nil
		}
	}
}
