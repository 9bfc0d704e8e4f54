package main

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
)

// JUnit XML report: one test case per transcript, and one for a problem
// that stopped the whole check, so that CI always finds a report that says
// what went wrong.

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

func writeJUnit(path string, outcomes []*fileOutcome, s summary, fatal error) error {
	suite := junitSuite{Name: "transcript", Failures: s.failed, Errors: s.errors, Time: fmt.Sprintf("%.3f", s.elapsed.Seconds())}
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		suite.Tests++
		c := junitCase{Name: o.path, Classname: "transcript", File: o.path, Time: fmt.Sprintf("%.3f", o.duration.Seconds())}
		switch o.status {
		case "fail":
			var text strings.Builder
			n := 0
			for _, cr := range o.result.Failures() {
				if n == 0 {
					c.Line = cr.Block.Command.Num
				}
				n++
				text.WriteString(renderFailure(o.path, cr.Failure, style{}))
			}
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d command(s) failed", n), Type: "mismatch", Text: text.String()}
		case "error":
			ps := problemsOf(o.err)
			c.Line = ps[0].Line
			c.Error = &junitFailure{Message: firstLine(o.err.Error()), Type: "error", Text: o.err.Error()}
		default:
			if o.cached {
				c.SystemOut = "cached"
			}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if fatal != nil {
		suite.Tests++
		suite.Errors++
		suite.Cases = append(suite.Cases, junitCase{Name: "transcript check", Classname: "transcript", Time: "0.000",
			Error: &junitFailure{Message: firstLine(fatal.Error()), Type: "error", Text: fatal.Error()}})
	}
	data, err := xml.MarshalIndent(suite, "", "  ")
	if err != nil {
		return err
	}
	_, err = engine.WriteFileAtomic(path, append([]byte(xml.Header), append(data, '\n')...))
	return err
}
