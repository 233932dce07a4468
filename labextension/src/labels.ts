/**
 * The words for an episode's and an action's states, shared by the chat,
 * the transcript and the `%codeact` output so that they always agree.
 * No DOM here: tested in node (test/labels.test.js).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { EpisodeModel, FinalState } from './model';

/**
 * The badge text of an action status.
 */
export function statusLabel(trans: TranslationBundle, status: string): string {
  switch (status) {
    case 'pending':
      return trans.__('pending');
    case 'awaiting_approval':
      return trans.__('awaiting approval');
    case 'rejected':
      return trans.__('rejected');
    case 'running':
      return trans.__('running');
    case 'ok':
      return trans.__('done');
    case 'error':
      return trans.__('error');
    case 'timeout':
      return trans.__('timeout');
    case 'interrupted':
      return trans.__('interrupted');
    case 'dead':
      return trans.__('kernel died');
    case 'restarted':
      return trans.__('kernel restarted');
    case 'skipped':
      return trans.__('skipped');
    default:
      return status;
  }
}

/**
 * How an episode ended, in words. A label per final state: a state added to
 * FinalState without one fails to compile.
 */
export function finalLabel(trans: TranslationBundle, state: string): string {
  const labels: Record<FinalState, string> = {
    solved: trans.__('Solved'),
    replied: trans.__('Replied'),
    stopped: trans.__('Stopped'),
    failed: trans.__('Failed'),
    max_turns: trans.__('Turn limit reached'),
    budget: trans.__('Time budget spent'),
    interrupted: trans.__('Interrupted'),
    stuck: trans.__('Stuck: the model repeated itself')
  };
  return (labels as Record<string, string>)[state] ?? state;
}

/**
 * Where an episode is, for its status line: `state` names the CSS class
 * (`jp-codeact-state-<state>`) and the `data-state`; `title` says more when
 * the label needs it.
 */
export interface IEpisodeState {
  state: string;
  label: string;
  title?: string;
}

/**
 * An episode's state: how it ended, else whether it waits for the user's
 * own running cell, for an approval, or runs.
 */
export function episodeState(
  trans: TranslationBundle,
  model: Pick<EpisodeModel, 'record' | 'live' | 'awaitingApproval'>
): IEpisodeState {
  const final = model.record.state;
  if (final) {
    return { state: final, label: finalLabel(trans, final) };
  }
  if (model.live.kernelBusy) {
    return {
      state: 'waiting',
      label: trans.__('waiting for your running cell'),
      title: trans.__(
        'The kernel is running a cell you started. The episode goes on when it ends, and never interrupts it.'
      )
    };
  }
  if (model.awaitingApproval) {
    return { state: 'awaiting_approval', label: trans.__('awaiting approval') };
  }
  return { state: 'running', label: trans.__('running') };
}

/**
 * The state of a listed episode (the history), from its summary.
 */
export function summaryState(
  trans: TranslationBundle,
  item: { running: boolean; state: string | null }
): IEpisodeState {
  if (item.running) {
    return { state: 'running', label: trans.__('running') };
  }
  const state = item.state ?? 'unknown';
  return { state, label: finalLabel(trans, state) };
}
