/**
 * The transcript of one episode, derived from its record: the user's
 * messages, the model's replies (streaming included) with their code actions
 * in place, observations, errors, the answer and how the episode ended.
 */
import type { IOutput } from '@jupyterlab/nbformat';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import * as React from 'react';

import { finalLabel, statusLabel } from './labels';

import { Markdown, codeFence } from './markdown';

import {
  EpisodeModel,
  IActionData,
  IActionStep,
  IAssistantData,
  IObservationStep,
  IStep
} from './model';

import { PromptSize } from './promptsize';

import { Segment, splitReply } from './segments';

import { isUnfinished } from './status';

import { useTrans } from './trans';

/**
 * What the action cards need from the chat: decisions on an action.
 */
export interface IActionHandlers {
  approve: (all: boolean) => void;
  reject: (note: string) => void;
  busy: boolean;
}

interface ITranscriptProps {
  model: EpisodeModel;
  rendermime: IRenderMimeRegistry;
  handlers: IActionHandlers;
  /**
   * The short form, for a notebook output under the cell that asked: no
   * system prompt, no first message (the cell shows it), no observations,
   * no "Solved" line, and the code of each action folded (its cell below
   * shows it whole), except while it awaits approval.
   */
  compact?: boolean;
}

export function Transcript(props: ITranscriptProps): JSX.Element {
  const { model, rendermime, handlers } = props;
  const compact = !!props.compact;
  const trans = useTrans();
  const { record, live } = model;
  const actionsByTurn = new Map<number, IActionStep[]>();
  const solvedTurns = new Set<number>();
  for (const step of record.steps) {
    if (step.kind === 'action' && step.data.format !== 'restore') {
      const list = actionsByTurn.get(step.data.turn) ?? [];
      list.push(step);
      actionsByTurn.set(step.data.turn, list);
    } else if (step.kind === 'solution') {
      solvedTurns.add(step.data.turn);
    }
  }
  const repliedTurns = new Set(
    record.steps.filter(s => s.kind === 'assistant').map(s => s.data.turn)
  );

  const firstUser = record.steps.find(s => s.kind === 'user');
  const items: JSX.Element[] = [];
  if (record.system && !compact) {
    items.push(
      <details
        key="system"
        className="jp-codeact-observation jp-codeact-system"
        data-testid="codeact-system"
      >
        <summary>{trans.__('System prompt')}</summary>
        <pre>{record.system}</pre>
      </details>
    );
  }
  for (const step of record.steps) {
    switch (step.kind) {
      case 'user':
        if (compact && step === firstUser) {
          break;
        }
        items.push(
          <div key={step.id} className="jp-codeact-user-turn">
            <div className="jp-codeact-user" data-testid="codeact-user-message">
              {step.data.text}
            </div>
            {step.data.notebook && !compact ? (
              <details
                className="jp-codeact-observation"
                data-testid="codeact-notebook-context"
              >
                <summary>
                  {trans.__('What the model read of the notebook')}
                </summary>
                <pre>{clip(String(step.data.notebook))}</pre>
              </details>
            ) : null}
          </div>
        );
        break;
      case 'assistant':
        if (!compact) {
          items.push(
            <PromptSize
              key={`${step.id}-prompt`}
              data={step.data as IAssistantData}
            />
          );
        }
        items.push(
          <Reply
            key={step.id}
            text={step.data.text ?? ''}
            streaming={false}
            actions={actionsByTurn.get(step.data.turn) ?? []}
            solved={solvedTurns.has(step.data.turn)}
            rendermime={rendermime}
            handlers={handlers}
            compact={compact}
          />
        );
        break;
      case 'action':
        // A restore is no reply's action: the earlier code, re-run here.
        if (step.data.format === 'restore') {
          items.push(
            <div
              key={step.id}
              className="jp-codeact-restore"
              data-testid="codeact-restore"
            >
              <div className="jp-codeact-role">
                {trans.__(
                  "Re-running this episode's earlier code in this kernel"
                )}
              </div>
              <ActionCard
                step={step}
                rendermime={rendermime}
                handlers={handlers}
                showCode={true}
                compact={false}
              />
            </div>
          );
        }
        break;
      case 'observation':
        if (!compact) {
          items.push(<Observation key={step.id} step={step} />);
        }
        if (step.data.fresh_start) {
          // The model's view of this request starts again here: say so where it happens.
          items.push(
            <div
              key={`${step.id}-fresh`}
              className="jp-codeact-fresh-start"
              data-testid="codeact-fresh-start"
            >
              {trans.__(
                'The model repeated itself: it starts this request over, without the turns above in view.'
              )}
            </div>
          );
        }
        break;
      case 'solution':
        items.push(
          <div
            key={step.id}
            className="jp-codeact-answer"
            data-testid="codeact-answer"
          >
            <div className="jp-codeact-answer-label">
              {step.data.source === 'code'
                ? trans.__('Answer (from final_answer in the code)')
                : step.data.source === 'prose'
                  ? trans.__("Answer (read from the model's sentence)")
                  : trans.__('Answer')}
            </div>
            <Markdown
              source={String(step.data.text ?? '')}
              rendermime={rendermime}
            />
          </div>
        );
        break;
      case 'error':
        items.push(
          <div
            key={step.id}
            className="jp-codeact-step-error"
            data-testid="codeact-step-error"
          >
            <strong>
              {step.data.kind
                ? trans.__('%1 error:', step.data.kind)
                : trans.__('error:')}
            </strong>{' '}
            {step.data.message}
          </div>
        );
        break;
    }
  }

  // The reply streaming in (a turn with no whole reply yet).
  for (const [turnKey, text] of Object.entries(live.drafts)) {
    const turn = Number(turnKey);
    if (!repliedTurns.has(turn) && text) {
      items.push(
        <Reply
          key={`draft-${turn}`}
          text={text}
          streaming={true}
          actions={[]}
          solved={false}
          rendermime={rendermime}
          handlers={handlers}
          compact={compact}
        />
      );
    }
  }

  const waiting =
    model.running &&
    !Object.keys(live.drafts).length &&
    !record.steps.some(s => s.kind === 'action' && isUnfinished(s.data.status));
  if (waiting) {
    items.push(
      <div
        key="waiting"
        className="jp-codeact-waiting"
        data-testid="codeact-waiting"
      >
        <span className="jp-codeact-spinner" />
        {live.kernelBusy
          ? trans.__(
              'Waiting for your running cell to finish: the episode starts after it and never interrupts it (Stop cancels).'
            )
          : live.retry
            ? trans.__(
                'The endpoint failed (%1); retry %2 in %3 s…',
                live.retry.reason,
                live.retry.attempt,
                live.retry.delay.toFixed(1)
              )
            : trans.__('Waiting for the model…')}
      </div>
    );
  }

  // Compact: the answer and the heading's state say "solved" already.
  if (record.state && !(compact && record.state === 'solved')) {
    items.push(
      <div
        key="final"
        className={`jp-codeact-final jp-codeact-final-${record.state}`}
        data-testid="codeact-final"
        data-state={record.state}
      >
        <strong>{finalLabel(trans, record.state)}</strong>
        {record.reason ? <span>: {record.reason}</span> : null}
      </div>
    );
  }

  return <div className="jp-codeact-transcript">{items}</div>;
}

interface IReplyProps {
  text: string;
  streaming: boolean;
  actions: IActionStep[];
  /** The turn's answer was accepted (a solution step follows). */
  solved: boolean;
  rendermime: IRenderMimeRegistry;
  handlers: IActionHandlers;
  compact: boolean;
}

/**
 * One model reply: prose as markdown, each `<execute>` block as its action
 * card (or as code while the action does not exist yet), `<solution>` as a
 * highlighted answer.
 */
function Reply(props: IReplyProps): JSX.Element {
  const { text, streaming, actions, solved, rendermime, handlers, compact } =
    props;
  const trans = useTrans();
  const segments = splitReply(text, streaming);
  const byIndex = new Map<number, IActionStep>();
  for (const action of actions) {
    if (action.data.format !== 'fence') {
      byIndex.set(action.data.index, action);
    }
  }
  const shown = new Set<string>();
  const parts = segments.map((segment: Segment, i: number) => {
    if (segment.kind === 'text') {
      return <Markdown key={i} source={segment.text} rendermime={rendermime} />;
    }
    if (segment.kind === 'solution') {
      // An accepted answer gets its own card after the reply.
      if (solved) {
        return null;
      }
      return (
        <div
          key={i}
          className="jp-codeact-solution"
          data-testid="codeact-solution"
        >
          <div className="jp-codeact-answer-label">
            {streaming
              ? trans.__('Answer (streaming)')
              : trans.__('Proposed answer (not accepted)')}
          </div>
          <Markdown source={segment.text} rendermime={rendermime} />
        </div>
      );
    }
    const action =
      segment.index !== null ? byIndex.get(segment.index) : undefined;
    if (action) {
      shown.add(action.id);
      return (
        <ActionCard
          key={i}
          step={action}
          rendermime={rendermime}
          handlers={handlers}
          showCode={true}
          compact={compact}
        />
      );
    }
    return (
      <div key={i} className="jp-codeact-action jp-codeact-action-draft">
        <div className="jp-codeact-action-header">
          <span className="jp-codeact-action-prompt">{trans.__('Action')}</span>
          <span className="jp-codeact-badge">
            {streaming ? <span className="jp-codeact-spinner" /> : null}
            {streaming ? trans.__('writing') : trans.__('proposed')}
          </span>
        </div>
        <Markdown source={codeFence(segment.code)} rendermime={rendermime} />
      </div>
    );
  });
  // Actions not in an <execute> block (```python fences): the fence shows the
  // code in the prose; the card adds its status and outputs.
  const rest = actions.filter(a => !shown.has(a.id));
  return (
    <div
      className={`jp-codeact-reply${streaming ? ' jp-mod-streaming' : ''}`}
      data-testid={streaming ? 'codeact-draft' : 'codeact-reply'}
    >
      {parts}
      {rest.map(action => (
        <ActionCard
          key={action.id}
          step={action}
          rendermime={rendermime}
          handlers={handlers}
          showCode={action.data.format !== 'fence'}
          compact={compact}
        />
      ))}
      {streaming ? <span className="jp-codeact-cursor" /> : null}
    </div>
  );
}

interface IActionCardProps {
  step: IStep;
  rendermime: IRenderMimeRegistry;
  handlers: IActionHandlers;
  showCode: boolean;
  /** Fold the code under its first line (unless it awaits approval). */
  compact: boolean;
}

function ActionCard(props: IActionCardProps): JSX.Element {
  const { step, rendermime, handlers, showCode, compact } = props;
  const trans = useTrans();
  const data = step.data as IActionData;
  const status = data.status;
  return (
    <div
      className={`jp-codeact-action jp-codeact-action-${status}`}
      data-testid="codeact-action"
      data-step={step.id}
      data-status={status}
    >
      <div className="jp-codeact-action-header">
        <span className="jp-codeact-action-prompt">
          {data.execution_count
            ? `In [${data.execution_count}]`
            : trans.__('Action')}
        </span>
        <span
          className={`jp-codeact-badge jp-codeact-status-${status}`}
          data-testid="codeact-action-status"
        >
          {status === 'running' ? (
            <span className="jp-codeact-spinner" />
          ) : null}
          {statusLabel(trans, status)}
        </span>
        {typeof data.duration === 'number' ? (
          <span className="jp-codeact-duration">
            {formatSeconds(data.duration)}
          </span>
        ) : null}
      </div>
      {showCode && compact && status !== 'awaiting_approval' ? (
        <details className="jp-codeact-code-folded">
          <summary title={trans.__('Show the code')}>
            {summaryLine(data.code)}
          </summary>
          <Markdown
            className="jp-codeact-code"
            source={codeFence(data.code)}
            rendermime={rendermime}
          />
        </details>
      ) : showCode ? (
        <Markdown
          className="jp-codeact-code"
          source={codeFence(data.code)}
          rendermime={rendermime}
        />
      ) : null}
      {data.model_code !== undefined ? (
        <div className="jp-codeact-note" data-testid="codeact-edited">
          {trans.__('Ran as you edited it')}
        </div>
      ) : null}
      <OutputPreview outputs={data.outputs ?? []} />
      {data.approval?.decision === 'reject' ? (
        <div className="jp-codeact-note">
          {data.approval.note
            ? trans.__('Rejected: %1', data.approval.note)
            : trans.__('Rejected')}
        </div>
      ) : null}
      {status === 'awaiting_approval' ? (
        <ApprovalControls handlers={handlers} />
      ) : null}
    </div>
  );
}

function ApprovalControls(props: { handlers: IActionHandlers }): JSX.Element {
  const { handlers } = props;
  const trans = useTrans();
  const [note, setNote] = React.useState('');
  return (
    <div className="jp-codeact-approval" data-testid="codeact-approval">
      <div className="jp-codeact-approval-buttons">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept"
          data-testid="codeact-approve"
          disabled={handlers.busy}
          onClick={() => handlers.approve(false)}
          title={trans.__("Run this action in the notebook's kernel")}
        >
          {trans.__('Approve')}
        </button>
        <button
          className="jp-Button jp-mod-styled jp-mod-reject"
          data-testid="codeact-reject"
          disabled={handlers.busy}
          onClick={() => handlers.reject(note)}
          title={trans.__('Do not run it; the note (if any) goes to the model')}
        >
          {trans.__('Reject')}
        </button>
        <button
          className="jp-Button jp-mod-styled jp-codeact-approve-all"
          data-testid="codeact-approve-all"
          disabled={handlers.busy}
          onClick={() => handlers.approve(true)}
          title={trans.__(
            "Approve this action and run the rest of this message's actions without asking"
          )}
        >
          {trans.__('Run all remaining')}
        </button>
      </div>
      <input
        className="jp-mod-styled jp-codeact-note-input"
        data-testid="codeact-reject-note"
        placeholder={trans.__('Note for the model if you reject (optional)')}
        value={note}
        onChange={e => setNote(e.target.value)}
        onKeyDown={e => {
          if (e.key === 'Enter') {
            handlers.reject(note);
          }
        }}
      />
    </div>
  );
}

/**
 * A short text view of an action's outputs; the notebook cell has them whole.
 */
function OutputPreview(props: { outputs: IOutput[] }): JSX.Element | null {
  const { outputs } = props;
  const trans = useTrans();
  if (!outputs.length) {
    return null;
  }
  return (
    <div className="jp-codeact-outputs" data-testid="codeact-outputs">
      {outputs.map((output, i) => {
        const o = output as any;
        if (o.output_type === 'stream') {
          return (
            <pre key={i} className={`jp-codeact-output jp-codeact-${o.name}`}>
              {clip(joinText(o.text))}
            </pre>
          );
        }
        if (o.output_type === 'error') {
          return (
            <pre key={i} className="jp-codeact-output jp-codeact-output-error">
              {`${o.ename}: ${o.evalue}`}
            </pre>
          );
        }
        const data = o.data ?? {};
        if (data['image/png']) {
          return (
            <img
              key={i}
              className="jp-codeact-output-image"
              src={`data:image/png;base64,${joinText(data['image/png']).trim()}`}
              alt={trans.__('image output')}
            />
          );
        }
        if (data['text/plain'] !== undefined) {
          return (
            <pre key={i} className="jp-codeact-output">
              {clip(joinText(data['text/plain']))}
            </pre>
          );
        }
        return (
          <pre key={i} className="jp-codeact-output">
            [{Object.keys(data).join(', ')}]
          </pre>
        );
      })}
    </div>
  );
}

function Observation(props: { step: IObservationStep }): JSX.Element {
  const text = String(props.step.data.text ?? '');
  const trans = useTrans();
  return (
    <details
      className="jp-codeact-observation"
      data-testid="codeact-observation"
    >
      <summary>{trans.__('What the model read')}</summary>
      <pre>{clip(text)}</pre>
    </details>
  );
}

/**
 * The first line of code that says something, for a folded action.
 */
function summaryLine(code: string): string {
  const lines = code.split('\n').map(line => line.trim());
  const first =
    lines.find(line => line && !line.startsWith('#')) ??
    lines.find(line => line) ??
    '';
  const more = lines.filter(line => line).length > 1 ? ' …' : '';
  return first.length > 80 ? `${first.slice(0, 79)}…` : first + more;
}

function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join('') : (text ?? '');
}

const CLIP = 2000;

function clip(text: string): string {
  if (text.length <= CLIP) {
    return text;
  }
  const half = CLIP / 2;
  return `${text.slice(0, half)}\n… ${text.length - CLIP} characters …\n${text.slice(-half)}`;
}

export function formatSeconds(seconds: number): string {
  return seconds < 1
    ? `${Math.round(seconds * 1000)} ms`
    : `${seconds.toFixed(1)} s`;
}
