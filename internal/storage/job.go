package storage

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Job is a unit of durable work.
type Job struct {
	ID       int64
	Kind     string
	Key      string
	Args     json.RawMessage
	Attempts int
	// Last says this attempt is the last: if it fails, the job fails for
	// good (what it left for a later attempt must be cleaned up now).
	Last bool
}

// EnqueueParams describe a job to add.
type EnqueueParams struct {
	Kind string
	Key  string // at most one live job per (Kind, Key)
	Args any    // marshalled to JSON; nil is {}
	// Priority orders the queue: lower runs first, 0 is the highest. The
	// jobs package's table of kinds says which kind gets which.
	Priority int
}

// Enqueue adds a job unless one with the same kind and key is live.
func (s *Storage) Enqueue(ctx context.Context, p EnqueueParams) error {
	return interpretError("enqueue "+p.Kind, s.db.Do(ctx, func(q database.Querier) error { return enqueue(ctx, q, p) }))
}

func enqueue(ctx context.Context, q database.Querier, p EnqueueParams) error {
	args := []byte("{}")
	if p.Args != nil {
		var err error
		if args, err = json.Marshal(p.Args); err != nil {
			return err
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO jobs (kind, key, args, priority) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) WHERE state IN ('pending', 'running') DO NOTHING`, p.Kind, p.Key, args, p.Priority)
	return err
}

// DeletePendingJobs drops the jobs of the given kinds and keys that have
// not started: work about rows that are gone.
func (s *Storage) DeletePendingJobs(ctx context.Context, kinds, keys []string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM jobs WHERE kind = ANY($1) AND key = ANY($2) AND state = 'pending'`, kinds, keys)
		return err
	})
	return interpretError("delete pending jobs", err)
}

// RegisterWorker records a live worker process; its heartbeat keeps its
// claimed jobs its own.
func (s *Storage) RegisterWorker(ctx context.Context, id string) error {
	host, _ := os.Hostname()
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO workers (id, hostname, pid) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`, id, host, os.Getpid())
		return err
	})
	return interpretError("register worker", err)
}

// Heartbeat renews a worker's claim on its jobs and forgets workers that
// have been silent for long.
func (s *Storage) Heartbeat(ctx context.Context, id string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE workers SET heartbeat_at = now() WHERE id = $1`, id)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM workers WHERE heartbeat_at < now() - interval '1 day'`)
		return err
	})
	return interpretError("heartbeat", err)
}

// ReleaseDeadWorkers puts back to pending the running jobs of workers whose
// heartbeat is older than stale (a process killed mid-job), never self's.
// It returns how many jobs were released.
func (s *Storage) ReleaseDeadWorkers(ctx context.Context, stale time.Duration, self string) (int64, error) {
	var n int64
	err := s.db.Do(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE jobs j SET state = 'pending', worker_id = NULL
			WHERE j.state = 'running' AND j.worker_id IS DISTINCT FROM $2 AND NOT EXISTS (
				SELECT 1 FROM workers w WHERE w.id = j.worker_id AND w.heartbeat_at > now() - make_interval(secs => $1))`,
			stale.Seconds(), self)
		n = tag.RowsAffected()
		return err
	})
	return n, interpretError("release dead workers", err)
}

// ForgetOtherWorkers drops every worker but self: used when this process
// owns the database alone (the embedded cluster, under the data-folder lock),
// so jobs of a killed predecessor are resumed at once.
func (s *Storage) ForgetOtherWorkers(ctx context.Context, self string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM workers WHERE id <> $1`, self)
		return err
	})
	return interpretError("forget workers", err)
}

// ClaimJobs takes up to n ready jobs of the given kinds for worker.
func (s *Storage) ClaimJobs(ctx context.Context, worker string, kinds []string, n int) ([]Job, error) {
	var jobs []Job
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `UPDATE jobs SET state = 'running', worker_id = $1, attempts = attempts + 1
			WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= now() AND kind = ANY($2)
				ORDER BY priority, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING id, kind, key, args, attempts, attempts >= max_attempts`, worker, kinds, n)
		if err != nil {
			return err
		}
		jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) {
			var j Job
			err := r.Scan(&j.ID, &j.Kind, &j.Key, &j.Args, &j.Attempts, &j.Last)
			return j, err
		})
		return err
	})
	return jobs, interpretError("claim jobs", err)
}

// CompleteJob marks a job done with an optional result.
func (s *Storage) CompleteJob(ctx context.Context, id int64, result any) error {
	var res []byte
	if result != nil {
		var err error
		if res, err = json.Marshal(result); err != nil {
			return err
		}
	}
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE jobs SET state = 'done', result = $2, last_error = NULL, finished_at = now()
			WHERE id = $1`, id, res)
		return err
	})
	return interpretError("complete job", err)
}

// ReleaseJob puts a running job back to pending, its attempt not counted:
// the worker stopped (shutdown) before it could finish.
func (s *Storage) ReleaseJob(ctx context.Context, id int64) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE jobs SET state = 'pending', worker_id = NULL, attempts = greatest(attempts - 1, 0)
			WHERE id = $1 AND state = 'running'`, id)
		return err
	})
	return interpretError("release job", err)
}

// RetryJob records a failed attempt: the job runs again after backoff, or
// is failed for good after its last attempt.
func (s *Storage) RetryJob(ctx context.Context, id int64, reason string, backoff time.Duration) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE jobs SET last_error = $2, worker_id = NULL,
				state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
				run_at = now() + make_interval(secs => $3),
				finished_at = CASE WHEN attempts >= max_attempts THEN now() END
			WHERE id = $1`, id, reason, backoff.Seconds())
		return err
	})
	return interpretError("retry job", err)
}

// JobCounts are the queue's live figures.
type JobCounts struct {
	Pending int `json:"pending"` // pending or running
	Failed  int `json:"failed"`  // jobs failed for good
}

// CountJobs counts live and failed jobs.
func (s *Storage) CountJobs(ctx context.Context) (JobCounts, error) {
	var c JobCounts
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state IN ('pending', 'running')),
			count(*) FILTER (WHERE state = 'failed') FROM jobs WHERE state <> 'done'`).Scan(&c.Pending, &c.Failed)
	})
	return c, interpretError("count jobs", err)
}

// QueueDepth is one job kind's share of the queue.
type QueueDepth struct {
	Kind    string
	Pending int // waiting to run, including retries after a backoff
	Running int
	Failed  int // failed for good
}

// QueueDepths counts jobs by kind and state, for /metrics: one row per kind
// that has live or failed jobs.
func (s *Storage) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	var out []QueueDepth
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT kind, count(*) FILTER (WHERE state = 'pending'),
				count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'failed')
			FROM jobs WHERE state <> 'done' GROUP BY kind ORDER BY kind`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueDepth, error) {
			var d QueueDepth
			err := r.Scan(&d.Kind, &d.Pending, &d.Running, &d.Failed)
			return d, err
		})
		return err
	})
	return out, interpretError("queue depths", err)
}

// PruneJobs deletes done jobs older than age, keeping the table small.
func (s *Storage) PruneJobs(ctx context.Context, age time.Duration) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM jobs WHERE state = 'done' AND finished_at < now() - make_interval(secs => $1)`, age.Seconds())
		return err
	})
	return interpretError("prune jobs", err)
}
