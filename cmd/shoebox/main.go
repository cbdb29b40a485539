// Command shoebox is a self-hosted photo library: see internal/cli.
package main

import (
	"os"

	"shoebox/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Getenv)) }
