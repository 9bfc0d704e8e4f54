package lsp

import (
	"context"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
)

// maxDefinitions bounds the locations returned for a glob.
const maxDefinitions = 50

// definition jumps from a reference to the file it names: "1<"/"2<"
// files, declared files and depfiles, glob matches, and command arguments
// that name existing files.
func (s *Server) definition(ctx context.Context, p *protocol.DefinitionParams) ([]protocol.Location, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	if snap.Kind == DocOther {
		return nil, nil
	}
	pos := snap.Mapper.PosOf(p.Position)
	a := s.analysis(snap)
	var paths []string
	if f := a.fileAt(pos); f != nil && f.Exists {
		paths = append(paths, f.Path)
	} else if di := a.depAt(pos); di != nil && di.Known && len(di.Inputs) > 0 {
		in := di.Inputs[0]
		switch in.Kind {
		case engine.InputFile, engine.InputDepfile:
			if in.Exists {
				paths = append(paths, in.Path)
			}
		case engine.InputExe:
			if in.Exists && in.Path != "" {
				paths = append(paths, in.Path)
			}
		case engine.InputGlob:
			paths = append(paths, in.Matches...)
		}
	} else if _, c, arg := a.argAt(pos); arg != nil {
		if path := argPath(c, arg); path != "" && s.ws.isFile(path) {
			paths = append(paths, path)
		}
	}
	if len(paths) > maxDefinitions {
		paths = paths[:maxDefinitions]
	}
	locs := make([]protocol.Location, 0, len(paths))
	for _, path := range paths {
		locs = append(locs, protocol.Location{URI: pathURI(path)})
	}
	return locs, nil
}
