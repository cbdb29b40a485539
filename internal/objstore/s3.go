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

// Info is what is known of an object without reading it.
type Info struct {
	Size int64
	// ETag is the store's version of the object's content: a rewrite
	// changes it, which is how caches learn of one (see Cache).
	ETag string
}

// Bucket is where objects are kept: what the cache reads through and the
// jobs write to.
type Bucket interface {
	// Put stores r (size bytes; -1: unknown) under key and says the
	// version stored.
	Put(ctx context.Context, key string, r io.Reader, size int64) (Info, error)
	// Get opens an object; ErrNotFound when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat asks for an object's size and version; ErrNotFound when there is none.
	Stat(ctx context.Context, key string) (Info, error)
	// Remove deletes an object; removing none is no error.
	Remove(ctx context.Context, key string) error
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
	return Info{Size: u.Size, ETag: u.ETag}, nil
}

// Get opens the object under key: one GET (the answer's headers carry
// its size and version).
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	r, st, _, err := minio.Core{Client: s.c}.GetObject(ctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.fail("get", key, err)
	}
	return r, Info{Size: st.Size, ETag: st.ETag}, nil
}

// Stat asks for the size and version of the object under key (HEAD).
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	st, err := s.c.StatObject(ctx, s.bucket, s.name(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail("stat", key, err)
	}
	return Info{Size: st.Size, ETag: st.ETag}, nil
}

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
