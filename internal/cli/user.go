package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"shoebox/internal/auth"
	"shoebox/internal/config"
	"shoebox/internal/storage"
)

const userUsage = `usage:
  shoebox user add NAME [--admin] --password-stdin
  shoebox user passwd NAME --password-stdin
  shoebox user list
  shoebox user remove NAME`

// user manages accounts. Like stats, it shares the data folder with a
// running server; a running server notices within a second (its auth
// poll): the first account switches it to signed-in mode, a removal or a
// new password ends the sessions concerned.
func user(ctx context.Context, cfg *config.Config, log *slog.Logger, words []string) error {
	var (
		rest            []string
		admin, useStdin bool
	)
	for _, w := range words[min(1, len(words)):] {
		switch w {
		case "--admin", "-admin":
			admin = true
		case "--password-stdin", "-password-stdin":
			useStdin = true
		default:
			if strings.HasPrefix(w, "-") {
				return fmt.Errorf("unknown flag %s\n%s", w, userUsage)
			}
			rest = append(rest, w)
		}
	}
	if len(words) == 0 {
		return errors.New(userUsage)
	}
	verb := words[0]
	needName := verb != "list"
	if needName && len(rest) != 1 || !needName && len(rest) != 0 {
		return errors.New(userUsage)
	}
	var name, hash string
	if needName {
		name = rest[0]
		if err := auth.CheckName(name); err != nil {
			return err
		}
	}
	if verb == "add" || verb == "passwd" {
		if !useStdin {
			return fmt.Errorf("give the password on standard input with --password-stdin (never as an argument: it would show in ps)\n%s", userUsage)
		}
		p, err := readPassword(os.Stdin)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(p); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, cfg, quietLogger(log), false)
	if err != nil {
		return err
	}
	defer a.close()
	switch verb {
	case "add":
		if _, err := a.st.AddUser(ctx, name, hash, admin); errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("an account %q exists already (shoebox user passwd %s --password-stdin changes its password)", name, name)
		} else if err != nil {
			return err
		}
		audit(ctx, a, "user-add", name, fmt.Sprintf("admin=%v (command line)", admin))
		fmt.Printf("account %s added\n", name)
	case "passwd":
		u, err := a.st.UserByName(ctx, name)
		if err != nil {
			return fmt.Errorf("account %q: %w", name, err)
		}
		if err := a.st.SetPassword(ctx, u.ID, hash, 0); err != nil {
			return err
		}
		audit(ctx, a, "password", name, "command line; every session ended")
		fmt.Printf("password of %s changed; its sessions were signed out\n", name)
	case "remove":
		if err := a.st.RemoveUser(ctx, name); err != nil {
			return fmt.Errorf("account %q: %w", name, err)
		}
		audit(ctx, a, "user-remove", name, "command line")
		fmt.Printf("account %s removed; its sessions were signed out\n", name)
	case "list":
		us, err := a.st.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range us {
			role := "member"
			if u.Admin {
				role = "admin"
			}
			fmt.Printf("%-32s %-6s created %s\n", u.Name, role, u.CreatedAt.Format("2006-01-02 15:04"))
		}
	default:
		return errors.New(userUsage)
	}
	return nil
}

func audit(ctx context.Context, a *app, event, name, detail string) {
	if err := a.st.Audit(ctx, event, name, "", detail); err != nil {
		a.log.Warn("audit", "event", event, "err", err)
	}
}

// readPassword reads the first line of r (without its line ending).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
