package cli

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"math"
	"os"
	"strings"

	"shoebox/internal/ai"
	"shoebox/internal/config"
	"shoebox/internal/database"
	"shoebox/internal/face"
	"shoebox/internal/library"
	"shoebox/internal/media"
)

// doctor checks what Shoebox depends on and says how to fix what is wrong.
func doctor(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	problems := 0
	check := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			problems++
		}
		fmt.Printf("%s %-16s %s\n", mark, what, detail)
	}
	if err := media.Init(); err != nil {
		check(false, "libvips", err.Error())
	} else {
		check(true, "libvips", media.Version()+" loads "+strings.Join(media.Formats(), ", "))
	}
	a, err := openApp(ctx, cfg, quietLogger(log), false)
	if err != nil {
		if errors.Is(err, database.ErrNoPgvector) {
			check(false, "pgvector", err.Error())
		} else {
			check(false, "postgresql", err.Error())
		}
		return fmt.Errorf("%d problem(s)", problems)
	}
	defer a.close()
	where := "DATABASE_URL"
	if a.cluster != nil {
		where = "embedded cluster in " + a.cluster.DataDir()
	}
	check(true, "postgresql", a.budget.Server+" ("+where+")")
	vec, err := a.st.PgvectorVersion(ctx)
	check(err == nil, "pgvector", vec+errText(err))
	b, err := a.db.CheckBudget(ctx)
	if err != nil {
		check(false, "connections", err.Error())
	} else {
		detail := b.String()
		if !b.Fits() {
			detail += ": lower SHOEBOX_DB_MAX_CONNS or raise max_connections"
		}
		check(b.Fits(), "connections", detail)
	}
	checkPooler(ctx, a, check)
	checkModel(ctx, a, check)
	checkFaces(ctx, cfg, check)
	checkMedia(ctx, cfg, check)
	for _, l := range cfg.Libraries {
		ok := checkLibraries(&config.Config{Libraries: []string{l}}) == nil
		check(ok, "library", l)
		if ok {
			checkOutsideLinks(ctx, cfg, l, check)
		}
	}
	if problems > 0 {
		return fmt.Errorf("%d problem(s)", problems)
	}
	return nil
}

// checkOutsideLinks says whether library root holds symlinks that lead
// outside it (which the gallery then shows and serves), and what
// --stay-inside does about them. It is a note, not a problem.
func checkOutsideLinks(ctx context.Context, cfg *config.Config, root string, check func(bool, string, string)) {
	n, examples, err := library.OutsideLinks(ctx, root, 3)
	switch {
	case err != nil:
		check(false, "outside links", root+": "+err.Error())
	case n == 0:
		check(true, "outside links", root+": none")
	default:
		what := "followed (--stay-inside would skip them)"
		if cfg.StayInside {
			what = "skipped (--stay-inside)"
		}
		for i, e := range examples {
			examples[i] = quote(e)
		}
		if n > len(examples) {
			examples = append(examples, "…")
		}
		check(true, "outside links", fmt.Sprintf("%s: %d symlink(s) lead outside, %s: %s", root, n, what, strings.Join(examples, ", ")))
	}
}

// checkPooler says whether DATABASE_URL leads through a pooler, what
// Shoebox does about it, and where session work (LISTEN) goes.
func checkPooler(ctx context.Context, a *app, check func(bool, string, string)) {
	pooled, _, why := a.db.Pooler()
	if !pooled {
		check(true, "pooler", "none ("+why+"): named prepared statements, timeouts set per connection")
	} else {
		detail := "seen: " + why + "; queries use pgx's cache_describe mode (no named prepared statements), " +
			"startup parameters left out"
		if v, err := a.db.Setting(ctx, "statement_timeout"); err == nil && (v == "0" || v == "0ms") {
			detail += "; NOTE statement_timeout is 0 behind it: set one on the role " +
				"(ALTER ROLE name SET statement_timeout = '30s') or PgBouncer's query_timeout"
		}
		check(true, "pooler", detail)
	}
	// What the job queue of serve and worker does (doctor itself opens no
	// direct connection): see database.Session and jobs.Options.Listen.
	budget := a.cfg.DBMaxConns
	switch {
	case a.cfg.DirectDatabaseURL != "":
		why, err := database.CheckDirect(ctx, a.cfg.DirectDatabaseURL)
		detail := "SHOEBOX_DIRECT_DATABASE_URL: " + why + errText(err)
		switch {
		case err != nil:
			detail += "; the job queue polls while it cannot reach it"
		case budget < database.MinSessionBudget:
			detail += fmt.Sprintf("; left unused: a budget of %d cannot spare a connection, so the job queue polls", budget)
		default:
			detail += fmt.Sprintf("; the job queue (serve, worker, index) LISTENs there on 1 connection of the budget of %d (the pool gets %d)", budget, budget-1)
		}
		check(err == nil, "direct database", detail)
	case pooled:
		check(true, "direct database", "none (SHOEBOX_DIRECT_DATABASE_URL unset): the job queue polls instead of listening")
	case budget < database.MinSessionBudget:
		check(true, "direct database", fmt.Sprintf("not needed (the database is PostgreSQL itself), but a budget of %d cannot spare a connection: the job queue polls", budget))
	default:
		check(true, "direct database", fmt.Sprintf("not needed (the database is PostgreSQL itself): the job queue (serve, worker, index) LISTENs on 1 of the pool's %d connections", budget))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

// checkModel loads the configured CLIP model (if any) and runs both
// encoders once: a text and a small generated picture.
func checkModel(ctx context.Context, a *app, check func(bool, string, string)) {
	if a.cfg.ClipModel == "" && a.cfg.MLURL == "" {
		lib := ai.DefaultORTLib()
		if lib == "" {
			lib = "not installed (scripts/setup.sh installs it)"
		}
		check(true, "onnx runtime", lib)
		check(true, "clip model", "none: search by meaning is off (shoebox model get ViT-B-32__openai, then SHOEBOX_CLIP_MODEL=ViT-B-32__openai; or SHOEBOX_ML_URL)")
		return
	}
	if err := a.openEmbedder(ctx); err != nil {
		check(false, "clip model", err.Error())
		return
	}
	if a.cfg.ClipModel != "" {
		check(true, "onnx runtime", ai.ORTVersion()+" ("+ai.ORTLibPath()+")")
	}
	check(true, "clip model", a.embed.Describe())
	v, err := a.embed.EmbedText(ctx, "a photo of a dog")
	check(err == nil && unit(v), "text encoder", fmt.Sprintf("%d-d%s", len(v), errText(err)))
	f, err := os.CreateTemp("", "shoebox-doctor-*.jpg")
	if err != nil {
		check(false, "image encoder", err.Error())
		return
	}
	defer os.Remove(f.Name())
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	jpeg.Encode(f, img, nil)
	f.Close()
	vs, err := a.embed.EmbedImages(ctx, []string{f.Name()})
	ok := err == nil && len(vs) == 1 && unit(vs[0]) && len(vs[0]) == len(v)
	d := 0
	if len(vs) == 1 {
		d = len(vs[0])
	}
	check(ok, "image encoder", fmt.Sprintf("%d-d%s", d, errText(err)))
}

func unit(v []float32) bool {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	return len(v) > 0 && math.Abs(n-1) < 1e-3
}

// checkFaces says whether faces are looked for: off, the models not found
// (a note: Shoebox works without people), or found and loading (the three
// networks run once on a blank picture).
func checkFaces(ctx context.Context, cfg *config.Config, check func(bool, string, string)) {
	if !cfg.Faces {
		check(true, "faces", "off (SHOEBOX_FACES=off)")
		return
	}
	dir := face.DefaultModelDir()
	if dir == "" {
		check(true, "faces", "off: "+face.ErrModelsNotFound.Error())
		return
	}
	if err := ai.InitORT(cfg.ORTLib, 1); err != nil {
		check(false, "faces", dir+": "+err.Error())
		return
	}
	p, err := face.NewPipeline(dir, 1)
	if err != nil {
		check(false, "faces", dir+": "+err.Error())
		return
	}
	defer p.Close()
	const w, h = 64, 48
	_, err = p.Faces(ctx, make([]byte, w*h*3), w, h, face.DetectOptions{})
	check(err == nil, "faces", "face-api models in "+dir+" (detector, landmarks, recognition)"+errText(err))
}
