package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestMotoAnswers(t *testing.T) {
	url := MotoURL(t)
	resp, err := http.Get(url + "/moto-api/")
	if err != nil {
		t.Fatalf("moto at %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto at %s answered %s", url, resp.Status)
	}
}

func TestTableCreated(t *testing.T) {
	if err := TableCreated(fmt.Errorf("create: %w", &ddbtypes.ResourceInUseException{})); err != nil {
		t.Errorf("ResourceInUseException: %v, want nil", err)
	}
	other := errors.New("AccessDenied")
	if err := TableCreated(other); !errors.Is(err, other) {
		t.Errorf("other error became %v", err)
	}
	if TableCreated(nil) != nil {
		t.Error("nil became an error")
	}
}
