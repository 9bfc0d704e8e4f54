package cache

import (
	"hash/maphash"
	"sort"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
)

// In engine.EnvInherit mode a transcript's programs see the whole
// inherited environment (minus session-volatile names), and any of them may
// read any variable (`sh -c 'echo $BAR'`) where the engine cannot see it.
// So the manifest keys the result on all of them: one record named
// envSetName whose Hash covers every variable and whose Matches hold each
// name with a short hash of its value (for reasons; values are never
// stored, and with CMDT_CACHE_ENV_KEY the hashes are keyed).

// envSetName names the record of the whole inherited environment.
const envSetName = "*"

// envSetDigest is the record of one environment.
type envSetDigest struct {
	hash string
	vars []MatchRecord // sorted by name
}

var envSeed = maphash.MakeSeed()

// envSet returns the digest of env, memoised: a CLI run looks up every
// transcript in one environment.
func (c *Cache) envSet(env []string) envSetDigest {
	var h maphash.Hash
	h.SetSeed(envSeed)
	for _, kv := range env {
		h.WriteString(kv)
		h.WriteByte(0)
	}
	fp := h.Sum64()
	if d, ok := c.envSets.Load(fp); ok {
		return d.(envSetDigest)
	}
	keyed := engine.KeyedEnv(env)
	d := envSetDigest{vars: make([]MatchRecord, len(keyed))}
	for i, kv := range keyed {
		name, value, _ := strings.Cut(kv, "=")
		d.vars[i] = MatchRecord{Path: name, Hash: hashEnv(c.envKey, name, value, true)[:16]}
	}
	d.hash = setHash(d.vars)
	c.envSets.Store(fp, d)
	return d
}

// envSetRecord is the manifest record of env.
func (c *Cache) envSetRecord(env []string) InputRecord {
	d := c.envSet(env)
	return InputRecord{Kind: engine.InputEnv, Origin: engine.OriginEnvLookup, Name: envSetName, Hash: d.hash, Matches: d.vars}
}

// envSetChanges names the inherited variables that differ from the record.
func (ev *evaluator) envSetChanges(in *InputRecord, rs *reasons) {
	d := ev.c.envSet(ev.t.Env)
	if d.hash == in.Hash {
		return
	}
	was := make(map[string]string, len(in.Matches))
	for _, m := range in.Matches {
		was[m.Path] = m.Hash
	}
	var changed []string
	is := make(map[string]bool, len(d.vars))
	for _, v := range d.vars {
		is[v.Path] = true
		switch old, ok := was[v.Path]; {
		case !ok:
			changed = append(changed, "env "+v.Path+" set")
		case old != v.Hash:
			changed = append(changed, "env "+v.Path+" changed")
		}
	}
	for _, m := range in.Matches {
		if !is[m.Path] {
			changed = append(changed, "env "+m.Path+" unset")
		}
	}
	sort.Strings(changed)
	if len(changed) == 0 {
		changed = []string{"inherited environment changed"}
	}
	for _, r := range changed {
		rs.add(r)
	}
}
