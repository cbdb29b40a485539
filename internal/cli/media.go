package cli

import (
	"context"
	"fmt"
	"os"

	"shoebox/internal/config"
	"shoebox/internal/objstore"
	"shoebox/internal/thumbs"
)

// openMedia opens where thumbnails, previews and transcodes live
// (SHOEBOX_MEDIA_URL): a folder (the data folder's, or a shared one), or
// an S3 bucket read through a cache in cacheDir. A bucket that cannot be
// reached, or refuses the credentials, is an error now rather than at the
// first thumbnail.
func openMedia(ctx context.Context, cfg *config.Config, cacheDir string) (thumbs.Store, error) {
	s3 := cfg.Media.S3
	if s3 == nil {
		if d := cfg.Media.Dir; d != "" {
			// Never made here: a shared folder not mounted would otherwise
			// become a private one on this machine's disk.
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				return thumbs.Store{}, fmt.Errorf("media folder SHOEBOX_MEDIA_URL=%s: not a folder here (is the shared folder mounted?)", d)
			}
		}
		if err := os.MkdirAll(cfg.ThumbDir(), 0o700); err != nil {
			return thumbs.Store{}, fmt.Errorf("media folder: %w", err)
		}
		return thumbs.Store{Dir: cfg.ThumbDir()}, nil
	}
	b, err := objstore.OpenS3(ctx, objstore.S3Options{
		Bucket: s3.Bucket, Prefix: s3.Prefix, Endpoint: s3.Endpoint, Region: s3.Region,
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, PathStyle: s3.PathStyle,
	})
	if err != nil {
		return thumbs.Store{}, fmt.Errorf("media store (SHOEBOX_MEDIA_URL=%s): %w", cfg.Media.URL, err)
	}
	c, err := objstore.NewCache(b, objstore.CacheOptions{Dir: cacheDir, MaxBytes: cfg.Media.CacheBytes, TTL: cfg.Media.CacheTTL})
	if err != nil {
		return thumbs.Store{}, err
	}
	return thumbs.Remote(c), nil
}

// checkMedia is doctor's look at the media store: where it is, and
// whether an object (or file) can be written, read back and removed.
func checkMedia(ctx context.Context, cfg *config.Config, check func(bool, string, string)) {
	if cfg.Media.S3 == nil {
		dir := cfg.ThumbDir()
		err := os.MkdirAll(dir, 0o700)
		if err == nil {
			var f *os.File
			if f, err = os.CreateTemp(dir, ".doctor-*"); err == nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
		what := "folder " + dir
		if cfg.Media.Dir != "" {
			what = "shared folder " + dir + " (SHOEBOX_MEDIA_URL)"
		}
		check(err == nil, "media", what+errText(err))
		return
	}
	tmp, err := os.MkdirTemp("", "shoebox-doctor-*")
	if err != nil {
		check(false, "media", err.Error())
		return
	}
	defer os.RemoveAll(tmp)
	st, err := openMedia(ctx, cfg, tmp)
	if err != nil {
		check(false, "media", err.Error())
		return
	}
	err = st.Cache().Bucket().(*objstore.S3).Check(ctx)
	check(err == nil, "media", fmt.Sprintf("%s, writable; cache %s, at most %d MiB, revalidated after %s",
		st, cfg.MediaCacheDir(), cfg.Media.CacheBytes>>20, cfg.Media.CacheTTL)+errText(err))
}
