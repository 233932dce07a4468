/**
 * What a `%codeact` output shows, as a pure state machine: the output
 * (magic.tsx) turns what happens (the notebook found, the server's answer, a
 * failure) into an event, and shows the phase `nextPhase` returns. No DOM, no
 * JupyterLab: tested in node (test/magicphase.test.js).
 *
 * `M` is the episode shown (an EpisodeModel in the page).
 */

export type MagicPhase<M> =
  /** Looking for the notebook the output is in (then starting or finding). */
  | { kind: 'locating' }
  /** Starting the episode (or asking again, after a wait). */
  | { kind: 'starting' }
  /** The kernel runs another episode: waiting for it to end. */
  | { kind: 'queued'; message: string }
  /** Not allowed to start: asking the server whether it has the episode. */
  | { kind: 'finding' }
  | { kind: 'episode'; model: M }
  /** Not started, and the server has none: waits for "Run it here". */
  | {
      kind: 'held';
      why: 'stale' | 'untrusted';
      /** Seconds since the request was made (never negative). */
      age: number;
      /** What "Run it here" would use: the user's settings, described. */
      runsWith: string | null;
    }
  | { kind: 'error'; message: string; retry: boolean };

export type MagicEvent<M> =
  /** The display's data is no request. */
  | { type: 'invalid'; message: string }
  /** A request to show (rendered, retried, the notebook trusted since). */
  | { type: 'run' }
  /** No open notebook holds the output. */
  | { type: 'unplaced'; message: string }
  /** The request may not start here: ask the server. */
  | { type: 'find' }
  /** Starting the episode (allowed to, or "Run it here"). */
  | { type: 'start' }
  /** The server answered 409: the kernel runs another episode. */
  | { type: 'kernelBusy'; message: string }
  /** The request's episode, started or found. */
  | { type: 'episode'; model: M }
  /** The server has no episode for a request that may not start. */
  | {
      type: 'notFound';
      trusted: boolean;
      age: number;
      runsWith: string | null;
    }
  /** A request failed; `retry`: "Try again" may help. */
  | { type: 'failed'; message: string; retry: boolean };

export const INITIAL_PHASE: MagicPhase<never> = { kind: 'locating' };

/**
 * The phase after an event.
 */
export function nextPhase<M>(
  phase: MagicPhase<M>,
  event: MagicEvent<M>
): MagicPhase<M> {
  switch (event.type) {
    case 'invalid':
    case 'unplaced':
      // Nothing to try again: the data or the place will not change.
      return { kind: 'error', message: event.message, retry: false };
    case 'run':
      return { kind: 'locating' };
    case 'find':
      return { kind: 'finding' };
    case 'start':
      return { kind: 'starting' };
    case 'kernelBusy':
      return { kind: 'queued', message: event.message };
    case 'episode':
      return { kind: 'episode', model: event.model };
    case 'notFound':
      return {
        kind: 'held',
        // A trusted notebook is held only for being old.
        why: event.trusted ? 'stale' : 'untrusted',
        age: Math.max(0, event.age),
        runsWith: event.runsWith
      };
    case 'failed':
      return { kind: 'error', message: event.message, retry: event.retry };
    default:
      return phase;
  }
}

/**
 * The same request rendered again: run it again only if it was held and the
 * user trusted the notebook since (else it is shown already).
 */
export function rerunsOnTrust<M>(
  phase: MagicPhase<M>,
  wasTrusted: boolean,
  trusted: boolean
): boolean {
  return phase.kind === 'held' && trusted && !wasTrusted;
}

/**
 * Whether a failed start waits for the kernel's episode to end and tries
 * again: only a 409 (the kernel is busy), and not once the user cancelled.
 */
export function waitsForKernel(
  status: number | null,
  cancelled: boolean
): boolean {
  return status === 409 && !cancelled;
}

/** The episode a phase shows, if any. */
export function shownEpisode<M>(phase: MagicPhase<M>): M | null {
  return phase.kind === 'episode' ? phase.model : null;
}
