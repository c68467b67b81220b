package main

import "fmt"

// us-east-1 list prices as of 2025, free tiers ignored.
const (
	lambdaPerGBSecond   = 0.0000133334 // arm64
	lambdaPerRequest    = 0.20 / 1e6
	lambdaMemoryGB      = 128.0 / 1024 // template.yaml's MemorySize
	dynamoPerWriteUnit  = 0.625 / 1e6  // on-demand write request unit
	dynamoPerReadUnit   = 0.125 / 1e6  // on-demand read request unit
	snsPerPublish       = 0.50 / 1e6   // after the first million a month
	snsFreePublishes    = 1e6
	hoursPerMonth       = 730
	deployedConnectRPS  = 2.0 // CONNECT_RPS's default, the rate durations are estimated at
	deployedLookupRPS   = 1.0 // the CloudTrail reader's pace
	connectQuotaPerHour = 2 * 3600
)

// hourly is one mode's hour, estimated for the deployed function at some number of numbers.
type hourly struct {
	numbers    int
	describes  float64 // DescribePhoneNumber calls
	seconds    float64 // Lambda duration, all runs
	writes     float64 // records written
	readUnits  float64 // DynamoDB
	writeUnits float64
	publishes  float64
	requests   float64 // invocations
	share      float64 // of the work wanted that the time allowed (1: all of it)
}

// estimate is the hour of h for n numbers. A run's duration is its measured CPU time (the
// bench process's, test servers included, so an upper bound) plus its Connect calls at the
// deployed CONNECT_RPS plus its CloudTrail lookups at the reader's 1/s: what the run would
// wait for in AWS. The parts that grow with the numbers (CPU, Connect calls, records read and
// written, publishes) are scaled by n/sweepNumbers; lookups and the cursor item are per run.
// When the hour's work needs more than every run at its timeout, duration is capped there
// and describes and writes shrink in proportion (share < 1): the sweep then takes longer
// than SWEEP_EVERY.
func estimate(h hourResult, n int) hourly {
	k := float64(n) / sweepNumbers
	var fixed, variable float64
	for _, s := range h.runs {
		fixed += float64(s.lookups) / deployedLookupRPS
		variable += s.cpu.Seconds() + float64(s.describes+s.lists)/deployedConnectRPS
	}
	limit := float64(len(h.runs)) * lambdaTimeout.Seconds()
	e := hourly{numbers: n, requests: float64(len(h.runs)), share: 1}
	e.seconds = fixed + variable*k
	if e.seconds > limit {
		e.share = (limit - fixed) / (variable * k)
		e.seconds = limit
	}
	t := h.totals()
	e.describes = float64(t.describes) * k * e.share
	e.writes = float64(t.store.Writes) * k * e.share
	e.writeUnits = float64(t.store.WriteUnits-int64(t.store.CursorWrites))*k*e.share + float64(t.store.CursorWrites)
	e.readUnits = float64(t.store.ReadUnits-int64(t.store.CursorReads))*k + float64(t.store.CursorReads)
	e.publishes = float64(h.published) * k
	return e
}

// monthCost is the dollars a month of each service.
type monthCost struct{ lambda, dynamo, sns float64 }

func (c monthCost) total() float64 { return c.lambda + c.dynamo + c.sns }

// cost prices a month of e's hours.
func cost(e hourly) monthCost {
	return monthCost{
		lambda: hoursPerMonth * (e.seconds*lambdaMemoryGB*lambdaPerGBSecond + e.requests*lambdaPerRequest),
		dynamo: hoursPerMonth * (e.writeUnits*dynamoPerWriteUnit + e.readUnits*dynamoPerReadUnit),
		sns:    max(0, hoursPerMonth*e.publishes-snsFreePublishes) * snsPerPublish,
	}
}

// Targets of the sweep part.
const maxDescribesPerNumber = 1.1

func addSweep(t *table, hs []hourResult) {
	for _, h := range hs {
		tot, e := h.totals(), estimate(h, sweepNumbers)
		p := "sweep: " + h.mode.name
		per := float64(tot.describes) / sweepNumbers
		target, v := fmt.Sprintf("<= %.1f", maxDescribesPerNumber), judge(per <= maxDescribesPerNumber)
		if h.mode.everyRun {
			target, v = "", info
		}
		t.add(p, fmt.Sprintf("describes per number per hour (%d numbers, %d runs)", sweepNumbers, len(h.runs)),
			fmt.Sprintf("%.2f (%d)", per, tot.describes), target, v)
		t.add(p, "share of DescribePhoneNumber's default quota (7,200/h)",
			fmt.Sprintf("%.1f%%", 100*float64(tot.describes)/connectQuotaPerHour), "", info)
		t.add(p, "state writes per hour (records saved; cursor writes)",
			fmt.Sprintf("%d; %d", tot.store.Writes, tot.store.CursorWrites), "", info)
		t.add(p, "CloudTrail lookups per hour (throttled)", fmt.Sprintf("%d (%d)", tot.lookups, tot.lookupsThrottled), "", info)
		gbs := fmt.Sprintf("%.1f GB-s (runs %.1f s on average)", e.seconds*lambdaMemoryGB, e.seconds/e.requests)
		if e.share < 1 {
			gbs += fmt.Sprintf(", every run at its %s timeout, %.0f%% of the describes wanted", lambdaTimeout, 100*e.share)
		}
		t.add(p, "Lambda GB-seconds per hour at 128 MB (estimate, see note)", gbs, "", info)
		want, limit := "1", 1
		if h.mode.env["CLOUDTRAIL"] == "false" && !h.mode.everyRun {
			want, limit = fmt.Sprintf("<= %d (SWEEP_EVERY)", sweepRuns), sweepRuns
		}
		t.add(p, "runs until a failed UpdatePhoneNumber is announced", runsText(h.announce.runs), want,
			judge(h.announce.runs > 0 && h.announce.runs <= limit))
	}
	t.add("sweep", "note", fmt.Sprintf("run duration = CPU time of the run + Connect calls / %g/s (CONNECT_RPS) + lookups / %g/s, capped at %s",
		deployedConnectRPS, deployedLookupRPS, lambdaTimeout), "", info)
}

// addCost prints a month's cost for 100, 1,000 and 10,000 numbers in each mode.
func addCost(t *table, hs []hourResult) {
	for _, h := range hs {
		for _, n := range []int{100, 1000, 10000} {
			e := estimate(h, n)
			c := cost(e)
			v := fmt.Sprintf("$%.2f = Lambda $%.2f + DynamoDB $%.2f + SNS $%.2f", c.total(), c.lambda, c.dynamo, c.sns)
			if e.share < 1 {
				v += fmt.Sprintf(" (timeout-bound: %.0f%% of the describes wanted fit)", 100*e.share)
			}
			t.add("cost: "+h.mode.name, fmt.Sprintf("%d numbers, per month", n), v, "", info)
		}
	}
	t.add("cost", "note", fmt.Sprintf("%d h x the hour above scaled to N; arm64 $%g/GB-s, $0.20/M requests; "+
		"DynamoDB $0.625/M WRU (2 per KB transactional), $0.125/M RRU (Scan: 1 per 4 KB consistent); SNS $0.50/M after 1M",
		hoursPerMonth, lambdaPerGBSecond), "", info)
}
