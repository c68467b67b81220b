package testenv

import (
	"net/http"
	"testing"
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
