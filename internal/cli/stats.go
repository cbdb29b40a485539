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
	places, err := a.st.PlaceCounts(ctx, storage.Scope{}, 10)
	if err != nil {
		return err
	}
	if !isTerminal(os.Stdout) {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*storage.LibraryStats
			Places *storage.PlaceStats `json:"places"`
		}{st, places})
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
	fmt.Printf("places   %d located, %d named\n", places.Located, places.Placed)
	for _, c := range places.Countries {
		fmt.Printf("country  %s: %d\n", c.Country, c.Photos)
	}
	for _, c := range places.Cities {
		fmt.Printf("city     %s, %s: %d\n", c.City, c.Country, c.Photos)
	}
	return nil
}
