/**
 * The wire between the two halves: generated from codeact_lab/wire.schema.json
 * (codeact_lab/agent/wire.py) by `jlpm build:wire`. Do not edit.
 */
import type { IOutput } from '@jupyterlab/nbformat';

export type ActionStatus =
  | 'pending'
  | 'awaiting_approval'
  | 'rejected'
  | 'running'
  | 'ok'
  | 'error'
  | 'timeout'
  | 'interrupted'
  | 'dead'
  | 'restarted'
  | 'skipped';
/**
 * One nbformat output.
 */
export type Output = IOutput;
export type Approval = 'auto' | 'ask';
export type Step =
  | IUserStep
  | IAssistantStep
  | IActionStep
  | IObservationStep
  | ISolutionStep
  | IErrorStep;
export type FinalState =
  | 'solved'
  | 'replied'
  | 'stopped'
  | 'failed'
  | 'max_turns'
  | 'budget'
  | 'interrupted'
  | 'stuck';
export type EpisodeEvent =
  | IEpisodeStartedEvent
  | IUserMessageEvent
  | ITurnStartedEvent
  | ITextDeltaEvent
  | IModelRetryEvent
  | IAssistantMessageEvent
  | IActionEvent
  | IAwaitingApprovalEvent
  | IApprovalEvent
  | IActionStartedEvent
  | IExecuteInputEvent
  | IOutputEvent
  | IActionFinishedEvent
  | IObservationEvent
  | ISolutionEvent
  | IErrorEvent
  | IFinalEvent
  | IKernelBusyEvent;
export type StepKind =
  'user' | 'assistant' | 'action' | 'observation' | 'solution' | 'error';
export type StreamMessage = EpisodeEvent | ICaughtUp;

/**
 * One code action and its execution.
 */
export interface IActionData {
  /**
   * What runs (the user's edit, when they edited it).
   */
  code: string;
  turn: number;
  index: number;
  /**
   * restore: the earlier actions' code, re-run in a new kernel.
   */
  format: 'tag' | 'fence' | 'restore' | 'smolagents';
  status: ActionStatus;
  outputs: Output[];
  execution_count: number | null;
  duration: number | null;
  approval: IApprovalRecord | null;
  /**
   * The model's action as written, when an action mode translated it to code.
   */
  content?: string;
  /**
   * The model's code, when the user edited it before it ran.
   */
  model_code?: string;
  outputs_truncated?: boolean;
  /**
   * The timeout it ran past (status timeout).
   */
  timeout?: number | null;
}
export interface IApprovalRecord {
  decision: 'approve' | 'reject';
  note: string | null;
}
/**
 * An action step, status pending.
 */
export interface IActionEvent {
  type: 'action';
  seq: number;
  time: number;
  data: IActionEventData;
}
export interface IActionEventData {
  step: IActionStep;
}
export interface IActionStep {
  id: string;
  kind: 'action';
  time: number;
  data: IActionData;
}
/**
 * An action ended. A stopped or skipped action has only ``status``; the store keeps
 * ``outputs`` whole, live clients get ``outputs_patch`` from the live outputs they have.
 */
export interface IActionFinishedData {
  step_id: string;
  status: ActionStatus;
  outputs?: Output[];
  outputs_patch?: IOutputsPatch;
  execution_count?: number | null;
  duration?: number;
  outputs_truncated?: boolean;
  timeout?: number | null;
}
export interface IOutputsPatch {
  from?: number;
  append?: string;
  outputs: Output[];
}
export interface IActionFinishedEvent {
  type: 'action_finished';
  seq: number;
  time: number;
  data: IActionFinishedData;
}
export interface IActionStartedEvent {
  type: 'action_started';
  seq: number;
  time: number;
  data: IStepRef;
}
export interface IStepRef {
  step_id: string;
}
export interface IApprovalData {
  step_id: string;
  decision: 'approve' | 'reject';
  note: string | null;
  /**
   * The user's edit of the proposed code: what runs instead.
   */
  code?: string;
}
export interface IApprovalEvent {
  type: 'approval';
  seq: number;
  time: number;
  data: IApprovalData;
}
/**
 * One model reply, whole, and the prompt it answered.
 */
export interface IAssistantData {
  text: string;
  turn: number;
  usage: IUsage | null;
  finish_reason?: string | null;
  retries?: number;
  /**
   * The model's latency in seconds, retries included.
   */
  duration?: number;
  /**
   * The prompt's tokens by the loop's estimate.
   */
  prompt_tokens?: number;
  /**
   * The model's context, in tokens.
   */
  context_tokens?: number;
  condensed?: ICondensed;
  sampling?: ISamplingRecord;
}
export interface IUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
/**
 * Absent: the whole history was sent.
 */
export interface ICondensed {
  cut?: string[];
  omitted?: string[];
  code?: string[];
  notebook?: string[];
  dropped?: IDropped;
}
export interface IDropped {
  /**
   * The last step left out: every step up to it is.
   */
  through: string;
  messages: number;
}
/**
 * Absent: the model's own temperature.
 */
export interface ISamplingRecord {
  temperature: number;
  seed: number | null;
}
export interface IAssistantMessageData {
  step: IAssistantStep;
}
export interface IAssistantStep {
  id: string;
  kind: 'assistant';
  time: number;
  data: IAssistantData;
}
export interface IAssistantMessageEvent {
  type: 'assistant_message';
  seq: number;
  time: number;
  data: IAssistantMessageData;
}
export interface IAwaitingApprovalEvent {
  type: 'awaiting_approval';
  seq: number;
  time: number;
  data: IStepRef;
}
/**
 * The event stream's own message: the replay is over, events are live from here.
 */
export interface ICaughtUp {
  type: 'caught_up';
  seq: number;
}
/**
 * What a request's prompt shortened to fit the model's context, by step id
 * (condense.py): observations cut head and tail, or left as one line; replies'
 * long code cut; notebook texts cut; the oldest turns left out.
 */
export interface ICondensed1 {
  cut?: string[];
  omitted?: string[];
  code?: string[];
  notebook?: string[];
  dropped?: IDropped;
}
/**
 * A model server the user already runs (Ollama, LM Studio, ...), found by the Jupyter
 * server; never used unless the user accepts it.
 */
export interface IDetectedServer {
  name: string;
  base_url: string;
  models: string[];
}
/**
 * ``GET /codeact/episodes/{id}``, and the answer of every route that changes an
 * episode (start, message, approve, reject, stop, import).
 */
export interface IEpisodeDescription {
  id: string;
  task: string;
  created: number;
  settings: IEpisodeSettings;
  steps: Step[];
  state: FinalState | null;
  reason: string;
  ended: number | null;
  usage: IUsage;
  last_seq: number;
  metadata: IEpisodeMetadata;
  system: string;
  running: boolean;
  /**
   * The id of the action step that waits for the user's decision.
   */
  awaiting_approval: string | null;
}
/**
 * What an episode ran with (``episode.EpisodeSettings``). Never a secret.
 */
export interface IEpisodeSettings {
  model: string;
  endpoint: string;
  prompt_version: string;
  max_turns: number;
  action_timeout: number;
  budget: number | null;
  temperature: number;
  max_tokens: number | null;
  max_output_chars: number;
  vision: boolean;
  approval: string;
  kernel_name: string;
}
export interface IUserStep {
  id: string;
  kind: 'user';
  time: number;
  data: IUserData;
}
/**
 * The task, or a follow-up message.
 */
export interface IUserData {
  text: string;
  /**
   * True when the message tells the model its answer is wrong.
   */
  rejects_answer?: boolean;
  /**
   * True when the message goes on with the request before it (a host's "go on"): the
   * repetition rules and the stated answer form look past it, as past a rejection.
   */
  continues_request?: boolean;
  /**
   * What the model is told of the user's notebook (or of what changed in it).
   */
  notebook?: string;
  notebook_cells?: INotebookCellMark[];
}
/**
 * One cell of the notebook as a user message last saw it (what changed is
 * measured from it): ``CellDigest.fingerprint``.
 */
export interface INotebookCellMark {
  id: string;
  /**
   * A hash of the cell's source.
   */
  source: string;
  count: number | null;
  error: string | null;
}
export interface IObservationStep {
  id: string;
  kind: 'observation';
  time: number;
  data: IObservationData;
}
/**
 * What the model is told about the action(s) of a reply.
 */
export interface IObservationData {
  text: string;
  /**
   * Base64 PNGs.
   */
  images: string[];
  turn: number;
  action_ids: string[];
  refused_answer?: IRefusedAnswer;
  /**
   * Which of the loop's one-time reminders this is.
   */
  note?: string;
  /**
   * The request starts over here (the model was stuck): what the model reads instead of
   * the turns between the request's message and this step, which it no longer sees.
   */
  fresh_start?: string;
}
/**
 * The reply's answer, when it was not taken.
 */
export interface IRefusedAnswer {
  text: string;
  why: string;
  /**
   * The action whose ``final_answer()`` gave it; absent for a ``<solution>``.
   */
  action_id?: string;
}
export interface ISolutionStep {
  id: string;
  kind: 'solution';
  time: number;
  data: ISolutionData;
}
export interface ISolutionData {
  text: string;
  turn: number;
  /**
   * code: final_answer() gave it, in action ``action_id``; prose: read from the model's
   * sentence ``prose``, given without tags after it was asked for them.
   */
  source?: 'code' | 'prose';
  action_id?: string;
  prose?: string;
}
export interface IErrorStep {
  id: string;
  kind: 'error';
  time: number;
  data: IErrorData;
}
export interface IErrorData {
  message: string;
  /**
   * What failed: context, model, kernel or internal.
   */
  kind: string;
}
/**
 * Host-owned: what the server (or the eval harness) keeps with an episode. Open:
 * a host may add keys of its own.
 */
export interface IEpisodeMetadata {
  notebook_path?: string;
  kernel_id?: string;
  anchor_cell_id?: string | null;
  /**
   * The ``%codeact`` run that started it.
   */
  request_id?: string;
  /**
   * "Fix with CodeAct": the cell its fix may be applied to.
   */
  fix_cell_id?: string;
  /**
   * It arrived as a record (an exported notebook).
   */
  imported?: boolean;
  /**
   * The imported notebook's cells do not show the code its record would re-run.
   */
  cells_differ?: boolean;
  mode?: string;
  suite?: string;
  task?: string;
  [k: string]: unknown | undefined;
}
/**
 * ``GET /codeact/episodes``.
 */
export interface IEpisodeList {
  episodes: IEpisodeSummary[];
}
/**
 * One row of ``GET /codeact/episodes``.
 */
export interface IEpisodeSummary {
  id: string;
  task: string;
  created: number;
  ended: number | null;
  state: FinalState | null;
  reason: string;
  turns: number;
  usage: IUsage;
  model: string;
  notebook_path: string;
  kernel_id: string;
  running: boolean;
}
/**
 * ``Episode.to_dict()``: the record, as stored and exported.
 */
export interface IEpisodeRecord {
  id: string;
  task: string;
  created: number;
  settings: IEpisodeSettings;
  steps: Step[];
  /**
   * None while it runs (or before it started).
   */
  state: FinalState | null;
  reason: string;
  ended: number | null;
  usage: IUsage;
  last_seq: number;
  metadata: IEpisodeMetadata;
  /**
   * The system prompt as the model read it (tools and context filled in).
   */
  system: string;
}
export interface IEpisodeStartedData {
  task: string;
  settings: IEpisodeSettings;
  system: string;
}
export interface IEpisodeStartedEvent {
  type: 'episode_started';
  seq: number;
  time: number;
  data: IEpisodeStartedData;
}
export interface IErrorEvent {
  type: 'error';
  seq: number;
  time: number;
  data: IErrorEventData;
}
export interface IErrorEventData {
  step: IErrorStep;
}
/**
 * The body of a refusal (4xx) of a codeact route.
 */
export interface IErrorReply {
  message: string;
  /**
   * jupyter_server's own refusals (a 404 route, a 403) add these.
   */
  reason?: string | null;
  traceback?: string | null;
}
export interface IUserMessageEvent {
  type: 'user_message';
  seq: number;
  time: number;
  data: IUserMessageData;
}
export interface IUserMessageData {
  step: IUserStep;
}
export interface ITurnStartedEvent {
  type: 'turn_started';
  seq: number;
  time: number;
  data: ITurnStartedData;
}
export interface ITurnStartedData {
  turn: number;
}
/**
 * Live only, not stored.
 */
export interface ITextDeltaEvent {
  type: 'text_delta';
  seq: number;
  time: number;
  data: ITextDeltaData;
}
export interface ITextDeltaData {
  turn: number;
  text: string;
}
/**
 * Live only, not stored.
 */
export interface IModelRetryEvent {
  type: 'model_retry';
  seq: number;
  time: number;
  data: IModelRetryData;
}
/**
 * The draft of ``turn`` restarts.
 */
export interface IModelRetryData {
  turn: number;
  attempt: number;
  reason: string;
  delay: number;
}
export interface IExecuteInputEvent {
  type: 'execute_input';
  seq: number;
  time: number;
  data: IExecuteInputData;
}
export interface IExecuteInputData {
  step_id: string;
  execution_count: number | null;
}
/**
 * Live only, not stored.
 */
export interface IOutputEvent {
  type: 'output';
  seq: number;
  time: number;
  data: IOutputData;
}
export interface IOutputData {
  step_id: string;
  from?: number;
  append?: string;
  outputs: Output[];
}
export interface IObservationEvent {
  type: 'observation';
  seq: number;
  time: number;
  data: IObservationEventData;
}
export interface IObservationEventData {
  step: IObservationStep;
}
export interface ISolutionEvent {
  type: 'solution';
  seq: number;
  time: number;
  data: ISolutionEventData;
}
export interface ISolutionEventData {
  step: ISolutionStep;
}
export interface IFinalEvent {
  type: 'final';
  seq: number;
  time: number;
  data: IFinalData;
}
export interface IFinalData {
  state: FinalState;
  reason: string;
}
/**
 * Live only, not stored.
 */
export interface IKernelBusyEvent {
  type: 'kernel_busy';
  seq: number;
  time: number;
  data: IKernelBusyData;
}
/**
 * The kernel runs something the episode did not start (the user's cell): the
 * episode waits for it (live only, not stored).
 */
export interface IKernelBusyData {
  waiting: boolean;
}
/**
 * ``GET /codeact/health``.
 */
export interface IHealth {
  status: 'ok';
  version: string;
}
export interface IRefusedAnswer1 {
  text: string;
  why: string;
  /**
   * The action whose ``final_answer()`` gave it; absent for a ``<solution>``.
   */
  action_id?: string;
}
/**
 * A reply sampled at this temperature instead of the model's own (after a fresh start).
 */
export interface ISamplingRecord1 {
  temperature: number;
  seed: number | null;
}
/**
 * ``GET /codeact/config``: what the server runs episodes with.
 */
export interface IServerConfig {
  model: string;
  endpoint: string;
  approval: Approval;
  max_turns: number;
  action_timeout: number | null;
  /**
   * The embedded local model is in use (false: no model at all).
   */
  local?: boolean;
  /**
   * What the model is (small, slow), or how to get one.
   */
  note?: string;
  /**
   * With no endpoint configured: model servers found on this machine.
   */
  detected?: IDetectedServer[];
}
