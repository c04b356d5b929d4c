package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tracesim/tracesim/analysis"
)

// writeReportJSON writes rep byte for byte as cmdutil.WriteJSON would, but
// streams the two arrays that grow with the number of spans (the calling
// context tree's nodes and the Gantt chart's rows) element by element.
// encoding/json builds a whole document in memory, twice with indentation:
// for a million-span trace that is more than a gigabyte.
func writeReportJSON(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	// Everything but the two big views first. When they follow, the
	// object is left open (its closing "\n}" cut) and continued.
	head := *rep
	head.CCT, head.Gantt = nil, nil
	b, err := marshalIndented(&head, "")
	if err != nil {
		return err
	}
	if rep.CCT != nil || rep.Gantt != nil {
		b = bytes.TrimSuffix(b, []byte("\n}"))
	}
	bw.Write(b)
	if rep.CCT != nil {
		cct := *rep.CCT
		cct.Nodes = []analysis.CCTNode{}
		if err := streamField(bw, "cct", &cct, "nodes", len(rep.CCT.Nodes), func(i int) any { return &rep.CCT.Nodes[i] }); err != nil {
			return err
		}
	}
	if rep.Gantt != nil {
		g := *rep.Gantt
		g.Rows = []analysis.GanttRow{}
		if err := streamField(bw, "gantt", &g, "rows", len(rep.Gantt.Rows), func(i int) any { return &rep.Gantt.Rows[i] }); err != nil {
			return err
		}
	}
	if rep.CCT != nil || rep.Gantt != nil {
		bw.WriteString("\n}")
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

func marshalIndented(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// streamField writes `,\n  "name": ` and obj, whose last field, arrName,
// was emptied, with that array's n elements (elem(i)) streamed into it.
func streamField(bw *bufio.Writer, name string, obj any, arrName string, n int, elem func(int) any) error {
	const prefix = "  "
	fmt.Fprintf(bw, ",\n%s%q: ", prefix, name)
	b, err := marshalIndented(obj, prefix)
	if err != nil {
		return err
	}
	tail := []byte(fmt.Sprintf("%q: []\n%s}", arrName, prefix))
	if !bytes.HasSuffix(b, tail) {
		return fmt.Errorf("encoding JSON: %q is not the last field of %q", arrName, name)
	}
	if n == 0 {
		_, err := bw.Write(b)
		return err
	}
	bw.Write(b[:len(b)-len("]\n"+prefix+"}")])
	inner := prefix + "    "
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n" + inner)
		eb, err := marshalIndented(elem(i), inner)
		if err != nil {
			return err
		}
		bw.Write(eb)
	}
	_, err = bw.WriteString("\n" + prefix + "  ]\n" + prefix + "}")
	return err
}
