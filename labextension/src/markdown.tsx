/**
 * Markdown rendered by JupyterLab's own renderer (the notebook's: same code
 * highlighting, same sanitizer), as a React component.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import * as React from 'react';

import { NoRemoteSanitizer } from './noremote';

const MARKDOWN = 'text/markdown';

/**
 * Renders one source at a time; a source that arrives while the previous
 * one renders replaces any other waiting one, so a fast stream costs at most
 * one render in flight and one waiting.
 */
class RenderQueue {
  constructor(renderer: IRenderMime.IRenderer) {
    this.renderer = renderer;
  }

  render(source: string): void {
    this._next = source;
    if (!this._busy) {
      void this._drain();
    }
  }

  private async _drain(): Promise<void> {
    this._busy = true;
    try {
      while (this._next !== null && !this.renderer.isDisposed) {
        const source = this._next;
        this._next = null;
        // Model text is untrusted: the renderer sanitizes it.
        const model = new MimeModel({
          data: { [MARKDOWN]: source },
          trusted: false
        });
        try {
          await this.renderer.renderModel(model);
        } catch (reason) {
          console.warn('codeact-lab: markdown rendering failed', reason);
        }
      }
    } finally {
      this._busy = false;
    }
  }

  readonly renderer: IRenderMime.IRenderer;
  private _next: string | null = null;
  private _busy = false;
}

export interface IMarkdownProps {
  source: string;
  rendermime: IRenderMimeRegistry;
  className?: string;
}

export function Markdown(props: IMarkdownProps): JSX.Element {
  const { source, rendermime, className } = props;
  const host = React.useRef<HTMLDivElement>(null);
  const queue = React.useRef<RenderQueue | null>(null);

  React.useEffect(() => {
    // Model text loads nothing remote (see noremote.ts).
    const safe = rendermime.clone({
      sanitizer: new NoRemoteSanitizer(rendermime.sanitizer)
    });
    const renderer = safe.createRenderer(MARKDOWN);
    queue.current = new RenderQueue(renderer);
    host.current?.appendChild(renderer.node);
    return () => {
      queue.current = null;
      renderer.dispose();
    };
  }, [rendermime]);

  React.useEffect(() => {
    queue.current?.render(source);
  }, [source, rendermime]);

  return (
    <div
      ref={host}
      className={`jp-codeact-markdown${className ? ' ' + className : ''}`}
    />
  );
}

/**
 * A fenced code block for `Markdown`, with a fence longer than any run of
 * backticks in the code.
 */
export function codeFence(code: string, language = 'python'): string {
  const longest = Math.max(
    2,
    ...(code.match(/`+/g) ?? []).map(run => run.length)
  );
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${code}\n${fence}`;
}
