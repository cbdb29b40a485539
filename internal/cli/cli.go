// Package cli is Shoebox's command line: one file per subcommand, and the
// start-up they share (config, logging, the data-folder lock, the database).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"shoebox/internal/config"
)

const usage = `Shoebox: a self-hosted photo library.

Usage:
  shoebox serve  [flags]   index the libraries and serve the gallery
  shoebox serve --no-index  serve only; jobs are queued for workers
  shoebox worker [flags]   only run jobs (scans, processing, embedding, conversions)
  shoebox index  [flags]   index the libraries once, then exit
  shoebox stats  [flags]   print the library's figures
  shoebox doctor [flags]   check PostgreSQL, pgvector, the connection budget and libvips
  shoebox model get NAME   download a CLIP model by name (e.g. ViT-B-32__openai) into <data>/models
  shoebox model list       list the models in <data>/models
  shoebox user add NAME [--admin] --password-stdin   create an account
  shoebox user passwd NAME --password-stdin          change its password (ends its sessions)
  shoebox user list | shoebox user remove NAME
  shoebox key add --user NAME --scope read|write|metrics   make an API key (printed once)
  shoebox key list [--user NAME] | shoebox key revoke ID
  shoebox library add PATH --owner NAME      a photo folder of that account (scanned by serve)
  shoebox library share|unshare PATH --with NAME
  shoebox library list                       every library, its owner and shares
  shoebox upload --server URL --key KEY PATH…  upload photos and videos to a server (tus; resumes)

Flags:
  --library PATH    photo folder (repeatable)          SHOEBOX_LIBRARY (':'-separated)
  --data PATH       data folder (default shoebox-data) SHOEBOX_DATA
  --addr HOST:PORT  listen address (default 127.0.0.1:8080) SHOEBOX_ADDR
  --db-max-conns N  connection budget (default 10)     SHOEBOX_DB_MAX_CONNS
  --workers N       indexing workers (default: CPUs)   SHOEBOX_WORKERS
  --rescan DUR      rescan interval (default 1h, 0 = at start only) SHOEBOX_RESCAN_INTERVAL
  --clip-model NAME|PATH  CLIP model for search by meaning: an installed name or a folder
                    SHOEBOX_CLIP_MODEL
  --stay-inside     skip symlinks leading outside the libraries SHOEBOX_STAY_INSIDE=true

Environment: DATABASE_URL selects an external PostgreSQL (with pgvector);
without it Shoebox runs its own cluster under the data folder.
SHOEBOX_MODEL_HUB sets the hub models come from (default https://huggingface.co).
SHOEBOX_ALLOWED_HOSTS: Host names accepted without accounts (comma-separated).
SHOEBOX_TRUSTED_PROXIES: proxies (CIDRs/IPs) whose X-Forwarded-Proto/-For are believed.
SHOEBOX_TRANSCODE_WORKERS: videos converted for browsers at once (default 1).
SHOEBOX_TRANSCODE_LIMIT: a conversion's time limit, in seconds per second of video
                  (plus 2 minutes; default 10).
`

// warnEvery is how often one warning message may be logged (see throttle).
const warnEvery = 30 * time.Second

var commands = map[string]func(ctx context.Context, cfg *config.Config, log *slog.Logger) error{
	"serve":  serve,
	"worker": worker,
	"index":  index,
	"stats":  stats,
	"doctor": doctor,
}

// wordCommands take words besides flags (shoebox model get NAME).
var wordCommands = map[string]func(ctx context.Context, cfg *config.Config, log *slog.Logger, words []string) error{
	"model":   model,
	"user":    user,
	"key":     key,
	"library": libraryCmd,
}

// Main runs the command line and returns the exit code.
func Main(args []string, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "upload" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return uploadCmd(ctx, args[1:], getenv, os.Stdout, os.Stderr)
	}
	run, ok := commands[args[0]]
	withWords, takesWords := wordCommands[args[0]]
	if !ok && !takesWords {
		fmt.Fprintf(os.Stderr, "shoebox: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	rest, own := args[1:], []string(nil)
	switch args[0] { // their own flags travel with their words
	case "user":
		rest, own = splitUserFlags(rest)
	case "key":
		rest, own = splitOwnFlags(rest, "user", "scope")
	case "library":
		rest, own = splitOwnFlags(rest, "owner", "with")
	}
	cfg, words, err := config.ParseArgs("shoebox "+args[0], rest, getenv)
	words = append(words, own...)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil && !takesWords && len(words) > 0 {
		err = fmt.Errorf("unexpected arguments: %s", strings.Join(words, " "))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "shoebox: %v\n", err)
		return 2
	}
	// The one slog handler of the process; commands narrow it (quietLogger).
	log := slog.New(newThrottle(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}), warnEvery))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if takesWords {
		run = func(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
			return withWords(ctx, cfg, log, words)
		}
	}
	if err := run(ctx, cfg, log); err != nil {
		fmt.Fprintf(os.Stderr, "shoebox %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// quietLogger is log showing warnings and errors only: for commands whose
// output is for people (stats, doctor, index's progress bar), where info
// lines would tear it. It keeps log's handler (one, built in Main).
func quietLogger(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{log.Handler(), slog.LevelWarn})
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// splitUserFlags takes user's own flags (--admin, --password-stdin) out of
// args, which config.ParseArgs would refuse.
func splitUserFlags(args []string) (rest, own []string) {
	for _, a := range args {
		switch a {
		case "--admin", "-admin", "--password-stdin", "-password-stdin":
			own = append(own, a)
		default:
			rest = append(rest, a)
		}
	}
	return rest, own
}

// splitOwnFlags takes a command's own flags (--NAME VALUE or --NAME=VALUE,
// for the names given) out of args, before the shared flags are parsed.
func splitOwnFlags(args []string, names ...string) (rest, own []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !slices.Contains(names, name) {
			rest = append(rest, a)
			continue
		}
		own = append(own, a)
		if !hasVal && i+1 < len(args) {
			i++
			own = append(own, args[i])
		}
	}
	return rest, own
}

// parseWords splits a word command's arguments into its flags (--NAME
// VALUE or --NAME=VALUE, for the names given) and its other words; an
// unknown flag or one without a value is an error quoting usage.
func parseWords(words []string, usage string, names ...string) (flags map[string]string, rest []string, err error) {
	flags = map[string]string{}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			rest = append(rest, w)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if !slices.Contains(names, name) {
			return nil, nil, fmt.Errorf("unknown flag %s\n%s", w, usage)
		}
		if !hasVal {
			if i+1 >= len(words) {
				return nil, nil, fmt.Errorf("flag --%s needs a value\n%s", name, usage)
			}
			i++
			val = words[i]
		}
		flags[name] = val
	}
	return flags, rest, nil
}
