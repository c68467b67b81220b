package monitor

import "testing"

func TestInFlightForHoldsTheRate(t *testing.T) {
	for _, tc := range []struct {
		rps   float64
		burst int
		want  int
	}{{2, 5, 6}, {100, 10, 60}, {0.5, 1, 2}, {1000, 10, 64}} {
		if got := InFlightFor(tc.rps, tc.burst); got != tc.want {
			t.Errorf("InFlightFor(%v, %d) = %d, want %d", tc.rps, tc.burst, got, tc.want)
		}
	}
}
