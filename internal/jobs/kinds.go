package jobs

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"shoebox/internal/storage"
)

// Job kinds.
const (
	KindRescan     = "rescan"     // queue a scan of every library (the periodic job)
	KindScan       = "scan"       // walk a library (key: its root)
	KindProcess    = "process"    // decode a photo, thumbnails, metadata (key: photo id)
	KindEmbed      = "embed"      // CLIP vector and tags (key: photo id)
	KindDuplicates = "duplicates" // regroup near-duplicates (key: model name)
	KindTranscode  = "transcode"  // convert a video for browsers (key: photo id), in its own queue
	KindFaces      = "faces"      // find faces and group them into people (key: photo id)
)

// Kinds are every job kind, so figures by kind show a drained queue as 0.
var Kinds = []string{KindRescan, KindScan, KindProcess, KindEmbed, KindDuplicates, KindTranscode, KindFaces}

// priority is the queue's order, in one place: River's priorities, 1 runs
// first (4 is the lowest). A scan finds the work, so it goes before the
// photos it queues; a photo is shown once processed, so processing goes
// before embedding; duplicates are regrouped once the embeddings are in.
// Conversions have a queue of their own, so their priority orders only
// them.
var priority = map[string]int{
	KindRescan:     1,
	KindScan:       1,
	KindProcess:    2,
	KindEmbed:      3,
	KindDuplicates: 4,
	KindTranscode:  1,
	KindFaces:      3,
}

// queueTranscode is the conversions' own queue (TranscodeWorkers slots).
const queueTranscode = "transcode"

// maxAttempts is how many times a job runs before it fails for good.
const maxAttempts = 5

// embedBatch is how many photos one embed job embeds at once (its own and
// up to embedBatch-1 others whose jobs are waiting).
const embedBatch = 16

// insertOpts are a kind's: its priority and queue, and at most one live
// job per kind and key (the args fields tagged river:"unique").
func insertOpts(kind string) river.InsertOpts {
	p, ok := priority[kind]
	if !ok {
		panic("jobs: unknown kind " + kind)
	}
	q := river.QueueDefault
	if kind == KindTranscode {
		q = queueTranscode
	}
	return river.InsertOpts{
		Priority:    p,
		Queue:       q,
		MaxAttempts: maxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}},
	}
}

// ScanArgs scan library Root.
type ScanArgs struct {
	Root string `json:"root" river:"unique"`
}

func (ScanArgs) Kind() string                 { return KindScan }
func (ScanArgs) InsertOpts() river.InsertOpts { return insertOpts(KindScan) }

// ProcessArgs index photo ID.
type ProcessArgs struct {
	ID string `json:"id" river:"unique"`
}

func (ProcessArgs) Kind() string                 { return KindProcess }
func (ProcessArgs) InsertOpts() river.InsertOpts { return insertOpts(KindProcess) }

// EmbedArgs embed photo ID (and a batch of others along with it).
type EmbedArgs struct {
	ID string `json:"id" river:"unique"`
}

func (EmbedArgs) Kind() string                 { return KindEmbed }
func (EmbedArgs) InsertOpts() river.InsertOpts { return insertOpts(KindEmbed) }

// FacesArgs find the faces on photo ID.
type FacesArgs struct {
	ID string `json:"id" river:"unique"`
}

func (FacesArgs) Kind() string                 { return KindFaces }
func (FacesArgs) InsertOpts() river.InsertOpts { return insertOpts(KindFaces) }

// DuplicatesArgs regroup the near-duplicates of Model's embeddings.
type DuplicatesArgs struct {
	Model string `json:"model" river:"unique"`
}

func (DuplicatesArgs) Kind() string                 { return KindDuplicates }
func (DuplicatesArgs) InsertOpts() river.InsertOpts { return insertOpts(KindDuplicates) }

// TranscodeArgs convert video ID; its duration (known from indexing) sets
// the conversion's time limit, so the job needs no query.
type TranscodeArgs struct {
	ID       string  `json:"id" river:"unique"`
	Duration float64 `json:"duration"`
}

func (TranscodeArgs) Kind() string                 { return KindTranscode }
func (TranscodeArgs) InsertOpts() river.InsertOpts { return insertOpts(KindTranscode) }

// RescanArgs queue a scan of every library: one live at a time.
type RescanArgs struct{}

func (RescanArgs) Kind() string                 { return KindRescan }
func (RescanArgs) InsertOpts() river.InsertOpts { return insertOpts(KindRescan) }

// ScanJob is the job that scans library root: a command that adds a
// library queues it, and whichever worker runs the queue scans it.
func ScanJob(root string) river.JobArgs { return ScanArgs{Root: root} }

// ProcessJob is the job that indexes photo id (an upload saves its file
// and this job in one transaction).
func ProcessJob(id string) river.JobArgs { return ProcessArgs{ID: id} }

// EmbedJob is the job that embeds photo id.
func EmbedJob(id string) river.JobArgs { return EmbedArgs{ID: id} }

// FacesJob is the job that finds the faces on photo id.
func FacesJob(id string) river.JobArgs { return FacesArgs{ID: id} }

// TranscodeJob is the job that converts video id for browsers.
func TranscodeJob(id string, duration float64) river.JobArgs {
	return TranscodeArgs{ID: id, Duration: duration}
}

// RescanJob is the job that queues a scan of every library (a web process
// that finds an original changed since indexed asks for one).
func RescanJob() river.JobArgs { return RescanArgs{} }

// riverDriver is River's pgx driver over pool.
func riverDriver(pool *pgxpool.Pool) *riverpgxv5.Driver { return riverpgxv5.New(pool) }

// legacyArgs maps a job of the queue before River to its River args.
func legacyArgs(j storage.LegacyJob) (river.JobArgs, error) {
	switch j.Kind {
	case KindScan:
		return ScanArgs{Root: j.Key}, nil
	case KindProcess:
		return ProcessArgs{ID: j.Key}, nil
	case KindEmbed:
		return EmbedArgs{ID: j.Key}, nil
	case KindDuplicates:
		return DuplicatesArgs{Model: j.Key}, nil
	case KindFaces:
		return FacesArgs{ID: j.Key}, nil
	case KindTranscode:
		var a TranscodeArgs
		if len(j.Args) > 0 {
			if err := json.Unmarshal(j.Args, &a); err != nil {
				return nil, err
			}
		}
		a.ID = j.Key
		return a, nil
	}
	return nil, fmt.Errorf("unknown kind %q", j.Kind)
}
