// Which files a transcript names as depfiles (`% depfile PATH`, `% dep < PATH`), so that such a file opened in
// the editor gets the cmdt-deps language even when its name is not *.cmdtdeps / cmdt.deps (the server treats it
// as a depfile either way). Pure logic (no 'vscode' import).
import * as path from 'path';

/** Splits a directive payload into words: '...' and "..." quoting, backslash escapes, $VAR / ${VAR} expansion. */
export function shellWords(s: string, env: Record<string, string | undefined>): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const expand = (): void => {
    // at s[i] === '$'
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(s.slice(i));
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(i));
    const m = braced ?? plain;
    if (m) {
      cur += env[m[1]] ?? '';
      i += m[0].length;
    } else {
      cur += '$';
      i++;
    }
    inWord = true;
  };
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') {
      if (inWord) {
        words.push(cur);
        cur = '';
        inWord = false;
      }
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      cur += end < 0 ? s.slice(i + 1) : s.slice(i + 1, end);
      i = end < 0 ? s.length : end + 1;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '\\"$`'.includes(s[i + 1])) {
          cur += s[i + 1];
          i += 2;
        } else if (s[i] === '$') {
          expand();
        } else {
          cur += s[i++];
        }
      }
      i++;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[i + 1];
      i += 2;
      inWord = true;
    } else if (c === '$') {
      expand();
    } else {
      cur += c;
      i++;
      inWord = true;
    }
  }
  if (inWord) {
    words.push(cur);
  }
  return words;
}

/**
 * Absolute paths of the depfiles a transcript names. Relative paths are taken from the transcript's directory
 * (a `cd` earlier in the transcript is not followed: the server knows better, this is only for colouring).
 */
export function depfilePaths(text: string, transcriptPath: string, env: Record<string, string | undefined>): string[] {
  const dir = path.dirname(transcriptPath);
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    let payload: string | undefined;
    let m = /^% depfile (.*)$/.exec(line);
    if (m) {
      payload = m[1];
    } else if ((m = /^% dep +< *(.*)$/.exec(line))) {
      payload = m[1];
    }
    if (payload === undefined) {
      continue;
    }
    for (const w of shellWords(payload, env)) {
      if (w) {
        out.push(path.resolve(dir, w));
      }
    }
  }
  return out;
}
