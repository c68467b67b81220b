package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// builder builds the Lambda bootstrap once per architecture, with the Makefile's own recipe.
type builder struct {
	dir   string            // where the binaries go
	root  string            // the module root, found on first use
	built map[string]string // GOARCH -> path
}

// bootstrap returns the path of bootstrap built for linux/arch by `make build` (the flags of
// the target SAM calls, build-PhoneWatchFunction, which always builds arm64: the init part
// needs this machine's architecture), so that what is measured is what is deployed, whatever
// the Makefile's flags become.
func (b *builder) bootstrap(ctx context.Context, arch string) (string, error) {
	if p, ok := b.built[arch]; ok {
		return p, nil
	}
	if b.root == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("find the module root: go env GOMOD: %w", err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return "", errors.New("find the module root: run bench inside the phonewatch module")
		}
		b.root = filepath.Dir(gomod)
	}
	outDir := filepath.Join(b.dir, "build-"+arch)
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return "", fmt.Errorf("build %s: %w", arch, err)
	}
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", b.root, //nolint:gosec // G204: fixed target; paths and GOARCH are ours
		"build", "BIN="+outDir, "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make build GOARCH=%s: %w\n%s", arch, err, stderr.String())
	}
	p := filepath.Join(outDir, "bootstrap")
	if b.built == nil {
		b.built = map[string]string{}
	}
	b.built[arch] = p
	return p, nil
}

// sizeResult is the size of the bootstrap per architecture.
type sizeResult struct{ builds []archSize }

type archSize struct {
	arch  string
	bytes int64
}

// runSize builds the bootstrap for arm64 (the template's architecture, the target) and amd64.
func runSize(ctx context.Context, b *builder) (sizeResult, error) {
	var r sizeResult
	for _, arch := range []string{"arm64", "amd64"} {
		p, err := b.bootstrap(ctx, arch)
		if err != nil {
			return r, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return r, fmt.Errorf("size of %s: %w", p, err)
		}
		r.builds = append(r.builds, archSize{arch, fi.Size()})
	}
	return r, nil
}
