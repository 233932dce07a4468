/**
 * The episodes this page follows: one `EpisodeModel` per episode, fed by an
 * `EpisodeStream` while the episode runs. The sidebar and the notebook
 * applier both read from here, so they never disagree.
 */
import { IDisposable } from '@lumino/disposable';

import { ISignal, Signal } from '@lumino/signaling';

import { CodeActAPI, EpisodeStream, StreamStatus } from './api';

import { EpisodeModel, IEpisodeRecord } from './model';

export class EpisodeRegistry implements IDisposable {
  /**
   * Emitted when an episode is first followed.
   */
  get episodeAdded(): ISignal<this, EpisodeModel> {
    return this._episodeAdded;
  }

  /**
   * Emitted when the connection of an episode changes (connecting, live...).
   */
  get streamStatusChanged(): ISignal<this, EpisodeModel> {
    return this._streamStatusChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  get(id: string): EpisodeModel | undefined {
    return this._models.get(id);
  }

  all(): EpisodeModel[] {
    return [...this._models.values()];
  }

  streamStatus(id: string): StreamStatus {
    return this._streams.get(id)?.status ?? 'closed';
  }

  /**
   * Follow an episode from a record the server just returned (a POST answer).
   */
  adopt(record: IEpisodeRecord): EpisodeModel {
    let model = this._models.get(record.id);
    if (model) {
      model.reset(record);
    } else {
      model = new EpisodeModel(record);
      this._add(model);
    }
    if (model.running || record.running) {
      this.connect(model.id);
    }
    return model;
  }

  /**
   * The episode, fetched from the server if this page does not follow it yet.
   */
  async load(id: string): Promise<EpisodeModel> {
    const known = this._models.get(id);
    if (known) {
      return known;
    }
    return this.adopt(await CodeActAPI.getEpisode(id));
  }

  /**
   * (Re)open the event stream of an episode from its last applied seq: after
   * a follow-up, the server streams the new loop only to sockets opened now.
   */
  connect(id: string): void {
    const model = this._models.get(id);
    if (model) {
      (this._streams.get(id) ?? this._createStream(model)).connect();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    for (const stream of this._streams.values()) {
      stream.dispose();
    }
    this._streams.clear();
    Signal.clearData(this);
  }

  /**
   * The stream of an episode, owned by this registry (disposed with it).
   */
  private _createStream(model: EpisodeModel): EpisodeStream {
    const stream = new EpisodeStream({
      episodeId: model.id,
      since: () => model.record.last_seq,
      onEvent: ev => {
        model.apply(ev);
        // Nothing more will come once the episode ends (until a follow-up,
        // which reconnects): free the socket.
        if (ev.type === 'final') {
          stream.close();
        }
      },
      onStatus: () => this._streamStatusChanged.emit(model)
    });
    this._streams.set(model.id, stream);
    return stream;
  }

  private _add(model: EpisodeModel): void {
    this._models.set(model.id, model);
    this._episodeAdded.emit(model);
  }

  private _models = new Map<string, EpisodeModel>();
  private _streams = new Map<string, EpisodeStream>();
  private _episodeAdded = new Signal<this, EpisodeModel>(this);
  private _streamStatusChanged = new Signal<this, EpisodeModel>(this);
  private _disposed = false;
}
