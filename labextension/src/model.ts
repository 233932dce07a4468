/**
 * The episode record and its reducer: a TypeScript mirror of the Python
 * `Episode.apply` (codeact_lab/agent/episode.py). The chat, the notebook
 * cells and the status line are all views of one `EpisodeModel`.
 */
import type { IOutput } from '@jupyterlab/nbformat';

import { ISignal, Signal } from '@lumino/signaling';

import type {
  EpisodeEvent,
  IActionData,
  IActionStep,
  IEpisodeDescription,
  IEpisodeRecord as IStoredRecord,
  IOutputsPatch,
  ISolutionStep,
  IUsage,
  Step
} from './wire';

// The wire's types (src/wire.ts, generated from the Python half's schema), by the
// names the frontend has always used.
export type {
  ActionStatus,
  FinalState,
  IActionData,
  IActionStep,
  IAssistantData,
  IAssistantStep,
  ICondensed,
  IErrorStep,
  IObservationStep,
  ISolutionStep,
  IUsage,
  IUserStep,
  StepKind
} from './wire';

/**
 * One step of the record: a union on `kind`, each kind with its own `data`.
 */
export type IStep = Step;

/**
 * One event of an episode: a union on `type`, each type with its own `data`.
 */
export type IEpisodeEvent = EpisodeEvent;

/**
 * The episode as the frontend holds it: the stored record, with what the
 * server's description adds (`GET /codeact/episodes/{id}`) when it came from
 * there.
 */
export type IEpisodeRecord = IStoredRecord &
  Partial<Pick<IEpisodeDescription, 'running' | 'awaiting_approval'>>;

/**
 * What only the live view keeps: the streaming reply of each turn, and the
 * last retry notice. Never stored by the server.
 */
export interface ILiveState {
  /** The text streamed so far, per turn, until its `assistant_message`. */
  drafts: { [turn: number]: string };
  /** The turn the model is on (from `turn_started`). */
  turn: number | null;
  retry: {
    turn: number;
    attempt: number;
    reason: string;
    delay: number;
  } | null;
  /** The episode waits for a cell it did not start (the user's) to end. */
  kernelBusy: boolean;
}

function emptyUsage(): IUsage {
  return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
}

/**
 * Find a step by id, newest first (as the Python `Episode.find`).
 */
export function findStep(ep: IEpisodeRecord, id: string): IStep | undefined {
  for (let i = ep.steps.length - 1; i >= 0; i--) {
    if (ep.steps[i].id === id) {
      return ep.steps[i];
    }
  }
  return undefined;
}

function updateAction(
  ep: IEpisodeRecord,
  stepId: string,
  fields: Partial<IActionData>
): void {
  const step = findStep(ep, stepId);
  if (step) {
    Object.assign(step.data, fields);
  }
}

/**
 * A live-output patch (`output` event data): keep the first `from` outputs;
 * with `append`, output `from` is a stream that grew by that text and
 * `outputs` follow it; otherwise `outputs` replace the rest. Mirrors
 * `apply_patch` in codeact_lab/agent/output_patch.py.
 */
export type IOutputPatch = IOutputsPatch;

export function applyOutputPatch(
  outputs: IOutput[],
  patch: IOutputPatch
): IOutput[] {
  const start = patch.from ?? 0;
  const result = outputs.slice(0, start);
  if (patch.append !== undefined && start < outputs.length) {
    const grown = { ...outputs[start] } as IOutput & { text?: string };
    grown.text = String(grown.text ?? '') + patch.append;
    result.push(grown);
  }
  return result.concat(patch.outputs ?? []);
}

/**
 * Apply one event to a record, in place. Returns false (and changes nothing)
 * for an event already applied: applying an event twice is harmless.
 */
export function applyEvent(
  ep: IEpisodeRecord,
  live: ILiveState,
  ev: IEpisodeEvent
): boolean {
  if (ev.seq <= ep.last_seq) {
    return false;
  }
  ep.last_seq = ev.seq;
  switch (ev.type) {
    case 'user_message':
    case 'assistant_message':
    case 'action':
    case 'observation':
    case 'solution':
    case 'error':
      addStep(ep, live, ev.data.step);
      break;
    case 'episode_started':
      ep.state = null;
      ep.reason = '';
      ep.ended = null;
      ep.system = ev.data.system ?? ep.system;
      break;
    case 'turn_started':
      live.turn = ev.data.turn;
      live.retry = null;
      break;
    case 'text_delta': {
      const d = ev.data;
      live.drafts[d.turn] = (live.drafts[d.turn] ?? '') + d.text;
      break;
    }
    case 'model_retry': {
      const d = ev.data;
      delete live.drafts[d.turn];
      live.retry = {
        turn: d.turn,
        attempt: d.attempt,
        reason: d.reason,
        delay: d.delay
      };
      break;
    }
    case 'awaiting_approval':
      updateAction(ep, ev.data.step_id, { status: 'awaiting_approval' });
      break;
    case 'action_started':
      updateAction(ep, ev.data.step_id, { status: 'running' });
      break;
    case 'approval': {
      const d = ev.data;
      const fields: Partial<IActionData> = {
        approval: { decision: d.decision, note: d.note ?? null }
      };
      if (d.decision === 'reject') {
        fields.status = 'rejected';
      }
      const edited = findStep(ep, d.step_id);
      if (
        d.code !== undefined &&
        d.code !== null &&
        edited?.kind === 'action'
      ) {
        // The user's edit runs; the model's code is kept.
        fields.model_code = edited.data.model_code ?? edited.data.code;
        fields.code = d.code;
      }
      updateAction(ep, d.step_id, fields);
      break;
    }
    case 'execute_input':
      updateAction(ep, ev.data.step_id, {
        execution_count: ev.data.execution_count
      });
      break;
    case 'output': {
      const step = findStep(ep, ev.data.step_id);
      if (step?.kind === 'action') {
        step.data.outputs = applyOutputPatch(step.data.outputs ?? [], ev.data);
      }
      break;
    }
    case 'action_finished': {
      const { step_id, outputs_patch, ...fields } = ev.data;
      const step = findStep(ep, step_id);
      if (step?.kind === 'action' && outputs_patch) {
        // Live clients get the finished outputs as a patch from what they have.
        fields.outputs = applyOutputPatch(
          step.data.outputs ?? [],
          outputs_patch
        );
      }
      updateAction(ep, step_id, fields);
      break;
    }
    case 'kernel_busy':
      live.kernelBusy = !!ev.data.waiting;
      break;
    case 'final':
      live.kernelBusy = false;
      ep.state = ev.data.state;
      ep.reason = ev.data.reason ?? '';
      ep.ended = ev.time;
      live.drafts = {};
      live.retry = null;
      break;
    default:
      // An event of a newer server is ignored; tsc fails here if a type of
      // the schema is not handled above.
      unhandled(ev);
  }
  return true;
}

function addStep(ep: IEpisodeRecord, live: ILiveState, sent: IStep): void {
  // A copy: later events change the step and must not change this event.
  const step: IStep = JSON.parse(JSON.stringify(sent));
  if (findStep(ep, step.id)) {
    return;
  }
  ep.steps.push(step);
  if (step.kind === 'assistant') {
    addUsage(ep.usage, step.data.usage);
    delete live.drafts[step.data.turn];
  } else if (step.kind === 'user') {
    // A follow-up reopens a finished episode.
    ep.state = null;
    ep.reason = '';
    ep.ended = null;
  }
}

function unhandled(ev: never): void {
  // Nothing to do: see the caller.
}

function addUsage(total: IUsage, add: Partial<IUsage> | null | undefined) {
  if (!add) {
    return;
  }
  total.prompt_tokens += add.prompt_tokens ?? 0;
  total.completion_tokens += add.completion_tokens ?? 0;
  total.total_tokens = total.prompt_tokens + total.completion_tokens;
}

/**
 * One episode as the frontend follows it: the record, its live-only state,
 * and a signal for every change.
 */
export class EpisodeModel {
  constructor(record: IEpisodeRecord) {
    this._record = EpisodeModel.normalize(record);
  }

  /**
   * A deep copy with every field the reducer needs.
   */
  static normalize(record: IEpisodeRecord): IEpisodeRecord {
    const copy: IEpisodeRecord = JSON.parse(JSON.stringify(record));
    copy.steps = copy.steps ?? [];
    copy.usage = copy.usage ?? emptyUsage();
    copy.metadata = copy.metadata ?? {};
    copy.last_seq = copy.last_seq ?? 0;
    copy.state = copy.state ?? null;
    copy.reason = copy.reason ?? '';
    return copy;
  }

  get id(): string {
    return this._record.id;
  }

  get record(): IEpisodeRecord {
    return this._record;
  }

  get live(): ILiveState {
    return this._live;
  }

  get notebookPath(): string {
    return this._record.metadata.notebook_path ?? '';
  }

  /**
   * Emitted after each event that changed something (null: a whole reload).
   */
  get changed(): ISignal<this, IEpisodeEvent | null> {
    return this._changed;
  }

  /**
   * While no final state is set: the loop runs (or will run) on the server.
   */
  get running(): boolean {
    // A record fetched just after the POST may have no step yet; the
    // server's `running` says the loop has started.
    return (
      this._record.state === null &&
      (this._record.steps.length > 0 || !!this._record.running)
    );
  }

  /**
   * The action step waiting for the user's decision, if any.
   */
  get awaitingApproval(): IActionStep | null {
    for (let i = this._record.steps.length - 1; i >= 0; i--) {
      const step = this._record.steps[i];
      if (step.kind === 'action' && step.data.status === 'awaiting_approval') {
        return step;
      }
    }
    return null;
  }

  get turns(): number {
    return this._record.steps.filter(s => s.kind === 'assistant').length;
  }

  get solution(): string | null {
    const sols = this._record.steps.filter(
      (s): s is ISolutionStep => s.kind === 'solution'
    );
    return sols.length ? String(sols[sols.length - 1].data.text) : null;
  }

  apply(ev: IEpisodeEvent): boolean {
    const changed = applyEvent(this._record, this._live, ev);
    if (changed) {
      this._changed.emit(ev);
    }
    return changed;
  }

  /**
   * Take a newer whole record from the server (an HTTP answer), keeping the
   * live draft when the server has not yet sent the events we have.
   */
  reset(record: IEpisodeRecord): void {
    if (record.last_seq < this._record.last_seq) {
      return;
    }
    this._record = EpisodeModel.normalize(record);
    // Drop the drafts the new record makes whole (or moot, once it ended).
    if (this._record.state !== null) {
      this._live.drafts = {};
      this._live.retry = null;
    }
    for (const step of this._record.steps) {
      if (step.kind === 'assistant') {
        delete this._live.drafts[step.data.turn];
      }
    }
    this._changed.emit(null);
  }

  private _record: IEpisodeRecord;
  private _live: ILiveState = {
    drafts: {},
    turn: null,
    retry: null,
    kernelBusy: false
  };
  private _changed = new Signal<this, IEpisodeEvent | null>(this);
}
