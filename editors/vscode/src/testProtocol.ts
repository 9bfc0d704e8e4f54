// The server's test capability (docs/lsp.md, "Tests") and the pure logic around it: no `vscode` import, so the
// unit tests run under plain Node.
import * as path from 'node:path';

export const TEST_TREE_METHOD = 'cmdt/testTree';
export const RUN_TEST_METHOD = 'cmdt/runTest';
export const WATCH_METHOD = 'cmdt/watch';
export const STALE_METHOD = 'cmdt/stale';

export interface TestTranscript {
  uri: string;
  commands: { line: number; endLine: number; command: string }[];
  errors?: { line: number; message: string }[];
}

export interface RunTestResult {
  uri: string;
  status: string; // passed, failed, cached, cancelled, updated, unchanged, error
  text: string;
  cached: boolean;
  durationMs: number;
  reasons?: string[];
  error?: string;
  commands?: {
    line: number;
    endLine: number;
    status: string;
    durationMs: number;
    message?: string;
    expected?: string;
    actual?: string;
  }[];
}

export interface WatchResult {
  watching: boolean;
  directories: number;
  stale?: { uri: string; reasons: string[] }[];
}

export interface StaleParams {
  round: number;
  changed: string[];
  stale: { uri: string; reasons: string[] }[];
  removed?: string[];
}

/**
 * The group a transcript is listed under: its directory relative to the workspace folder ("" for the folder
 * itself), prefixed with the folder's name in a multi-root workspace.
 */
export function folderLabel(workspaceFolder: string, file: string, folderName?: string): string {
  let rel = path.relative(workspaceFolder, path.dirname(file)).split(path.sep).join('/');
  if (rel.startsWith('..')) {
    rel = path.dirname(file);
  }
  if (folderName) {
    return rel ? `${folderName}/${rel}` : folderName;
  }
  return rel;
}

/** The minimal shape of a test item the selection logic needs. */
export interface ItemLike {
  id: string;
  parent?: ItemLike;
  children: { forEach(fn: (item: ItemLike) => void): void };
}

/**
 * The transcripts a run request covers: an included command runs its transcript, an included folder its
 * transcripts; excluded transcripts are left out. Command-level exclusion is not possible (a transcript runs as
 * one session), so an excluded command does not stop its transcript.
 */
export function transcriptsToRun<T extends ItemLike>(all: T[], include: readonly ItemLike[] | undefined, exclude: readonly ItemLike[] | undefined): T[] {
  const isTranscript = new Set(all.map((t) => t.id));
  const picked = new Set<string>();
  const add = (item: ItemLike) => {
    if (isTranscript.has(item.id)) {
      picked.add(item.id);
    } else if (item.parent && isTranscript.has(item.parent.id)) {
      picked.add(item.parent.id);
    } else {
      item.children.forEach(add);
    }
  };
  if (include) {
    include.forEach(add);
  } else {
    all.forEach(add);
  }
  for (const x of exclude ?? []) {
    if (isTranscript.has(x.id)) {
      picked.delete(x.id);
    } else if (!x.parent || !isTranscript.has(x.parent.id)) {
      x.children.forEach((c) => picked.delete(c.id));
    }
  }
  return all.filter((t) => picked.has(t.id));
}
