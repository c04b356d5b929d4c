package testbed

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracesim/tracesim/scenarios"
)

// batchCost is a batch endpoint of the callee of a batch change. The
// change (through scenarios.Apply, as the prediction does) replaces the
// caller's loop of N calls by ⌈N/max_batch⌉ calls to operations named
// "op#batchK", K items each, served by the callee's instances and
// workers. For real, each of those requests carries its K items in its
// body, one per line, and the endpoint costs fixed + per_item × the items
// it counts in the request. (A speedup listed after the batch change
// scales the predicted batch operation but not this cost.)
type batchCost struct {
	items          int // items each request to this endpoint carries
	fixed, perItem time.Duration
}

// batchOf returns the batch cost of operation name if a batch change made
// it ("<calls>#batch<K>"), nil otherwise.
func batchOf(name string, batches []*scenarios.Batch) *batchCost {
	for _, b := range batches {
		rest, ok := strings.CutPrefix(name, b.Calls+"#batch")
		if !ok {
			continue
		}
		k, err := strconv.Atoi(rest)
		if err != nil || k < 1 || k > b.MaxBatch {
			continue
		}
		return &batchCost{items: k, fixed: time.Duration(b.Fixed), perItem: time.Duration(b.PerItem)}
	}
	return nil
}

// request returns the body of one batch request: its items, one a line.
func (b *batchCost) request() io.Reader {
	var sb strings.Builder
	for i := range b.items {
		sb.WriteString("item-")
		sb.WriteString(strconv.Itoa(i))
		sb.WriteByte('\n')
	}
	return strings.NewReader(sb.String())
}

// runBatch serves a batch request: it counts the items in the body and
// works fixed + per_item × items.
func (s *System) runBatch(ctx context.Context, r *http.Request, o *operation) error {
	items := 0
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			items++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read batch items: %w", err)
	}
	return s.sleep(ctx, o.batch.fixed+time.Duration(items)*o.batch.perItem)
}
