// Command stackset-template prints the plain CloudFormation template a StackSet deploys,
// generated from the SAM template on standard input (make stackset-template).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/phonewatch/phonewatch/internal/deploy"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err == nil {
		var out []byte
		if out, err = deploy.StackSetTemplate(in); err == nil {
			_, err = os.Stdout.Write(out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stackset-template:", err)
		os.Exit(1)
	}
}
