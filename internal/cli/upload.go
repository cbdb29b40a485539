package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"

	"shoebox/internal/upload"
)

const uploadUsage = `Usage: shoebox upload --server URL --key KEY PATH…

Uploads photos and videos (files, or folders walked) to a Shoebox server
with the tus protocol, skipping those the server has already; an
interrupted upload resumes where it stopped (this run or the next).
The key (an API key with write scope) may also come from SHOEBOX_API_KEY.
`

// uploadCmd is `shoebox upload`: it needs no database nor data folder.
func uploadCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("shoebox upload", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, uploadUsage); fl.PrintDefaults() }
	server := fl.String("server", getenv("SHOEBOX_SERVER"), "the server's address, e.g. https://photos.example (env SHOEBOX_SERVER)")
	key := fl.String("key", getenv("SHOEBOX_API_KEY"), "API key with write scope (env SHOEBOX_API_KEY)")
	chunk := fl.Int64("chunk-size", 8<<20, "most bytes per request: keep it under any proxy's body limit")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *server == "" || *key == "" || fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	state := ""
	if dir, err := os.UserCacheDir(); err == nil {
		state = filepath.Join(dir, "shoebox", "uploads")
	}
	c := &upload.Client{Server: *server, Key: *key, ChunkSize: *chunk, StateDir: state, HTTP: &http.Client{}}

	var files []string
	failed := 0
	for _, p := range fl.Args() {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(stdout, "failed   %s: %v\n", path, err)
				failed++
				return nil
			}
			if d.IsDir() {
				if path != p && len(d.Name()) > 1 && d.Name()[0] == '.' {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && upload.Kind(d.Name()) != "" {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(stdout, "failed   %s: %v\n", p, err)
			failed++
		}
	}
	sort.Strings(files)
	sums := make(map[string]string, len(files))
	var list []string
	for _, f := range files {
		sum, _, err := upload.HashFile(f)
		if err != nil {
			fmt.Fprintf(stdout, "failed   %s: %v\n", f, err)
			failed++
			continue
		}
		sums[f] = sum
		list = append(list, sum)
	}
	have, err := c.Have(ctx, list)
	if err != nil {
		fmt.Fprintf(stderr, "shoebox upload: %v\n", err)
		return 1
	}
	var uploaded, skipped, refused int
	var sent int64
	for _, f := range files {
		sum, ok := sums[f]
		if !ok {
			continue
		}
		if have[sum] {
			skipped++
			fmt.Fprintf(stdout, "skipped  %s: already on the server\n", f)
			continue
		}
		res, err := c.Upload(ctx, f, sum)
		sent += res.Sent
		var ref *upload.RefusedError
		switch {
		case errors.As(err, &ref):
			refused++
			fmt.Fprintf(stdout, "refused  %s: %s\n", f, ref.Reason)
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "failed   %s: %v\n", f, err)
			if ctx.Err() != nil {
				return 1
			}
		case res.Duplicate:
			skipped++
			fmt.Fprintf(stdout, "skipped  %s: already on the server (photo %s)\n", f, res.Photo)
		default:
			uploaded++
			fmt.Fprintf(stdout, "uploaded %s: photo %s, %d of %d bytes sent\n", f, res.Photo, res.Sent, res.Size)
		}
	}
	fmt.Fprintf(stdout, "%d uploaded, %d skipped, %d refused, %d failed; %d bytes sent\n", uploaded, skipped, refused, failed, sent)
	if refused+failed > 0 {
		return 1
	}
	return 0
}
