package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// errNoMoto means neither MOTO_URL nor a moto_server on PATH is available.
var errNoMoto = errors.New("no moto_server (set MOTO_URL or install moto[server])")

// startMoto returns the URL of a moto_server: MOTO_URL when set, else one started here on a
// free loopback port, which stop ends.
func startMoto(ctx context.Context) (url string, stop func(), err error) {
	if u := os.Getenv("MOTO_URL"); u != "" {
		return u, func() {}, nil
	}
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, errNoMoto
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port)) //nolint:gosec // G204: moto_server found on PATH, fixed arguments
	// The server dies with this process, however that ends; its own process group lets stop
	// end whatever it started too (moto_server may be a wrapper script).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
	}
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
	if err := waitListening(ctx, addr, 30*time.Second); err != nil {
		stop()
		return "", nil, fmt.Errorf("moto_server: %w", err)
	}
	return "http://" + addr, stop, nil
}

// provision creates a state table (keyed as DESIGN.md says) and a topic on moto, both named
// name, and returns the topic's ARN.
func provision(ctx context.Context, awsCfg aws.Config, motoURL, name string) (string, error) {
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(motoURL) })
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("phoneNumberId"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("phoneNumberId"), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return "", fmt.Errorf("create table %s on moto: %w", name, err)
	}
	topics := sns.NewFromConfig(awsCfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(motoURL) })
	out, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create topic %s on moto: %w", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls addr until it accepts a TCP connection or timeout passes.
func waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections within %s: %w", addr, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
