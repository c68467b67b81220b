// Package testenv finds or starts the real servers that adapter and end-to-end tests talk to
// (moto_server for SNS, SQS and DynamoDB). A missing server fails the test under CI=true, with
// what to install, and skips it elsewhere with the same words.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Missing fails (CI=true) or skips the test because a tool is not installed.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available: %s", what, install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var moto struct {
	once sync.Once
	url  string
	err  error
}

// MotoURL returns the endpoint of a running moto_server: MOTO_URL when set (as .ci/run does),
// otherwise one started for this test process on a free loopback port.
func MotoURL(t testing.TB) string {
	t.Helper()
	// Every test gets AWS-shaped credentials that reach no real account, however moto was found.
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	if u := os.Getenv("MOTO_URL"); u != "" {
		return u
	}
	moto.once.Do(func() { moto.url, moto.err = startMoto() })
	if moto.err != nil {
		Missing(t, "moto_server", "pip install 'moto[server]' (or set MOTO_URL to a running one): "+moto.err.Error())
	}
	return moto.url
}

func startMoto() (string, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", err
	}
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port)) //nolint:gosec // G204: moto_server found on PATH, fixed arguments
	// The server dies with the test process, however that ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := WaitHTTP(url+"/moto-api/", 30*time.Second); err != nil {
		_ = cmd.Process.Kill()
		return "", fmt.Errorf("moto_server did not answer: %w", err)
	}
	return url, nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitHTTP polls url until it answers any HTTP response or the timeout passes.
func WaitHTTP(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TableCreated filters the error of a CreateTable for a uniquely named test table: under load
// the SDK may retry a CreateTable whose first attempt succeeded unseen, and the retry's
// ResourceInUseException then means the table is there, as wanted.
func TableCreated(err error) error {
	var inUse *ddbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil
	}
	return err
}
