package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"

	"shoebox/internal/config"
	"shoebox/internal/storage"
	"shoebox/internal/web"
)

// stats prints the library's figures (the same as /api/stats).
func stats(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := openApp(ctx, cfg, quietLogger(log), false)
	if err != nil {
		return err
	}
	defer a.close()
	st, err := a.st.Stats(ctx, storage.Scope{})
	if err != nil {
		return err
	}
	if !isTerminal(os.Stdout) {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Printf("photos   %d (%d files, %s)\n", st.Photos, st.Files, web.FormatBytes(st.Bytes))
	if st.Damaged > 0 {
		fmt.Printf("damaged  %d shown as far as they decode (search is:damaged)\n", st.Damaged)
	}
	fmt.Printf("queue    %d pending, %d could not be indexed\n", st.Queue.Pending, st.Queue.Failed)
	years := make([]string, 0, len(st.ByYear))
	for y := range st.ByYear {
		years = append(years, y)
	}
	sort.Strings(years)
	for _, y := range years {
		fmt.Printf("  %s  %d\n", y, st.ByYear[y])
	}
	for _, c := range st.Cameras {
		fmt.Printf("camera   %s %s: %d\n", c.Make, c.Model, c.Photos)
	}
	return nil
}
