package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Media says where thumbnails, previews, transcodes and uploads live
// (SHOEBOX_MEDIA_URL), and how each process caches them.
type Media struct {
	// URL as given: "" (under the data folder), an absolute folder every
	// process shares, or s3://bucket/prefix.
	URL string
	// Dir is the shared folder of a folder URL; "" otherwise.
	Dir string
	// S3 is set for an s3:// URL.
	S3 *S3
	// CacheBytes bounds each process's local copies of remote media
	// (SHOEBOX_MEDIA_CACHE_BYTES). Default 2 GiB.
	CacheBytes int64
	// CacheTTL is how long a local copy is served before the store is
	// asked whether it changed (SHOEBOX_MEDIA_CACHE_TTL). Default 1m.
	CacheTTL time.Duration
	// UploadDir, when set (SHOEBOX_UPLOAD_DIR, absolute), is where uploads
	// live instead of the default (<data>/uploads, or <Dir>/uploads, or
	// for finished ones, with media on S3, the bucket's uploads/).
	UploadDir string
}

// S3 is an S3-compatible bucket and how to reach it.
type S3 struct {
	Bucket, Prefix string
	// Endpoint (SHOEBOX_S3_ENDPOINT, like http://127.0.0.1:8333); empty: AWS.
	Endpoint string
	// Region (SHOEBOX_S3_REGION). Default us-east-1.
	Region string
	// AccessKey and SecretKey: SHOEBOX_S3_ACCESS_KEY and
	// SHOEBOX_S3_SECRET_KEY, else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	AccessKey, SecretKey string
	// PathStyle (SHOEBOX_S3_PATH_STYLE): http://endpoint/bucket/key.
	// Default true when an endpoint is given, false for AWS.
	PathStyle bool
}

// parseMedia reads the SHOEBOX_MEDIA_* and SHOEBOX_S3_* settings.
func parseMedia(getenv func(string) string) (Media, error) {
	m := Media{URL: getenv("SHOEBOX_MEDIA_URL"), CacheTTL: time.Minute}
	var err error
	if m.CacheBytes, err = envBytes(getenv, "SHOEBOX_MEDIA_CACHE_BYTES", 2<<30); err != nil {
		return m, err
	}
	if m.CacheBytes < 1<<20 {
		return m, errors.New("config: SHOEBOX_MEDIA_CACHE_BYTES must be at least 1 MiB (1048576)")
	}
	if m.CacheTTL, err = envDur(getenv, "SHOEBOX_MEDIA_CACHE_TTL", m.CacheTTL); err != nil {
		return m, err
	}
	if m.CacheTTL <= 0 {
		return m, errors.New("config: SHOEBOX_MEDIA_CACHE_TTL must be positive")
	}
	if v := getenv("SHOEBOX_UPLOAD_DIR"); v != "" {
		if !filepath.IsAbs(v) {
			return m, fmt.Errorf("config: SHOEBOX_UPLOAD_DIR=%q must be an absolute folder", v)
		}
		m.UploadDir = filepath.Clean(v)
	}
	switch v := m.URL; {
	case v == "":
	case filepath.IsAbs(v):
		m.Dir = filepath.Clean(v)
	case strings.HasPrefix(v, "s3://"):
		u, err := url.Parse(v)
		if err != nil {
			return m, fmt.Errorf("config: SHOEBOX_MEDIA_URL=%q: %w", v, err)
		}
		if u.Host == "" {
			return m, fmt.Errorf("config: SHOEBOX_MEDIA_URL=%q names no bucket (want s3://bucket/prefix)", v)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return m, fmt.Errorf("config: SHOEBOX_MEDIA_URL=%q: want s3://bucket/prefix, credentials in SHOEBOX_S3_ACCESS_KEY and SHOEBOX_S3_SECRET_KEY", v)
		}
		s := &S3{
			Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"),
			Endpoint:  getenv("SHOEBOX_S3_ENDPOINT"),
			Region:    envOr(getenv, "SHOEBOX_S3_REGION", "us-east-1"),
			AccessKey: envOr(getenv, "SHOEBOX_S3_ACCESS_KEY", getenv("AWS_ACCESS_KEY_ID")),
			SecretKey: envOr(getenv, "SHOEBOX_S3_SECRET_KEY", getenv("AWS_SECRET_ACCESS_KEY")),
		}
		if s.Endpoint != "" {
			e, err := url.Parse(s.Endpoint)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return m, fmt.Errorf("config: SHOEBOX_S3_ENDPOINT=%q: want http(s)://host[:port]", s.Endpoint)
			}
		}
		if s.PathStyle, err = envBool(getenv, "SHOEBOX_S3_PATH_STYLE", s.Endpoint != ""); err != nil {
			return m, err
		}
		if s.AccessKey == "" || s.SecretKey == "" {
			return m, errors.New("config: SHOEBOX_MEDIA_URL is on S3 but no credentials are set: SHOEBOX_S3_ACCESS_KEY and SHOEBOX_S3_SECRET_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
		}
		m.S3 = s
	case strings.Contains(v, "://"):
		return m, fmt.Errorf("config: SHOEBOX_MEDIA_URL=%q: unknown scheme (want an absolute folder, or s3://bucket/prefix)", v)
	default:
		return m, fmt.Errorf("config: SHOEBOX_MEDIA_URL=%q is a relative path: give an absolute folder every process shares, or s3://bucket/prefix", v)
	}
	return m, nil
}

// ThumbDir is where thumbnails and previews live, named by photo id, for
// media in a folder: under the shared folder, or the data folder.
func (c *Config) ThumbDir() string {
	if c.Media.Dir != "" {
		return filepath.Join(c.Media.Dir, "media")
	}
	return filepath.Join(c.DataDir, "media")
}

// MediaCacheDir holds this process's copies of media kept on S3.
func (c *Config) MediaCacheDir() string { return filepath.Join(c.DataDir, "cache", "media") }

// UploadsOnS3 says whether finished uploads are kept as objects in the
// media bucket: media on S3 and no SHOEBOX_UPLOAD_DIR. tus's uploads in
// progress stay in UploadDir all the same.
func (c *Config) UploadsOnS3() bool { return c.Media.S3 != nil && c.Media.UploadDir == "" }

// UploadDir is where uploads live: tus's uploads in progress and, unless
// UploadsOnS3, each user's upload library. SHOEBOX_UPLOAD_DIR, else under
// a shared media folder, else <data>/uploads.
func (c *Config) UploadDir() string {
	switch {
	case c.Media.UploadDir != "":
		return c.Media.UploadDir
	case c.Media.Dir != "":
		return filepath.Join(c.Media.Dir, "uploads")
	}
	return filepath.Join(c.DataDir, "uploads")
}
