/**
 * The CodeAct chat: a side panel that holds one conversation (an episode) at
 * a time, its history, and the controls of a running episode.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { TranslationBundle } from '@jupyterlab/translation';

import {
  ReactWidget,
  addIcon,
  downloadIcon,
  historyIcon
} from '@jupyterlab/ui-components';

import { Message } from '@lumino/messaging';

import * as React from 'react';

import { IEpisodeSummary } from './api';

import { ChatController } from './controller';

import { codeactIcon } from './icons';

import { EpisodeModel } from './model';

import {
  EpisodeStatus,
  ErrorBanner,
  NoticeBanner,
  RemoveCellsButton,
  StateBadge,
  StopButton
} from './episodestatus';

import { summaryState } from './labels';

import { Transcript } from './transcript';

import { TransContext, useTrans } from './trans';

export const SIDEBAR_ID = 'codeact-lab-sidebar';

export class CodeActSidebar extends ReactWidget {
  constructor(
    controller: ChatController,
    rendermime: IRenderMimeRegistry,
    trans: TranslationBundle
  ) {
    super();
    this.controller = controller;
    this._rendermime = rendermime;
    this._trans = trans;
    this.id = SIDEBAR_ID;
    this.title.icon = codeactIcon;
    this.title.caption = trans.__('CodeAct');
    this.addClass('jp-codeact-sidebar');
    // Lumino conflates update requests: a burst of streamed tokens costs one
    // render per animation frame.
    controller.changed.connect(() => this.update(), this);
  }

  readonly controller: ChatController;

  /**
   * Put the caret in the composer.
   */
  focusInput(): void {
    this.node.querySelector<HTMLTextAreaElement>('.jp-codeact-input')?.focus();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.focusInput();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // A model server the user started since (the server looks again once a
    // minute): the header can offer it.
    if (this.controller.config && !this.controller.settings.values.baseUrl) {
      void this.controller.loadConfig();
    }
  }

  protected render(): JSX.Element {
    return (
      <TransContext.Provider value={this._trans}>
        <ChatPanel controller={this.controller} rendermime={this._rendermime} />
      </TransContext.Provider>
    );
  }

  private _rendermime: IRenderMimeRegistry;
  private _trans: TranslationBundle;
}

interface IChatPanelProps {
  controller: ChatController;
  rendermime: IRenderMimeRegistry;
}

function ChatPanel(props: IChatPanelProps): JSX.Element {
  const { controller, rendermime } = props;
  const current = controller.current;
  return (
    <div className="jp-codeact-panel">
      <Header controller={controller} />
      <ContinueBanner controller={controller} />
      <ScrollArea>
        {controller.view === 'history' ? (
          <History controller={controller} />
        ) : current ? (
          <>
            <EpisodeHeading model={current} />
            <Transcript
              model={current}
              rendermime={rendermime}
              handlers={{
                approve: all => void controller.approve(all),
                reject: note => void controller.reject(note),
                busy: controller.pending
              }}
            />
          </>
        ) : (
          <Welcome controller={controller} />
        )}
      </ScrollArea>
      {current && controller.view === 'chat' ? (
        <StatusBar controller={controller} />
      ) : null}
      {controller.error ? (
        <ErrorBanner
          place="chat"
          text={controller.error}
          onDismiss={() => controller.dismissError()}
        />
      ) : null}
      {controller.notice ? (
        <NoticeBanner
          place="chat"
          text={controller.notice}
          onDismiss={() => controller.dismissError()}
        />
      ) : null}
      <Composer controller={controller} />
    </div>
  );
}

function Header(props: { controller: ChatController }): JSX.Element {
  const { controller } = props;
  const trans = useTrans();
  const config = controller.config;
  const current = controller.current;
  return (
    <div className="jp-codeact-header">
      <div className="jp-codeact-header-row">
        <codeactIcon.react tag="span" className="jp-codeact-logo" />
        <span className="jp-codeact-title">{trans.__('CodeAct')}</span>
        <span className="jp-codeact-spacer" />
        <IconButton
          testid="codeact-new"
          title={trans.__('New episode')}
          icon={addIcon}
          onClick={() => controller.newEpisode()}
        />
        <IconButton
          testid="codeact-history-button"
          title={
            controller.view === 'history'
              ? trans.__('Back to the chat')
              : trans.__('History of this notebook')
          }
          icon={historyIcon}
          active={controller.view === 'history'}
          onClick={() =>
            controller.view === 'history'
              ? controller.showChat()
              : void controller.showHistory()
          }
        />
        <IconButton
          testid="codeact-export"
          title={trans.__('Export this episode as a notebook (.ipynb)')}
          icon={downloadIcon}
          disabled={!current}
          onClick={() => void controller.exportEpisode()}
        />
      </div>
      <div className="jp-codeact-header-row jp-codeact-meta">
        <span
          className="jp-codeact-model"
          data-testid="codeact-model"
          title={trans.__('Model and endpoint (server config)')}
        >
          {config
            ? modelLine(controller, trans)
            : controller.configError
              ? trans.__('server: %1', controller.configError)
              : trans.__('loading config…')}
        </span>
        <span className="jp-codeact-spacer" />
        <ApprovalToggle controller={controller} />
      </div>
      {config?.note && !controller.settings.values.baseUrl ? (
        <div
          className="jp-codeact-local-note"
          data-testid="codeact-local-note"
          title={config.note}
        >
          {config.local
            ? trans.__(
                "Small embedded model: answers are slower and weaker than a large model's."
              )
            : config.note}
        </div>
      ) : null}
      <LocalOffer controller={controller} />
    </div>
  );
}

/**
 * The model the next episode uses: the user's settings when they name one,
 * else the server's.
 */
function modelLine(
  controller: ChatController,
  trans: TranslationBundle
): string {
  const config = controller.config;
  const user = controller.settings.values;
  const model = user.model || config?.model || trans.__('no model');
  if (user.baseUrl) {
    return trans.__('%1 · %2 (your settings)', model, user.baseUrl);
  }
  return `${model} · ${config?.endpoint || trans.__('default endpoint')}`;
}

/**
 * "Use qwen2.5-coder:7b from Ollama?": a model server the user already runs,
 * offered, never switched to unasked. Accepting sets this user's settings.
 */
function LocalOffer(props: { controller: ChatController }): JSX.Element | null {
  const { controller } = props;
  const trans = useTrans();
  const offer = controller.localOffer;
  const [model, setModel] = React.useState(offer?.model ?? '');
  React.useEffect(
    () => setModel(offer?.model ?? ''),
    [offer?.baseUrl, offer?.model]
  );
  if (!offer) {
    return null;
  }
  const chosen = offer.models.includes(model) ? model : offer.model;
  return (
    <div className="jp-codeact-local-offer" data-testid="codeact-local-offer">
      <span>
        {offer.models.length > 1 ? (
          <>
            {trans.__('Use')}{' '}
            <select
              aria-label={trans.__('Model')}
              value={chosen}
              onChange={e => setModel(e.target.value)}
            >
              {offer.models.map(name => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>{' '}
            {trans.__('from %1?', offer.name)}
          </>
        ) : (
          trans.__('Use %1 from %2?', chosen, offer.name)
        )}
      </span>
      <button
        className="jp-mod-styled jp-mod-accept"
        data-testid="codeact-local-offer-use"
        title={trans.__(
          'Set your CodeAct settings to %1 at %2 (no key is sent to it)',
          chosen,
          offer.baseUrl
        )}
        onClick={() => void controller.acceptLocalOffer(offer, chosen)}
      >
        {trans.__('Use it')}
      </button>
      <button
        className="jp-mod-styled"
        data-testid="codeact-local-offer-dismiss"
        onClick={() => controller.dismissLocalOffer(offer)}
      >
        {trans.__('Not now')}
      </button>
    </div>
  );
}

/**
 * "Ask before running": the approval mode of the next message. Local state
 * makes the click show at once; the setting follows.
 */
function ApprovalToggle(props: { controller: ChatController }): JSX.Element {
  const { controller } = props;
  const trans = useTrans();
  const ask = controller.approval === 'ask';
  const [checked, setChecked] = React.useState(ask);
  React.useEffect(() => setChecked(ask), [ask]);
  return (
    <label
      className="jp-codeact-approval-toggle"
      title={trans.__(
        'Ask before running each action (applies to the next message)'
      )}
    >
      <input
        type="checkbox"
        data-testid="codeact-approval-toggle"
        checked={checked}
        onChange={e => {
          setChecked(e.target.checked);
          void controller.setApproval(e.target.checked ? 'ask' : 'auto');
        }}
      />
      {trans.__('Ask before running')}
    </label>
  );
}

interface IIconButtonProps {
  testid: string;
  title: string;
  icon: typeof addIcon;
  onClick: () => void;
  disabled?: boolean;
  active?: boolean;
}

function IconButton(props: IIconButtonProps): JSX.Element {
  return (
    <button
      className={`jp-codeact-icon-button${props.active ? ' jp-mod-active' : ''}`}
      data-testid={props.testid}
      title={props.title}
      aria-label={props.title}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" elementPosition="center" />
    </button>
  );
}

function EpisodeHeading(props: { model: EpisodeModel }): JSX.Element {
  const { model } = props;
  const trans = useTrans();
  return (
    <div
      className="jp-codeact-episode-heading"
      data-testid="codeact-episode"
      data-episode={model.id}
    >
      <span
        title={trans.__('The notebook this episode writes into and runs in')}
      >
        {basename(model.notebookPath)}
      </span>
      <span className="jp-codeact-spacer" />
      <span className="jp-codeact-dim">
        {model.record.settings?.model ?? ''}
      </span>
    </div>
  );
}

/**
 * Offered when the current notebook is an exported episode: bring it into
 * the server and continue it here.
 */
function ContinueBanner(props: {
  controller: ChatController;
}): JSX.Element | null {
  const { controller } = props;
  const trans = useTrans();
  const exported = controller.exported;
  if (!exported) {
    return null;
  }
  return (
    <div
      className="jp-codeact-continue"
      data-testid="codeact-continue-banner"
      data-episode={exported.id}
    >
      <div className="jp-codeact-continue-text">
        {trans.__('%1 holds an exported episode:', basename(exported.path))}{' '}
        <span className="jp-codeact-continue-task">{exported.task}</span>
      </div>
      <button
        className="jp-Button jp-mod-styled jp-mod-accept"
        data-testid="codeact-continue"
        disabled={controller.pending}
        onClick={() => void controller.continueHere()}
        title={trans.__(
          "Show this episode and follow up on it with this notebook's kernel; its code runs again first, to re-make its variables"
        )}
      >
        {trans.__('Continue this episode here')}
      </button>
    </div>
  );
}

function Welcome(props: { controller: ChatController }): JSX.Element {
  const notebook = props.controller.notebook;
  const trans = useTrans();
  return (
    <div className="jp-codeact-welcome" data-testid="codeact-welcome">
      <p>
        {trans.__(
          "Ask for something to be done in a notebook. The model answers with Python code; each action runs in the notebook's own kernel, lands as a cell below your active cell, and its output goes back to the model until it answers."
        )}
      </p>
      <p className="jp-codeact-dim">
        {notebook
          ? trans.__('Target: %1', notebook.context.localPath)
          : trans.__('Open a notebook with a kernel to start.')}
      </p>
    </div>
  );
}

function StatusBar(props: { controller: ChatController }): JSX.Element {
  const { controller } = props;
  const trans = useTrans();
  const model = controller.current!;
  return (
    <div
      className="jp-codeact-status"
      data-testid="codeact-status"
      data-state={model.record.state ?? 'running'}
    >
      <EpisodeStatus
        model={model}
        place="chat"
        reconnecting={
          controller.registry.streamStatus(model.id) === 'reconnecting'
        }
      />
      <span className="jp-codeact-spacer" />
      {model.running ? (
        <StopButton place="chat" onClick={() => void controller.stop()} />
      ) : (
        <>
          {controller.canApplyFix ? (
            <button
              className="jp-Button jp-mod-styled jp-mod-accept jp-codeact-apply-fix"
              data-testid="codeact-apply-fix"
              onClick={() => void controller.applyFix()}
              title={trans.__(
                "Write the fix's working code (its last action that ran without error) into the cell that failed, in one undoable edit"
              )}
            >
              {trans.__('Apply to the cell')}
            </button>
          ) : null}
          <RemoveCellsButton
            place="chat"
            onClick={() => controller.removeCells()}
          />
        </>
      )}
    </div>
  );
}

function History(props: { controller: ChatController }): JSX.Element {
  const { controller } = props;
  const { path, items, loading } = controller.history;
  const trans = useTrans();
  return (
    <div className="jp-codeact-history" data-testid="codeact-history">
      <div className="jp-codeact-history-title">
        {path
          ? trans.__('Episodes of %1', basename(path))
          : trans.__('Episodes of every notebook')}
        {loading ? (
          <span className="jp-codeact-dim">{trans.__(' · loading…')}</span>
        ) : null}
      </div>
      {items && !items.length ? (
        <div className="jp-codeact-dim">{trans.__('No episode yet.')}</div>
      ) : null}
      {(items ?? []).map(item => (
        <HistoryItem
          key={item.id}
          item={item}
          onOpen={() => void controller.openEpisode(item.id)}
        />
      ))}
    </div>
  );
}

function HistoryItem(props: {
  item: IEpisodeSummary;
  onOpen: () => void;
}): JSX.Element {
  const { item, onOpen } = props;
  const trans = useTrans();
  return (
    <button
      className="jp-codeact-history-item"
      data-testid="codeact-history-item"
      data-episode={item.id}
      onClick={onOpen}
    >
      <span className="jp-codeact-history-task">{item.task}</span>
      <span className="jp-codeact-history-meta">
        <StateBadge state={summaryState(trans, item)} />
        <span>{new Date(item.created * 1000).toLocaleString()}</span>
        <span>
          {trans._n('%1 turn', '%1 turns', item.turns)}
          {' · '}
          {trans.__('%1 tokens', item.usage.total_tokens.toLocaleString())}
        </span>
      </span>
    </button>
  );
}

function Composer(props: { controller: ChatController }): JSX.Element {
  const { controller } = props;
  const trans = useTrans();
  const [text, setText] = React.useState('');
  const current = controller.current;
  const followUp = !!current && controller.view === 'chat';
  const running = followUp && !!current?.running;
  const disabled = running || controller.pending;
  const send = async () => {
    if (await controller.send(text)) {
      setText('');
    }
  };
  const placeholder =
    followUp && current?.awaitingApproval
      ? trans.__('Waiting for your decision on the action above…')
      : running
        ? trans.__('Running… (Stop interrupts it)')
        : followUp && controller.restorePending
          ? trans.__(
              "Follow up here: the episode's code runs again first, to re-make its variables…"
            )
          : followUp
            ? trans.__('Follow up on this episode…')
            : controller.notebook
              ? trans.__(
                  'Ask CodeAct to work in %1…',
                  basename(controller.notebook.context.localPath)
                )
              : trans.__('Open a notebook, then ask CodeAct…');
  return (
    <div className="jp-codeact-composer">
      <textarea
        className="jp-codeact-input jp-mod-styled"
        data-testid="codeact-input"
        rows={3}
        value={text}
        placeholder={placeholder}
        disabled={running}
        onChange={e => setText(e.target.value)}
        onKeyDown={e => {
          // Enter sends; Shift+Enter is a new line.
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            if (!disabled) {
              void send();
            }
          }
        }}
      />
      <button
        className="jp-Button jp-mod-styled jp-mod-accept jp-codeact-send"
        data-testid="codeact-send"
        disabled={disabled || !text.trim()}
        onClick={() => void send()}
      >
        {followUp && !running ? trans.__('Follow up') : trans.__('Send')}
      </button>
    </div>
  );
}

/**
 * Keeps the newest content in view, unless the user scrolled up to read.
 */
function ScrollArea(props: { children: React.ReactNode }): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const stick = React.useRef(true);
  const follow = () => {
    const node = ref.current;
    if (node && stick.current) {
      node.scrollTop = node.scrollHeight;
    }
  };
  React.useLayoutEffect(follow);
  // Markdown renders after React commits: follow those changes too.
  React.useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const observer = new MutationObserver(follow);
    observer.observe(node, {
      childList: true,
      subtree: true,
      characterData: true
    });
    return () => observer.disconnect();
  }, []);
  return (
    <div
      ref={ref}
      className="jp-codeact-scroll"
      onScroll={() => {
        const node = ref.current;
        if (node) {
          stick.current =
            node.scrollHeight - node.scrollTop - node.clientHeight < 40;
        }
      }}
    >
      {props.children}
    </div>
  );
}

function basename(path: string): string {
  return path.split('/').pop() || path;
}
