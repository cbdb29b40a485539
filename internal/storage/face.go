package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Faces and people (migration 021). Faces are grouped into people as they
// are saved, in the same transaction, like Immich's clustering: a new face
// joins the person of its nearest assigned face within FaceDistance; a face
// with no such neighbour but at least FaceMinGroup-1 unassigned ones
// within FaceDistance founds a new person with them; otherwise it waits,
// unassigned, for faces that arrive later. Clustering runs among one
// owner's faces at a time (an advisory lock per owner), so two photos
// saved at once never found two people for one group.

// FaceDistance is the Euclidean distance within which two face
// descriptors are taken for the same person (face-api's are typically
// within 0.6 for one person).
const FaceDistance = 0.5

// FaceMinGroup is how many faces close together found a person.
const FaceMinGroup = 3

// faceNeighbours bounds the neighbours looked at when founding a person.
const faceNeighbours = 200

// Face is a face found on a photo.
type Face struct {
	ID int64
	// Box is x, y, width, height as fractions of the upright image.
	Box       [4]float32
	Score     float32
	Embedding []float32 // 128 numbers (saving only)
	Person    *int64    // nil: no person (yet)
	Name      string    // the person's name ("" unnamed; listing only)
	Hidden    bool      // the person is hidden (listing only)
}

// Person is someone whose faces were grouped, as one user sees them.
type Person struct {
	ID     int64
	Name   string
	Hidden bool
	Faces  int        // faces on the photos the asker sees
	Cover  string     // the photo of the cover face
	Box    [4]float32 // the cover face's box on it
	Owned  bool       // the asker owns the person (may rename, merge, split, hide)
}

// SaveFaces replaces a photo's faces with faces, and groups the new ones
// into people. People left with no face and no name go.
func (s *Storage) SaveFaces(ctx context.Context, photoID string, faces []Face) error {
	for _, f := range faces {
		if len(f.Embedding) != 128 {
			return fmt.Errorf("save faces: embedding of %d numbers, not 128", len(f.Embedding))
		}
	}
	err := s.db.Tx(ctx, func(q database.Querier) error {
		var owner int64
		err := q.QueryRow(ctx, `SELECT coalesce((SELECT coalesce(l.owner_id, (SELECT min(id) FROM users WHERE admin), 0)
				FROM files f JOIN libraries l ON l.id = f.library_id WHERE f.photo_id = $1 ORDER BY l.id LIMIT 1), 0)`, photoID).Scan(&owner)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(21, $1::int)`, owner); err != nil {
			return err
		}
		// Faces and people of before any account are the first admin's:
		// adopted on the admin's next save, so they cluster together.
		if owner != 0 {
			if _, err := q.Exec(ctx, `WITH a AS (SELECT min(id) AS id FROM users WHERE admin),
					p AS (UPDATE people SET owner_id = $1 WHERE owner_id = 0 AND $1 = (SELECT id FROM a))
				UPDATE faces SET owner_id = $1 WHERE owner_id = 0 AND $1 = (SELECT id FROM a)`, owner); err != nil {
				return err
			}
		}
		// The photo's faces found before, with their people: a face found
		// again (its box over the old one's) keeps its person, so what the
		// owner decided (a split, a merge) survives the photo being looked
		// at again.
		type kept struct {
			box    [4]float32
			person int64
			used   bool
		}
		rows, err := q.Query(ctx, `DELETE FROM faces WHERE photo_id = $1 AND person_id IS NOT NULL RETURNING x, y, w, h, person_id`, photoID)
		if err != nil {
			return err
		}
		olds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*kept, error) {
			k := &kept{}
			return k, r.Scan(&k.box[0], &k.box[1], &k.box[2], &k.box[3], &k.person)
		})
		if err != nil {
			return err
		}
		old := make([]int64, len(olds))
		for i, k := range olds {
			old[i] = k.person
		}
		if _, err := q.Exec(ctx, `DELETE FROM faces WHERE photo_id = $1`, photoID); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `SET LOCAL hnsw.iterative_scan = relaxed_order`); err != nil {
			return err
		}
		for _, f := range faces {
			var id int64
			err := q.QueryRow(ctx, `INSERT INTO faces (photo_id, owner_id, x, y, w, h, score, embedding)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8::vector) RETURNING id`,
				photoID, owner, f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score, vectorLiteral(f.Embedding)).Scan(&id)
			if err != nil {
				return err
			}
			var same *kept
			for _, k := range olds {
				if !k.used && iou(k.box, f.Box) >= 0.5 && (same == nil || iou(k.box, f.Box) > iou(same.box, f.Box)) {
					same = k
				}
			}
			if same != nil {
				same.used = true
				tag, err := q.Exec(ctx, `UPDATE faces SET person_id = $2 WHERE id = $1
					AND EXISTS (SELECT 1 FROM people WHERE id = $2 AND owner_id = $3)`, id, same.person, owner)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 1 {
					continue
				}
			}
			if err := clusterFace(ctx, q, owner, id, vectorLiteral(f.Embedding)); err != nil {
				return err
			}
		}
		// People left without a face, and without a name, go.
		if _, err := q.Exec(ctx, `DELETE FROM people pe WHERE pe.id = ANY($1) AND pe.name = ''
				AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = pe.id)`, old); err != nil {
			return err
		}
		return nil
	})
	return interpretError("save faces", err)
}

// clusterFace places face id (of owner, descriptor vec) among people.
func clusterFace(ctx context.Context, q database.Querier, owner, id int64, vec string) error {
	var person int64
	var d float64
	err := q.QueryRow(ctx, `SELECT person_id, embedding <-> $1::vector FROM faces
		WHERE owner_id = $2 AND person_id IS NOT NULL AND id <> $3
		ORDER BY embedding <-> $1::vector LIMIT 1`, vec, owner, id).Scan(&person, &d)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err == nil && d <= FaceDistance {
		_, err := q.Exec(ctx, `UPDATE faces SET person_id = $2 WHERE id = $1`, id, person)
		return err
	}
	rows, err := q.Query(ctx, `SELECT id FROM (SELECT id, person_id, embedding <-> $1::vector AS d FROM faces
			WHERE owner_id = $2 AND id <> $3 ORDER BY embedding <-> $1::vector LIMIT `+strconv.Itoa(faceNeighbours)+`) n
		WHERE d <= $4 AND person_id IS NULL`, vec, owner, id, FaceDistance)
	if err != nil {
		return err
	}
	near, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(near)+1 < FaceMinGroup {
		return err
	}
	if err := q.QueryRow(ctx, `INSERT INTO people (owner_id, cover_face) VALUES ($1, $2) RETURNING id`, owner, id).Scan(&person); err != nil {
		return err
	}
	_, err = q.Exec(ctx, `UPDATE faces SET person_id = $2 WHERE id = ANY($1) OR id = $3`, near, person, id)
	return err
}

// PhotoFaces lists a photo's faces, largest first (whether the asker sees
// the photo is checked before).
func (s *Storage) PhotoFaces(ctx context.Context, photoID string) ([]Face, error) {
	var out []Face
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT f.id, f.x, f.y, f.w, f.h, f.score, f.person_id, coalesce(pe.name, ''), coalesce(pe.hidden, false)
			FROM faces f LEFT JOIN people pe ON pe.id = f.person_id WHERE f.photo_id = $1 ORDER BY f.w * f.h DESC, f.id`, photoID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Face, error) {
			var f Face
			err := r.Scan(&f.ID, &f.Box[0], &f.Box[1], &f.Box[2], &f.Box[3], &f.Score, &f.Person, &f.Name, &f.Hidden)
			return f, err
		})
		return err
	})
	return out, interpretError("photo faces", err)
}

// personOwnerSQL is the condition that the person aliased pe is user's (a
// placeholder): people made before any account belong to the first admin.
func personOwnerSQL(user string) string {
	return "(pe.owner_id = " + user + " OR (pe.owner_id = 0 AND " + user + " = coalesce((SELECT min(id) FROM users WHERE admin), 0)))"
}

// OwnedPeople are those of ids that are user's: the people whose faces
// user may take out of them (the photo page's "not NAME").
func (s *Storage) OwnedPeople(ctx context.Context, user int64, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT pe.id FROM people pe WHERE pe.id = ANY($1) AND `+personOwnerSQL("$2"), ids, user)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		for _, id := range got {
			out[id] = true
		}
		return err
	})
	return out, interpretError("owned people", err)
}

// PeopleParams select the people one user sees.
type PeopleParams struct {
	Scope  Scope
	Hidden bool  // list the hidden people too
	ID     int64 // not 0: that person only
}

// ListPeople lists the people with faces on photos scope sees, with how
// many: named people first, then by faces. Hidden people are left out
// unless asked for.
func (s *Storage) ListPeople(ctx context.Context, p PeopleParams) ([]Person, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	user := arg(p.Scope.User())
	where := []string{"p.state = 'ready'"}
	if v := p.Scope.visibleSQL(arg); v != "" {
		where = append(where, v)
	}
	if !p.Hidden {
		where = append(where, "NOT pe.hidden")
	}
	if p.ID != 0 {
		where = append(where, "pe.id = "+arg(p.ID))
	}
	var out []Person
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `WITH v AS (SELECT f.id, f.person_id, f.photo_id, f.x, f.y, f.w, f.h
				FROM faces f JOIN people pe ON pe.id = f.person_id JOIN photos p ON p.id = f.photo_id
				WHERE `+strings.Join(where, " AND ")+`)
			SELECT pe.id, pe.name, pe.hidden, c.n::int, cv.photo_id, cv.x, cv.y, cv.w, cv.h, `+personOwnerSQL(user)+`
			FROM (SELECT person_id, count(*) AS n FROM v GROUP BY person_id) c
			JOIN people pe ON pe.id = c.person_id
			CROSS JOIN LATERAL (SELECT * FROM v WHERE v.person_id = pe.id
				ORDER BY v.id = pe.cover_face IS TRUE DESC, v.w * v.h DESC, v.id LIMIT 1) cv
			ORDER BY pe.name = '', lower(pe.name), c.n DESC, pe.id`, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Person, error) {
			var pe Person
			err := r.Scan(&pe.ID, &pe.Name, &pe.Hidden, &pe.Faces, &pe.Cover, &pe.Box[0], &pe.Box[1], &pe.Box[2], &pe.Box[3], &pe.Owned)
			return pe, err
		})
		return err
	})
	return out, interpretError("list people", err)
}

// PersonChange is what UpdatePerson changes (nil: unchanged).
type PersonChange struct {
	Name   *string
	Hidden *bool
}

// UpdatePerson names or hides a person of user's; another's is not found.
func (s *Storage) UpdatePerson(ctx context.Context, user, id int64, c PersonChange) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE people pe SET name = coalesce($3, name), hidden = coalesce($4, hidden)
			WHERE pe.id = $1 AND `+personOwnerSQL("$2"), id, user, c.Name, c.Hidden)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("person %d: %w", id, ErrNotFound)
		}
		return err
	})
	return interpretError("update person", err)
}

// MergePeople moves the faces of people from into person into, and
// removes them; all must be user's (else not found).
func (s *Storage) MergePeople(ctx context.Context, user, into int64, from []int64) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		var n int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM people pe WHERE (pe.id = ANY($1) OR pe.id = $3) AND `+personOwnerSQL("$2"),
			from, user, into).Scan(&n); err != nil {
			return err
		}
		if n != len(from)+1 {
			return fmt.Errorf("person: %w", ErrNotFound)
		}
		if _, err := q.Exec(ctx, `UPDATE faces SET person_id = $2 WHERE person_id = ANY($1)`, from, into); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM people WHERE id = ANY($1)`, from)
		return err
	})
	return interpretError("merge people", err)
}

// SplitPerson moves faces of user's person id to a new person, whose id it
// returns; a face not of that person is not found.
func (s *Storage) SplitPerson(ctx context.Context, user, id int64, faces []int64) (int64, error) {
	if len(faces) == 0 {
		return 0, errors.New("split person: no faces")
	}
	var out int64
	err := s.db.Tx(ctx, func(q database.Querier) error {
		var owner int64
		if err := q.QueryRow(ctx, `SELECT pe.owner_id FROM people pe WHERE pe.id = $1 AND `+personOwnerSQL("$2")+` FOR UPDATE`, id, user).Scan(&owner); err != nil {
			return err
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM faces WHERE id = ANY($1) AND person_id = $2`, faces, id).Scan(&n); err != nil {
			return err
		}
		if n != len(faces) {
			return fmt.Errorf("face: %w", ErrNotFound)
		}
		if err := q.QueryRow(ctx, `INSERT INTO people (owner_id, cover_face) VALUES ($1, $2) RETURNING id`, owner, faces[0]).Scan(&out); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `UPDATE faces SET person_id = $2 WHERE id = ANY($1)`, faces, out)
		return err
	})
	return out, interpretError("split person", err)
}

// personMatchSQL is the condition that a face on the photo aliased p is of
// a person named name (any case; "_" for spaces: search person:NAME).
func personMatchSQL(name string, arg func(any) string) string {
	return "EXISTS (SELECT 1 FROM faces pf JOIN people pp ON pp.id = pf.person_id WHERE pf.photo_id = p.id AND lower(pp.name) = " +
		arg(strings.ToLower(strings.ReplaceAll(name, "_", " "))) + ")"
}

// SavePhotoFaces saves a photo's faces as SaveFaces does (none: the photo
// has none) and marks the photo looked at by version of the face pipeline,
// in one transaction: a photo with no faces is done too, never looked at
// again by that version. A photo removed since has nothing saved.
func (s *Storage) SavePhotoFaces(ctx context.Context, photoID string, version int, faces []Face) error {
	return s.Tx(ctx, func(tx *Storage) error {
		var n int64
		err := tx.db.Do(ctx, func(q database.Querier) error {
			tag, err := q.Exec(ctx, `UPDATE photos SET faces_version = $2 WHERE id = $1`, photoID, version)
			n = tag.RowsAffected()
			return err
		})
		if err != nil || n == 0 {
			return interpretError("save photo faces", err)
		}
		return tx.SaveFaces(ctx, photoID, faces)
	})
}

// MissingFaces lists the indexed photos not yet looked at by version of
// the face pipeline (photos indexed before it, or by an older one).
func (s *Storage) MissingFaces(ctx context.Context, version int) ([]string, error) {
	var ids []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT id FROM photos WHERE state = 'ready' AND faces_version < $1 ORDER BY id`, version)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids, interpretError("missing faces", err)
}

// iou is how much boxes a and b (x, y, w, h) overlap: their intersection
// over their union, 0 to 1.
func iou(a, b [4]float32) float32 {
	w := min(a[0]+a[2], b[0]+b[2]) - max(a[0], b[0])
	h := min(a[1]+a[3], b[1]+b[3]) - max(a[1], b[1])
	if w <= 0 || h <= 0 {
		return 0
	}
	in := w * h
	return in / (a[2]*a[3] + b[2]*b[3] - in)
}
