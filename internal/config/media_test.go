package config

import (
	"strings"
	"testing"
	"time"
)

func TestMediaDefaultsUnderData(t *testing.T) {
	c, err := Parse("t", nil, env(map[string]string{"SHOEBOX_DATA": "/d"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Media.S3 != nil || c.ThumbDir() != "/d/media" || c.UploadDir() != "/d/uploads" ||
		c.Media.CacheBytes != 2<<30 || c.Media.CacheTTL != time.Minute {
		t.Fatalf("defaults: %+v thumbs %s uploads %s", c.Media, c.ThumbDir(), c.UploadDir())
	}
}

func TestMediaFolder(t *testing.T) {
	c, err := Parse("t", nil, env(map[string]string{"SHOEBOX_DATA": "/d", "SHOEBOX_MEDIA_URL": "/shared/sb/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ThumbDir() != "/shared/sb/media" || c.UploadDir() != "/shared/sb/uploads" || c.MediaCacheDir() != "/d/cache/media" {
		t.Fatalf("folder: thumbs %s uploads %s", c.ThumbDir(), c.UploadDir())
	}
}

func TestMediaS3(t *testing.T) {
	c, err := Parse("t", nil, env(map[string]string{"SHOEBOX_DATA": "/d", "SHOEBOX_MEDIA_URL": "s3://photos/shoebox/media",
		"SHOEBOX_S3_ENDPOINT": "http://127.0.0.1:8333", "AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk",
		"SHOEBOX_MEDIA_CACHE_BYTES": "104857600", "SHOEBOX_MEDIA_CACHE_TTL": "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Media.S3
	if s == nil || s.Bucket != "photos" || s.Prefix != "shoebox/media" || s.Region != "us-east-1" || !s.PathStyle ||
		s.AccessKey != "ak" || s.SecretKey != "sk" || c.Media.CacheBytes != 100<<20 || c.Media.CacheTTL != 30*time.Second {
		t.Fatalf("s3: %+v %+v", c.Media, s)
	}
	// Shoebox's own names win over AWS's; AWS itself: no path style.
	c, err = Parse("t", nil, env(map[string]string{"SHOEBOX_MEDIA_URL": "s3://b", "AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk",
		"SHOEBOX_S3_ACCESS_KEY": "mine", "SHOEBOX_S3_SECRET_KEY": "secret", "SHOEBOX_S3_REGION": "eu-west-1"}))
	if err != nil || c.Media.S3.AccessKey != "mine" || c.Media.S3.SecretKey != "secret" || c.Media.S3.PathStyle || c.Media.S3.Region != "eu-west-1" || c.Media.S3.Prefix != "" {
		t.Fatalf("s3 on AWS: %v %+v", err, c.Media.S3)
	}
}

func TestMediaInvalid(t *testing.T) {
	keys := map[string]string{"SHOEBOX_S3_ACCESS_KEY": "ak", "SHOEBOX_S3_SECRET_KEY": "sk"}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SHOEBOX_MEDIA_URL": "gs://bucket"}, "unknown scheme"},
		{map[string]string{"SHOEBOX_MEDIA_URL": "shared/media"}, "relative path"},
		{map[string]string{"SHOEBOX_MEDIA_URL": "s3:///prefix"}, "names no bucket"},
		{map[string]string{"SHOEBOX_MEDIA_URL": "s3://bucket"}, "no credentials"},
		{map[string]string{"SHOEBOX_MEDIA_URL": "s3://ak:sk@bucket"}, "want s3://bucket/prefix"},
		{map[string]string{"SHOEBOX_MEDIA_URL": "s3://bucket", "SHOEBOX_S3_ENDPOINT": "127.0.0.1:8333"}, "SHOEBOX_S3_ENDPOINT"},
		{map[string]string{"SHOEBOX_MEDIA_CACHE_BYTES": "1000"}, "at least 1 MiB"},
		{map[string]string{"SHOEBOX_MEDIA_CACHE_TTL": "0s"}, "must be positive"},
		{map[string]string{"SHOEBOX_UPLOAD_DIR": "up"}, "absolute"},
	} {
		e := map[string]string{}
		for k, v := range keys {
			e[k] = v
		}
		if tc.want == "no credentials" {
			e = map[string]string{}
		}
		for k, v := range tc.env {
			e[k] = v
		}
		_, err := Parse("t", nil, env(e))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.env, err, tc.want)
		}
	}
}
