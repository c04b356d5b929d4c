package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tracesim/tracesim/analysis"
)

// DR is a disaster-recovery section: the services ranked by what their
// loss breaks (from analysis.AssessService / analysis.TestOrder), the
// order to test them in, and the impact of one service going down (the
// comparison of the baseline with the model where Down is down). Any part
// may be empty.
type DR struct {
	Title        string
	Seed         uint64
	Replications int
	Ranking      []analysis.ServiceRisk // in the order to show
	TestOrder    []string
	Down, Mode   string               // the service taken down for Impact, and how (fail, skip)
	Impact       *analysis.Comparison // nil: no impact table
}

type drView struct {
	ID, Title, Meta string
	Ranking         []riskView
	TestOrder       []string
	Down            string
	Impact          []rowView
}

type riskView struct {
	Service, Blast, SPOF string
	Affected             int
}

func drViewOf(i int, d *DR) drView {
	v := drView{ID: fmt.Sprintf("dr-%d", i+1), Title: d.Title, TestOrder: d.TestOrder, Down: d.Down}
	if v.Title == "" {
		v.Title = "Disaster recovery"
	}
	if d.Replications > 0 {
		v.Meta = fmt.Sprintf("%s per simulation, seed %d.", plural(d.Replications, "replication"), d.Seed)
	}
	for _, r := range d.Ranking {
		v.Ranking = append(v.Ranking, riskView{Service: r.Service, Blast: fmt.Sprintf("%.4f%%", 100*r.BlastRadius),
			Affected: r.Affected, SPOF: strings.Join(r.SPOF, ", ")})
	}
	if d.Impact != nil {
		v.Impact = comparisonRows(d.Impact)
		if d.Mode != "" {
			v.Down += " (" + d.Mode + ")"
		}
	}
	return v
}

// WriteDRSection writes d as an HTML <section> fragment, escaped, for a
// page that carries the report's stylesheet (as WriteDRPage's does).
func WriteDRSection(w io.Writer, d *DR) error {
	if d == nil {
		return errors.New("report: no DR section")
	}
	return execute(w, "drsection", drViewOf(0, d))
}

// WriteDRPage writes one self-contained HTML document with a section per
// DR result.
func WriteDRPage(w io.Writer, title string, sections ...*DR) error {
	if len(sections) == 0 {
		return errors.New("report: no DR sections")
	}
	v := view{Title: title}
	for i, d := range sections {
		if d == nil {
			return fmt.Errorf("report: DR section %d is missing", i+1)
		}
		v.DR = append(v.DR, drViewOf(i, d))
	}
	return execute(w, "dr", v)
}
