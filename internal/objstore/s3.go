// Package objstore keeps Shoebox's media (thumbnails, previews,
// transcodes, notes of originals) as objects on S3-compatible storage, and
// serves them to each process from a bounded local read-through cache
// (cache.go), so that serving a thumbnail asks neither the database nor,
// most of the time, the object store.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrNotFound says there is no object under a key.
var ErrNotFound = errors.New("objstore: not found")

// ErrExists says there is an object under the key Create was given.
var ErrExists = errors.New("objstore: exists")

// ErrChanged says the object under a key is no longer the version asked
// for (Open with an ETag): it was rewritten since.
var ErrChanged = errors.New("objstore: object changed")

// Info is what is known of an object without reading it.
type Info struct {
	Size int64
	// ETag is the store's version of the object's content: a rewrite
	// changes it, which is how caches learn of one (see Cache).
	ETag string
	// Modified is when the object was written, to the second (what a
	// listing and a HEAD agree on).
	Modified time.Time
}

// Object is one object found by List.
type Object struct {
	Key string // relative to the bucket's prefix, like the keys of Put
	Info
}

// Bucket is where objects are kept: what the cache reads through and the
// jobs write to.
type Bucket interface {
	// Put stores r (size bytes; -1: unknown) under key and says the
	// version stored.
	Put(ctx context.Context, key string, r io.Reader, size int64) (Info, error)
	// Create is Put only where there is no object under key yet
	// (ErrExists otherwise): never over another, even when two race.
	Create(ctx context.Context, key string, r io.Reader, size int64) (Info, error)
	// Get opens an object; ErrNotFound when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat asks for an object's size and version; ErrNotFound when there is none.
	Stat(ctx context.Context, key string) (Info, error)
	// Remove deletes an object; removing none is no error.
	Remove(ctx context.Context, key string) error
	// Open opens an object for reading anywhere in it (each read or seek
	// past the buffer is a ranged GET, so nothing is copied first: what a
	// player seeking in a video needs). With etag set it opens only that
	// version, and fails with ErrChanged otherwise, mid-way included.
	// ErrNotFound when there is none. The reader lives as long as ctx.
	Open(ctx context.Context, key, etag string) (io.ReadSeekCloser, Info, error)
	// List calls fn for every object whose key starts with prefix, in key
	// order.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// URL is the s3://bucket/prefix/key address of key: how a key is
	// named where every process must read it the same (a library's root).
	URL(key string) string
}

// S3Options say where a bucket is and how to sign in to it.
type S3Options struct {
	// Bucket and Prefix (no leading or trailing slash; may be empty):
	// objects are named Prefix/key.
	Bucket, Prefix string
	// Endpoint is the server's URL (http://127.0.0.1:8333); empty: AWS.
	Endpoint string
	// Region. Default us-east-1.
	Region string
	// AccessKey and SecretKey sign every request.
	AccessKey, SecretKey string
	// PathStyle asks for http://endpoint/bucket/key rather than
	// http://bucket.endpoint/key (the usual for a self-hosted server).
	PathStyle bool
	// Transport carries the requests; nil: http.DefaultTransport's settings.
	Transport http.RoundTripper
}

// S3 is a bucket on S3-compatible storage (AWS, SeaweedFS, MinIO, Garage...).
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
	where  string
}

// OpenS3 makes a client for o and checks that the bucket is there and that
// the credentials are accepted, so a wrong setting fails at start, not at
// the first thumbnail.
func OpenS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("objstore: no bucket given")
	}
	host, secure := "s3.amazonaws.com", true
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("objstore: endpoint %q: want http(s)://host[:port]", o.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	region := o.Region
	if region == "" {
		region = "us-east-1"
	}
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: secure, Region: region, BucketLookup: lookup, Transport: o.Transport,
		// A store out of reach answers soon: a request waiting on it is a
		// page waiting for a thumbnail (the library's default is 10 tries).
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	s := &S3{c: c, bucket: o.Bucket, prefix: strings.Trim(o.Prefix, "/"), where: "s3://" + path.Join(o.Bucket, o.Prefix) + " at " + host}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("objstore: %s: %w", s.where, explain(err))
	}
	if !ok {
		return nil, fmt.Errorf("objstore: %s: no such bucket (create it first)", s.where)
	}
	return s, nil
}

// explain turns the S3 errors people meet at set-up into plain words.
func explain(err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied":
		return fmt.Errorf("credentials refused (SHOEBOX_S3_ACCESS_KEY/SHOEBOX_S3_SECRET_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY): %w", err)
	}
	return err
}

func (s *S3) String() string { return s.where }

func (s *S3) name(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// Put stores r (size bytes; -1: unknown) under key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (Info, error) {
	u, err := s.c.PutObject(ctx, s.bucket, s.name(key), r, size, minio.PutObjectOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("objstore: put %s: %w", key, explain(err))
	}
	return Info{Size: u.Size, ETag: u.ETag, Modified: second(u.LastModified)}, nil
}

func second(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// Create stores r under key if no object is there (If-None-Match: *).
func (s *S3) Create(ctx context.Context, key string, r io.Reader, size int64) (Info, error) {
	var o minio.PutObjectOptions
	o.SetMatchETagExcept("*")
	u, err := s.c.PutObject(ctx, s.bucket, s.name(key), r, size, o)
	if err != nil {
		if e := minio.ToErrorResponse(err); e.Code == "PreconditionFailed" || e.StatusCode == http.StatusPreconditionFailed {
			return Info{}, ErrExists
		}
		return Info{}, fmt.Errorf("objstore: create %s: %w", key, explain(err))
	}
	return Info{Size: u.Size, ETag: u.ETag, Modified: second(u.LastModified)}, nil
}

// Get opens the object under key: one GET (the answer's headers carry
// its size and version).
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	r, st, _, err := minio.Core{Client: s.c}.GetObject(ctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.fail("get", key, err)
	}
	return r, Info{Size: st.Size, ETag: st.ETag, Modified: second(st.LastModified)}, nil
}

// Stat asks for the size and version of the object under key (HEAD).
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	st, err := s.c.StatObject(ctx, s.bucket, s.name(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail("stat", key, err)
	}
	return Info{Size: st.Size, ETag: st.ETag, Modified: second(st.LastModified)}, nil
}

// Open opens the object under key (version etag when set) for ranged reads.
func (s *S3) Open(ctx context.Context, key, etag string) (io.ReadSeekCloser, Info, error) {
	var o minio.GetObjectOptions
	if etag != "" {
		if err := o.SetMatchETag(etag); err != nil {
			return nil, Info{}, fmt.Errorf("objstore: open %s: %w", key, err)
		}
	}
	obj, err := s.c.GetObject(ctx, s.bucket, s.name(key), o)
	if err != nil {
		return nil, Info{}, s.fail("open", key, err)
	}
	st, err := obj.Stat() // the first GET: whether it is there, and which
	if err != nil {
		obj.Close()
		return nil, Info{}, s.fail("open", key, err)
	}
	if etag != "" && strings.Trim(st.ETag, `"`) != strings.Trim(etag, `"`) {
		obj.Close()
		return nil, Info{}, ErrChanged
	}
	return changed{obj}, Info{Size: st.Size, ETag: st.ETag, Modified: second(st.LastModified)}, nil
}

// changed reads an object opened for one version, turning the store's
// "precondition failed" (rewritten mid-way) into ErrChanged.
type changed struct{ *minio.Object }

func (c changed) Read(b []byte) (int, error) {
	n, err := c.Object.Read(b)
	return n, precondition(err)
}

func (c changed) Seek(off int64, whence int) (int64, error) {
	n, err := c.Object.Seek(off, whence)
	return n, precondition(err)
}

func precondition(err error) error {
	if err != nil && minio.ToErrorResponse(err).Code == "PreconditionFailed" {
		return ErrChanged
	}
	return err
}

// List calls fn for every object under prefix, in key order.
func (s *S3) List(ctx context.Context, prefix string, fn func(Object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn ends it early
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.name(prefix), Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("objstore: list %s: %w", prefix, explain(o.Err))
		}
		key := o.Key
		if s.prefix != "" {
			key = strings.TrimPrefix(key, s.prefix+"/")
		}
		if err := fn(Object{Key: key, Info: Info{Size: o.Size, ETag: o.ETag, Modified: second(o.LastModified)}}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// URL is s3://bucket/prefix/key.
func (s *S3) URL(key string) string { return "s3://" + path.Join(s.bucket, s.name(key)) }

// Remove deletes the object under key.
func (s *S3) Remove(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, s.name(key), minio.RemoveObjectOptions{}); err != nil {
		return s.fail("remove", key, err)
	}
	return nil
}

func (s *S3) fail(op, key string, err error) error {
	if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusNotFound || r.Code == minio.NoSuchKey {
		return ErrNotFound
	} else if r.Code == "PreconditionFailed" || r.StatusCode == http.StatusPreconditionFailed {
		return ErrChanged
	}
	return fmt.Errorf("objstore: %s %s: %w", op, key, explain(err))
}

// Check writes, reads back and removes a small object: whether the store
// is reachable and writable with these credentials (shoebox doctor).
func (s *S3) Check(ctx context.Context) error {
	key := fmt.Sprintf(".doctor-%d", time.Now().UnixNano())
	body := "shoebox doctor"
	if _, err := s.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
		return err
	}
	defer s.Remove(context.WithoutCancel(ctx), key)
	r, _, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("objstore: read back: %w", err)
	}
	if string(b) != body {
		return errors.New("objstore: read back something else than was written")
	}
	return nil
}
