package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The AC record is a build.bazel.remote.execution.v2.ActionResult in
// protobuf wire format, holding one OutputFile that names the manifest's
// CAS digest:
//
//	ActionResult { output_files (2): OutputFile {
//	    path (1): "cmdt-manifest"
//	    digest (2): Digest { hash (1): "<sha256 hex>", size_bytes (2): <n> } } }
//
// Why a real ActionResult instead of, say, JSON: servers that validate AC
// entries (bazel-remote does by default) accept it as is, and check that
// the blob it names exists. It is written and read by hand (a few dozen
// lines) rather than with generated code, so the module takes no protobuf
// dependency for three fields.
const acOutputPath = "cmdt-manifest"

// Protobuf field numbers and wire types used by the record.
const (
	fieldOutputFiles  = 2 // ActionResult.output_files
	fieldPath         = 1 // OutputFile.path
	fieldDigest       = 2 // OutputFile.digest
	fieldDigestHash   = 1 // Digest.hash
	fieldDigestSize   = 2 // Digest.size_bytes
	wireVarint        = 0
	wireFixed64       = 1
	wireLengthDelimit = 2
	wireFixed32       = 5
)

// encodeACRecord returns the record naming the CAS blob digest of size
// bytes.
func encodeACRecord(digest string, size int64) []byte {
	var d []byte
	d = appendBytesField(d, fieldDigestHash, []byte(digest))
	d = binary.AppendUvarint(d, fieldDigestSize<<3|wireVarint)
	d = binary.AppendUvarint(d, uint64(size))
	var of []byte
	of = appendBytesField(of, fieldPath, []byte(acOutputPath))
	of = appendBytesField(of, fieldDigest, d)
	return appendBytesField(nil, fieldOutputFiles, of)
}

func appendBytesField(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|wireLengthDelimit)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decodeACRecord checks a record's shape and returns the digest and size
// it names. Unknown fields are skipped (a server may add metadata), but
// the message must parse completely and hold exactly one "cmdt-manifest"
// output with a well-formed digest.
func decodeACRecord(rec []byte) (digest string, size int64, err error) {
	found := 0
	err = walkFields(rec, func(field, wire int, v []byte, _ uint64) error {
		if field != fieldOutputFiles || wire != wireLengthDelimit {
			return nil
		}
		path, dg, sz, ok, err := decodeOutputFile(v)
		if err != nil {
			return fmt.Errorf("output file: %w", err)
		}
		if path != acOutputPath {
			return nil
		}
		if !ok {
			return errors.New("manifest output has no digest")
		}
		found++
		digest, size = dg, sz
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("malformed AC record: %w", err)
	}
	switch {
	case found == 0:
		return "", 0, errors.New("malformed AC record: no cmdt manifest in it")
	case found > 1:
		return "", 0, errors.New("malformed AC record: more than one cmdt manifest")
	case !validKey(digest):
		return "", 0, errors.New("malformed AC record: digest is not a lowercase hex SHA-256")
	case size < 0 || size > maxBlobSize:
		return "", 0, fmt.Errorf("malformed AC record: size %d out of range", size)
	}
	return digest, size, nil
}

func decodeOutputFile(b []byte) (path, digest string, size int64, hasDigest bool, err error) {
	err = walkFields(b, func(field, wire int, v []byte, _ uint64) error {
		switch {
		case field == fieldPath && wire == wireLengthDelimit:
			path = string(v)
		case field == fieldDigest && wire == wireLengthDelimit:
			hasDigest = true
			return walkFields(v, func(field, wire int, v []byte, n uint64) error {
				switch {
				case field == fieldDigestHash && wire == wireLengthDelimit:
					digest = string(v)
				case field == fieldDigestSize && wire == wireVarint:
					size = int64(n)
				}
				return nil
			})
		}
		return nil
	})
	return path, digest, size, hasDigest, err
}

// walkFields calls f for each field of a protobuf message: v holds a
// length-delimited field's bytes, n a varint's value.
func walkFields(b []byte, f func(field, wire int, v []byte, n uint64) error) error {
	for len(b) > 0 {
		tag, k := binary.Uvarint(b)
		if k <= 0 {
			return errors.New("bad tag")
		}
		b = b[k:]
		field, wire := int(tag>>3), int(tag&7)
		if field == 0 {
			return errors.New("field number 0")
		}
		var v []byte
		var n uint64
		switch wire {
		case wireVarint:
			n, k = binary.Uvarint(b)
			if k <= 0 {
				return errors.New("bad varint")
			}
			b = b[k:]
		case wireFixed64:
			if len(b) < 8 {
				return errors.New("truncated fixed64")
			}
			b = b[8:]
		case wireFixed32:
			if len(b) < 4 {
				return errors.New("truncated fixed32")
			}
			b = b[4:]
		case wireLengthDelimit:
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return errors.New("truncated length-delimited field")
			}
			v = b[k : k+int(l)]
			b = b[k+int(l):]
		default:
			return fmt.Errorf("unsupported wire type %d", wire)
		}
		if err := f(field, wire, v, n); err != nil {
			return err
		}
	}
	return nil
}
