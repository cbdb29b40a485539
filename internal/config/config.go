// Package config reads Shoebox's settings once, from flags and SHOEBOX_*
// environment variables, and hands a validated struct down. There are no
// globals: every component receives the Config (or the part it needs).
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole of Shoebox's configuration.
type Config struct {
	// Libraries are the photo folders to index (read-only to us). --library,
	// repeatable; SHOEBOX_LIBRARY holds several separated by ':'.
	Libraries []string
	// DataDir holds thumbnails, previews and, without DATABASE_URL, the
	// embedded PostgreSQL cluster. Default ./shoebox-data.
	DataDir string
	// Addr is where `serve` listens. Default 127.0.0.1:8080.
	Addr string
	// DatabaseURL selects an external PostgreSQL; empty means embedded.
	DatabaseURL string
	// DirectDatabaseURL (SHOEBOX_DIRECT_DATABASE_URL) reaches PostgreSQL
	// itself when DatabaseURL is a pooler in transaction mode: what needs a
	// session (the job queue's LISTEN) uses it, within the same budget (a
	// process that runs jobs keeps one of its DBMaxConns connections there).
	// Empty: such work polls through DatabaseURL instead.
	DirectDatabaseURL string
	// DBPooler (SHOEBOX_DB_POOLER) says what DatabaseURL leads to: auto
	// (default: learned at the first connection), none, or transaction.
	DBPooler string
	// DBMaxConns is this process's connection budget: the pool size. Default 10.
	DBMaxConns int
	// AcquireTimeout bounds every wait for a pooled connection. Default 5s.
	AcquireTimeout time.Duration
	// StatementTimeout is set on every connection. Default 30s.
	StatementTimeout time.Duration
	// Workers is the number of indexing workers. Default: number of CPUs.
	Workers int
	// TranscodeWorkers is how many videos are converted for browsers at
	// once (SHOEBOX_TRANSCODE_WORKERS). Default 1.
	TranscodeWorkers int
	// TranscodeLimit bounds each conversion: at most 2 minutes plus this
	// many seconds of work per second of video (SHOEBOX_TRANSCODE_LIMIT).
	// Default 10.
	TranscodeLimit float64
	// RescanInterval is how often the libraries are rescanned (once for
	// the whole deployment, by whichever worker leads); 0: only at start.
	// Default 1h.
	RescanInterval time.Duration
	// NoIndex makes `serve` serve only (--no-index): it runs no jobs and
	// schedules no rescans, but still queues work for `shoebox worker`.
	NoIndex bool
	// MaxPixels refuses images larger than this many pixels; 0 (the
	// default) is media.DefaultMaxPixels, 200 MP.
	MaxPixels int64
	// ClipModel is a CLIP model folder in Immich's layout, given as a path
	// or as the name of a model installed under ModelsDir (`shoebox model
	// get NAME`); Validate turns either into an absolute path. Empty: no
	// search by meaning (unless MLURL is set).
	ClipModel string
	// ModelHub is the Hugging Face hub `shoebox model get` downloads from
	// (SHOEBOX_MODEL_HUB). Default https://huggingface.co.
	ModelHub string
	// ORTLib is the ONNX Runtime shared library; empty: found by itself.
	ORTLib string
	// Faces finds faces on the indexed photos and groups them into people
	// (SHOEBOX_FACES: on or off). Default on; without face-api's models
	// (scripts/setup.sh, or SHOEBOX_FACEAPI_MODELS) faces are skipped.
	Faces bool
	// StayInside keeps indexing inside the library folders: symlinks (to
	// files or folders) that lead outside a library are skipped. Default
	// false: symlinked folders are followed once each, wherever they lead.
	// --stay-inside; SHOEBOX_STAY_INSIDE=true.
	StayInside bool
	// LogLevel is the least severe level logged (SHOEBOX_LOG_LEVEL: debug,
	// info, warn or error). Default info.
	LogLevel slog.Level
	// MLURL is an Immich-compatible machine-learning service, used when
	// ClipModel is empty; MLModel is the model name it is asked for.
	MLURL, MLModel string
	// AllowedHosts are Host names accepted besides the listening address
	// and localhost while no account exists (SHOEBOX_ALLOWED_HOSTS,
	// comma-separated); any other Host gets 421 (DNS rebinding).
	AllowedHosts []string
	// TrustedProxies are the addresses (CIDRs or IPs) whose
	// X-Forwarded-Proto and X-Forwarded-For are believed
	// (SHOEBOX_TRUSTED_PROXIES, comma-separated). Empty: none.
	TrustedProxies []netip.Prefix
	// UploadMaxBytes is the largest file an upload may be
	// (SHOEBOX_UPLOAD_MAX_BYTES; 413 beyond). Default 4 GiB.
	UploadMaxBytes int64
	// UploadQuotaBytes is how many bytes of uploads each user may keep
	// (SHOEBOX_UPLOAD_QUOTA_BYTES; 507 beyond). Default 0: no quota.
	UploadQuotaBytes int64
	// MapTiles is the /map page's tile URL template ({z}, {x}, {y}, and
	// {s} for subdomains), loaded by the browser (SHOEBOX_MAP_TILES).
	// Default DefaultMapTiles, OpenStreetMap's standard tiles; "off": no
	// tiles, the outline map drawn from the embedded borders only.
	MapTiles string
	// MapAttribution is the tiles' attribution, HTML, shown on the map
	// (SHOEBOX_MAP_ATTRIBUTION). Default: OpenStreetMap's, with the
	// default tiles; none with others.
	MapAttribution string
	// Media says where thumbnails, previews, transcodes and uploads live
	// (SHOEBOX_MEDIA_URL and friends: media.go).
	Media Media
}

// Parse builds a Config from args (without the subcommand) and the
// environment. Flags win over environment variables. Words that are not
// flags are refused.
func Parse(name string, args []string, getenv func(string) string) (*Config, error) {
	c, words, err := ParseArgs(name, args, getenv)
	if err == nil && len(words) > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(words, " "))
	}
	return c, err
}

// ParseArgs is Parse for commands that take words besides flags (`shoebox
// model get NAME`): it returns them, in order; flags may come before,
// between or after them.
func ParseArgs(name string, args []string, getenv func(string) string) (*Config, []string, error) {
	c := &Config{
		DataDir:           envOr(getenv, "SHOEBOX_DATA", "shoebox-data"),
		Addr:              envOr(getenv, "SHOEBOX_ADDR", "127.0.0.1:8080"),
		DatabaseURL:       getenv("DATABASE_URL"),
		DirectDatabaseURL: getenv("SHOEBOX_DIRECT_DATABASE_URL"),
		DBPooler:          envOr(getenv, "SHOEBOX_DB_POOLER", "auto"),
		DBMaxConns:        10,
		AcquireTimeout:    5 * time.Second,
		StatementTimeout:  30 * time.Second,
		RescanInterval:    time.Hour,
		ClipModel:         getenv("SHOEBOX_CLIP_MODEL"),
		ORTLib:            getenv("SHOEBOX_ORT_LIB"),
		ModelHub:          envOr(getenv, "SHOEBOX_MODEL_HUB", "https://huggingface.co"),
		MLURL:             getenv("SHOEBOX_ML_URL"),
		MLModel:           envOr(getenv, "SHOEBOX_ML_MODEL", "ViT-B-32__openai"),
	}
	if v := getenv("SHOEBOX_LIBRARY"); v != "" {
		c.Libraries = filepath.SplitList(v)
	}
	var err error
	if c.DBMaxConns, err = envInt(getenv, "SHOEBOX_DB_MAX_CONNS", c.DBMaxConns); err != nil {
		return nil, nil, err
	}
	if c.Workers, err = envInt(getenv, "SHOEBOX_WORKERS", 0); err != nil {
		return nil, nil, err
	}
	if c.TranscodeWorkers, err = envInt(getenv, "SHOEBOX_TRANSCODE_WORKERS", 1); err != nil {
		return nil, nil, err
	}
	if c.TranscodeWorkers < 1 {
		return nil, nil, errors.New("config: SHOEBOX_TRANSCODE_WORKERS must be at least 1")
	}
	c.TranscodeLimit = 10
	if v := getenv("SHOEBOX_TRANSCODE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || f > 1e6 {
			return nil, nil, fmt.Errorf("config: SHOEBOX_TRANSCODE_LIMIT %q: want a positive number (seconds of work per second of video)", v)
		}
		c.TranscodeLimit = f
	}
	if c.AcquireTimeout, err = envDur(getenv, "SHOEBOX_DB_ACQUIRE_TIMEOUT", c.AcquireTimeout); err != nil {
		return nil, nil, err
	}
	if c.StatementTimeout, err = envDur(getenv, "SHOEBOX_DB_STATEMENT_TIMEOUT", c.StatementTimeout); err != nil {
		return nil, nil, err
	}
	if c.RescanInterval, err = envDur(getenv, "SHOEBOX_RESCAN_INTERVAL", c.RescanInterval); err != nil {
		return nil, nil, err
	}
	if c.StayInside, err = envBool(getenv, "SHOEBOX_STAY_INSIDE", false); err != nil {
		return nil, nil, err
	}
	switch v := strings.ToLower(getenv("SHOEBOX_FACES")); v {
	case "", "on", "true", "1":
		c.Faces = true
	case "off", "false", "0":
	default:
		return nil, nil, fmt.Errorf("config: SHOEBOX_FACES=%q: want on or off", v)
	}
	if v := getenv("SHOEBOX_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return nil, nil, fmt.Errorf("config: SHOEBOX_LOG_LEVEL %q: want debug, info, warn or error", v)
		}
	}
	for _, h := range strings.Split(getenv("SHOEBOX_ALLOWED_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.AllowedHosts = append(c.AllowedHosts, h)
		}
	}
	if c.TrustedProxies, err = parseProxies(getenv("SHOEBOX_TRUSTED_PROXIES")); err != nil {
		return nil, nil, err
	}
	mp, err := envInt(getenv, "SHOEBOX_MAX_MEGAPIXELS", 0)
	if err != nil {
		return nil, nil, err
	}
	if mp < 0 {
		return nil, nil, errors.New("config: SHOEBOX_MAX_MEGAPIXELS must not be negative")
	}
	c.MaxPixels = int64(mp) * 1_000_000

	if c.UploadMaxBytes, err = envBytes(getenv, "SHOEBOX_UPLOAD_MAX_BYTES", 4<<30); err != nil {
		return nil, nil, err
	}
	if c.UploadQuotaBytes, err = envBytes(getenv, "SHOEBOX_UPLOAD_QUOTA_BYTES", 0); err != nil {
		return nil, nil, err
	}
	if c.Media, err = parseMedia(getenv); err != nil {
		return nil, nil, err
	}
	c.MapTiles = envOr(getenv, "SHOEBOX_MAP_TILES", DefaultMapTiles)
	c.MapAttribution = getenv("SHOEBOX_MAP_ATTRIBUTION")
	if c.MapAttribution == "" && c.MapTiles == DefaultMapTiles {
		c.MapAttribution = DefaultMapAttribution
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var libs multiFlag
	fs.Var(&libs, "library", "photo folder to index (repeatable; env SHOEBOX_LIBRARY)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data folder for thumbnails and the embedded database (env SHOEBOX_DATA)")
	fs.StringVar(&c.Addr, "addr", c.Addr, "HOST:PORT to listen on (env SHOEBOX_ADDR)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", c.DBMaxConns, "connection budget of this process (env SHOEBOX_DB_MAX_CONNS)")
	fs.IntVar(&c.Workers, "workers", c.Workers, "indexing workers, 0 = one per CPU (env SHOEBOX_WORKERS)")
	fs.DurationVar(&c.RescanInterval, "rescan", c.RescanInterval, "rescan interval, 0 = at start only (env SHOEBOX_RESCAN_INTERVAL)")
	fs.BoolVar(&c.NoIndex, "no-index", c.NoIndex, "serve only: run no jobs, leave indexing to `shoebox worker` processes")
	fs.BoolVar(&c.StayInside, "stay-inside", c.StayInside, "skip symlinks that lead outside the library folders (env SHOEBOX_STAY_INSIDE=true)")
	fs.StringVar(&c.ClipModel, "clip-model", c.ClipModel, "CLIP model for search by meaning: a folder, or the name of one installed by `shoebox model get` (env SHOEBOX_CLIP_MODEL)")
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		words, args = append(words, fs.Arg(0)), fs.Args()[1:]
	}
	if len(libs) > 0 {
		c.Libraries = libs
	}
	return c, words, c.Validate()
}

// The map's default tiles: OpenStreetMap's standard layer, whose usage
// policy asks for this attribution.
const (
	DefaultMapTiles       = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	DefaultMapAttribution = `&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors`
)

// checkTiles refuses a tile URL that is neither "off" nor an http(s)
// template with {z}, {x} and {y}.
func checkTiles(t string) error {
	if t == "off" {
		return nil
	}
	u, err := url.Parse(strings.ReplaceAll(t, "{s}", "a"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		!strings.Contains(t, "{z}") || !strings.Contains(t, "{x}") || !strings.Contains(t, "{y}") {
		return fmt.Errorf("config: SHOEBOX_MAP_TILES=%q: want an http(s) URL with {z}, {x} and {y}, or off", t)
	}
	return nil
}

// Validate checks values and makes paths absolute.
func (c *Config) Validate() error {
	if c.DBMaxConns < 2 {
		return errors.New("config: SHOEBOX_DB_MAX_CONNS must be at least 2")
	}
	if c.DirectDatabaseURL != "" && c.DatabaseURL == "" {
		return errors.New("config: SHOEBOX_DIRECT_DATABASE_URL is for a DATABASE_URL that leads through a pooler; set DATABASE_URL too")
	}
	switch c.DBPooler {
	case "", "auto", "none", "transaction", "pgbouncer":
	default:
		return fmt.Errorf("config: SHOEBOX_DB_POOLER=%q: want auto, none or transaction", c.DBPooler)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("config: --addr %q: %w", c.Addr, err)
	}
	if c.AcquireTimeout <= 0 {
		return errors.New("config: acquire timeout must be positive")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("config: data folder: %w", err)
	}
	c.DataDir = abs
	if c.ClipModel != "" {
		c.ClipModel, err = c.resolveModel(c.ClipModel)
		if err != nil {
			return fmt.Errorf("config: clip model: %w", err)
		}
	}
	if err := checkTiles(c.MapTiles); err != nil {
		return err
	}
	if u, err := url.Parse(c.ModelHub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("config: SHOEBOX_MODEL_HUB=%q is not an http(s) URL", c.ModelHub)
	}
	seen := map[string]bool{}
	var libs []string
	for _, l := range c.Libraries {
		abs, err := filepath.Abs(l)
		if err != nil {
			return fmt.Errorf("config: library %q: %w", l, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		libs = append(libs, abs)
	}
	c.Libraries = libs
	return nil
}

// resolveModel turns --clip-model into a folder: a bare name (no slash)
// of a model installed under ModelsDir is that folder; anything else is a
// path, as before names existed. A name that is not installed stays a path
// relative to the working directory, so a folder there keeps working.
func (c *Config) resolveModel(v string) (string, error) {
	if !strings.ContainsRune(v, filepath.Separator) && v != "." && v != ".." {
		installed := filepath.Join(c.ModelsDir(), v)
		if st, err := os.Stat(installed); err == nil && st.IsDir() {
			return installed, nil
		}
	}
	return filepath.Abs(v)
}

// ModelsDir is where `shoebox model get` installs models, one folder per
// name.
func (c *Config) ModelsDir() string { return filepath.Join(c.DataDir, "models") }

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseProxies reads SHOEBOX_TRUSTED_PROXIES: CIDRs or single IPs.
func parseProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("config: SHOEBOX_TRUSTED_PROXIES: %q is neither an IP nor a CIDR", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(getenv func(string) string, k string, def int) (int, error) {
	v := getenv(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("config: %s=%q is not a number", k, v)
	}
	return n, nil
}

// envBytes reads a byte count (a whole number, not negative).
func envBytes(getenv func(string) string, k string, def int64) (int64, error) {
	v := getenv(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("config: %s=%q is not a number of bytes", k, v)
	}
	return n, nil
}

func envBool(getenv func(string) string, k string, def bool) (bool, error) {
	v := getenv(k)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("config: %s=%q is not true or false", k, v)
	}
	return b, nil
}

func envDur(getenv func(string) string, k string, def time.Duration) (time.Duration, error) {
	v := getenv(k)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("config: %s=%q is not a duration (like 5s): %w", k, v, err)
	}
	return d, nil
}
