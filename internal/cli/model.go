package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"

	"shoebox/internal/ai"
	"shoebox/internal/config"
	"shoebox/internal/modelhub"
	"shoebox/internal/web"
)

// model installs and lists CLIP models by name. It needs neither the
// database nor the data-folder lock, so it runs beside a serving Shoebox.
//
//	shoebox model get NAME   immich-app/NAME from the hub into <data>/models/NAME
//	shoebox model list       what <data>/models holds
func model(ctx context.Context, cfg *config.Config, log *slog.Logger, words []string) error {
	switch {
	case len(words) == 2 && words[0] == "get":
		return modelGet(ctx, cfg, log, words[1])
	case len(words) == 1 && words[0] == "list":
		return modelList(cfg)
	}
	return errors.New("usage: shoebox model get NAME (e.g. ViT-B-32__openai) | shoebox model list")
}

func modelGet(ctx context.Context, cfg *config.Config, log *slog.Logger, name string) error {
	c := &modelhub.Client{
		Hub:      cfg.ModelHub,
		Progress: newProgress(os.Stderr),
		Log:      log,
		Retries:  5,
	}
	dir, err := c.Get(ctx, name, cfg.ModelsDir())
	if errors.Is(err, modelhub.ErrInstalled) {
		fmt.Printf("%s is already installed in %s\n", name, dir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Printf("installed %s in %s\n", name, dir)
	if mc, err := ai.LoadModelConfig(dir); err != nil {
		fmt.Printf("warning: %v\n", err)
	} else {
		fmt.Printf("%d-d embeddings, %d px images; use it with SHOEBOX_CLIP_MODEL=%s (or --clip-model %s)\n",
			mc.EmbedDim, mc.ImageSize, name, name)
	}
	return nil
}

func modelList(cfg *config.Config) error {
	list, err := modelhub.List(cfg.ModelsDir())
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Printf("no models in %s (install one: shoebox model get ViT-B-32__openai)\n", cfg.ModelsDir())
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSIZE\tDIM\t")
	for _, m := range list {
		dim := "?"
		if m.Dim > 0 {
			dim = fmt.Sprint(m.Dim)
		}
		note := ""
		if m.Partial {
			dim, note = "-", "partial download: shoebox model get "+m.Name+" resumes it"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.Name, web.FormatBytes(m.Bytes), dim, note)
	}
	return w.Flush()
}
