import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ItemLike, folderLabel, transcriptsToRun } from '../src/testProtocol';

test('folder labels: relative to the workspace folder, named in multi-root workspaces', () => {
  assert.equal(folderLabel('/w', '/w/a.cmdt'), '');
  assert.equal(folderLabel('/w', '/w/cmd/testdata/b.cmdt'), 'cmd/testdata');
  assert.equal(folderLabel('/w', '/w/sub/c.cmdt', 'api'), 'api/sub');
  assert.equal(folderLabel('/w', '/w/c.cmdt', 'api'), 'api');
  assert.equal(folderLabel('/w', '/elsewhere/d.cmdt'), '/elsewhere');
});

interface Item extends ItemLike {
  kids: Item[];
}

function item(id: string, parent?: Item): Item {
  const it: Item = { id, parent, kids: [], children: { forEach: (fn) => it.kids.forEach(fn) } };
  parent?.kids.push(it);
  return it;
}

test('a run covers transcripts: a command runs its transcript, a folder its transcripts, exclusions apply', () => {
  const folder = item('folder:sub');
  const a = item('a');
  const b = item('b', folder);
  const c = item('c', folder);
  const b1 = item('b#1', b);
  const all = [a, b, c];
  const ids = (xs: Item[]) => xs.map((x) => x.id);
  assert.deepEqual(ids(transcriptsToRun(all, undefined, undefined)), ['a', 'b', 'c']);
  assert.deepEqual(ids(transcriptsToRun(all, [b1], undefined)), ['b']);
  assert.deepEqual(ids(transcriptsToRun(all, [folder], undefined)), ['b', 'c']);
  assert.deepEqual(ids(transcriptsToRun(all, undefined, [c])), ['a', 'b']);
  assert.deepEqual(ids(transcriptsToRun(all, undefined, [folder])), ['a']);
  // A transcript runs as one session: excluding one of its commands does not stop it.
  assert.deepEqual(ids(transcriptsToRun(all, [b], [b1])), ['b']);
});
