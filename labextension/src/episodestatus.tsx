/**
 * The pieces of an episode's status that the chat and the `%codeact` output
 * both show: the status line (turns, tokens, state), the state badge, Stop,
 * "Remove cells" and the dismissible error and notice. One rendering each;
 * `place` only picks the `data-testid`s ("codeact-…" in the chat,
 * "codeact-magic-…" in an output) and the classes each place styles.
 */
import { stopIcon } from '@jupyterlab/ui-components';

import * as React from 'react';

import { IEpisodeState, episodeState } from './labels';

import { EpisodeModel } from './model';

import { useTrans } from './trans';

/** Where a piece is shown: the chat sidebar or a `%codeact` output. */
export type Place = 'chat' | 'magic';

/** "codeact-stop" in the chat, "codeact-magic-stop" in an output. */
export function testId(place: Place, name: string): string {
  return place === 'chat' ? `codeact-${name}` : `codeact-magic-${name}`;
}

/**
 * A state in its colour (`jp-codeact-state-<state>`).
 */
export function StateBadge(props: {
  state: IEpisodeState;
  testid?: string;
}): JSX.Element {
  const { state, testid } = props;
  return (
    <span
      className={`jp-codeact-state jp-codeact-state-${state.state}`}
      data-testid={testid}
      data-state={testid ? state.state : undefined}
      title={state.title}
    >
      {state.label}
    </span>
  );
}

/**
 * Turns, tokens and state of an episode; the caller's container lays them out.
 */
export function EpisodeStatus(props: {
  model: EpisodeModel;
  place: Place;
  /** The episode's stream is reconnecting (said while it runs). */
  reconnecting?: boolean;
}): JSX.Element {
  const { model, place, reconnecting } = props;
  const trans = useTrans();
  const usage = model.record.usage;
  return (
    <>
      <span data-testid={testId(place, 'turns')}>
        {trans._n('%1 turn', '%1 turns', model.turns)}
      </span>
      <span
        data-testid={testId(place, 'tokens')}
        title={trans.__(
          'prompt %1 · completion %2',
          usage.prompt_tokens,
          usage.completion_tokens
        )}
      >
        {trans.__('%1 tokens', usage.total_tokens.toLocaleString())}
      </span>
      <StateBadge
        state={episodeState(trans, model)}
        testid={testId(place, 'state')}
      />
      {model.running && reconnecting ? (
        <span className="jp-codeact-dim">{trans.__('reconnecting…')}</span>
      ) : null}
    </>
  );
}

/**
 * Stop: cancels the model's reply or interrupts the running action.
 */
export function StopButton(props: {
  place: Place;
  onClick: () => void;
  disabled?: boolean;
}): JSX.Element {
  const trans = useTrans();
  return (
    <button
      className="jp-Button jp-mod-styled jp-mod-warn jp-codeact-stop"
      data-testid={testId(props.place, 'stop')}
      disabled={props.disabled}
      onClick={props.onClick}
      title={trans.__(
        "Cancel the model's reply or interrupt the running action"
      )}
    >
      <stopIcon.react tag="span" className="jp-codeact-stop-icon" />
      {trans.__('Stop')}
    </button>
  );
}

/**
 * "Remove cells": the episode's cells out of the notebook, in one undoable step.
 */
export function RemoveCellsButton(props: {
  place: Place;
  onClick: () => void;
}): JSX.Element {
  const trans = useTrans();
  return (
    <button
      className={
        props.place === 'chat'
          ? 'jp-codeact-link'
          : 'jp-codeact-link jp-codeact-magic-link'
      }
      data-testid={testId(props.place, 'remove-cells')}
      onClick={props.onClick}
      title={trans.__(
        "Remove this episode's cells from the notebook in one step (Undo brings them back; the record stays in History). What the code did in the kernel (variables, files) cannot be undone."
      )}
    >
      {trans.__('Remove cells')}
    </button>
  );
}

/**
 * The last failed request (role alert), until dismissed with ×.
 */
export function ErrorBanner(props: {
  place: Place;
  text: string;
  onDismiss: () => void;
}): JSX.Element {
  return <Banner kind="error" {...props} />;
}

/**
 * What the last action did when it needs saying (cells removed), until
 * dismissed with ×.
 */
export function NoticeBanner(props: {
  place: Place;
  text: string;
  onDismiss: () => void;
}): JSX.Element {
  return <Banner kind="notice" {...props} />;
}

function Banner(props: {
  kind: 'error' | 'notice';
  place: Place;
  text: string;
  onDismiss: () => void;
}): JSX.Element {
  const { kind, place, text, onDismiss } = props;
  const trans = useTrans();
  return (
    <div
      className={
        place === 'chat' ? `jp-codeact-${kind}` : `jp-codeact-magic-${kind}`
      }
      data-testid={testId(place, kind)}
      role={kind === 'error' ? 'alert' : undefined}
    >
      <span>{text}</span>
      <button
        className="jp-codeact-link"
        onClick={onDismiss}
        title={trans.__('Dismiss')}
      >
        ×
      </button>
    </div>
  );
}
