package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The command keeps the linker's dead-code elimination: no template is executed (cobra's
// SetUsageTemplate, SetHelpTemplate and SetVersionTemplate would bring text/template's
// executor, whose MethodByName calls keep every exported method of the AWS SDK in the binary:
// 34 MB instead of 13 MB).
func TestNoTemplateExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "phonewatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "text/template.(*state).") {
			t.Fatalf("the binary executes templates, so the linker keeps dead code: %s", strings.TrimSpace(line))
		}
	}
}
