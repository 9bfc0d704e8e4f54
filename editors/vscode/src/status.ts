// The status-bar item's content for the server's `cmdt/status` answer. Pure logic (no 'vscode' import).

export const STATUS_METHOD = 'cmdt/status';

export type CacheStatus = 'fresh' | 'stale' | 'never-run' | 'failed' | 'unknown';

export interface StatusResult {
  status: CacheStatus | string;
  text: string;
}

export interface StatusView {
  /** False when there is nothing to say (status unknown and no text): the item is hidden. */
  visible: boolean;
  /** Status-bar text, with a codicon. */
  text: string;
  tooltip: string;
  /** A ThemeColor id for the item's background, if any. */
  background?: 'statusBarItem.errorBackground' | 'statusBarItem.warningBackground';
}

const MAX_TEXT = 60;

const views: Record<CacheStatus, { icon: string; fallback: string; tooltip: string; background?: StatusView['background'] }> = {
  fresh: { icon: '$(pass)', fallback: 'cached ✓', tooltip: 'The cached result is still valid: no input changed since the last passing run.' },
  stale: { icon: '$(history)', fallback: 'stale', tooltip: 'An input changed since the last passing run: run the transcript again.', background: 'statusBarItem.warningBackground' },
  'never-run': { icon: '$(circle-large-outline)', fallback: 'not run yet', tooltip: 'This transcript has no cached result yet.' },
  failed: { icon: '$(error)', fallback: 'failed', tooltip: 'The last run of this transcript failed.', background: 'statusBarItem.errorBackground' },
  unknown: { icon: '$(question)', fallback: 'status unknown', tooltip: 'The cache status of this transcript is not known.' },
};

export function isCacheStatus(s: unknown): s is CacheStatus {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(views, s);
}

/** Escapes `$(` so server text cannot inject codicons. */
function escapeIcons(s: string): string {
  return s.replace(/\$\(/g, '\\$(');
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
}

/** Turns a `cmdt/status` result into what the status bar shows. Malformed results read as "unknown". */
export function formatStatus(result: unknown, fileName?: string): StatusView {
  const r = (result && typeof result === 'object' ? result : {}) as Partial<StatusResult>;
  const status: CacheStatus = isCacheStatus(r.status) ? r.status : 'unknown';
  const v = views[status];
  const raw = typeof r.text === 'string' ? oneLine(r.text) : '';
  const text = raw === '' ? v.fallback : raw;
  const label = `${v.icon} cmdt: ${escapeIcons(truncate(text, MAX_TEXT))}`;
  const tooltip = [fileName ? `${fileName}: ${text}` : text, v.tooltip, 'Click to run the transcript.'].join('\n');
  return { visible: status !== 'unknown' || raw !== '', text: label, tooltip, background: v.background };
}

/** JSON-RPC's MethodNotFound: the server does not implement cmdt/status (then the item is hidden). */
export const METHOD_NOT_FOUND = -32601;

export function isMethodNotFound(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === METHOD_NOT_FOUND;
}
