/**
 * The user's settings (schema/plugin.json) as per-episode settings for the
 * server. Empty means "the server's default", so nothing is sent for it.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ISignal, Signal } from '@lumino/signaling';

import { IEpisodeSettings } from './api';

export type ApprovalSetting = '' | 'auto' | 'ask';

export interface IUserSettings {
  model: string;
  baseUrl: string;
  approval: ApprovalSetting;
  maxTurns: number;
  /** Show the model the notebook: its cells, outputs and latest error. */
  describeNotebook: boolean;
}

const DEFAULTS: IUserSettings = {
  model: '',
  baseUrl: '',
  approval: '',
  maxTurns: 0,
  describeNotebook: true
};

/**
 * Only what the user set: the body's `settings` of a new episode.
 */
export function episodeSettings(user: IUserSettings): IEpisodeSettings {
  const settings: IEpisodeSettings = {};
  if (user.model.trim()) {
    settings.model = user.model.trim();
  }
  if (user.baseUrl.trim()) {
    settings.base_url = user.baseUrl.trim();
  }
  if (user.approval) {
    settings.approval = user.approval;
  }
  if (user.maxTurns > 0) {
    settings.max_turns = user.maxTurns;
  }
  if (!user.describeNotebook) {
    settings.describe_notebook = false;
  }
  return settings;
}

/**
 * The plugin's settings, kept current, with a way to change the approval
 * mode from the chat.
 */
export class UserSettings {
  constructor(settings: ISettingRegistry.ISettings | null) {
    this._settings = settings;
    if (settings) {
      this._read();
      settings.changed.connect(() => {
        this._read();
        this._changed.emit();
      });
    }
  }

  get values(): IUserSettings {
    return this._values;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Change the approval mode: at once for this page, then in the settings.
   */
  async setApproval(approval: ApprovalSetting): Promise<void> {
    this._values = { ...this._values, approval };
    this._changed.emit();
    await this._settings?.set('approval', approval);
  }

  /**
   * Use this endpoint and model for the next episodes (a model server the
   * user accepted in the chat): at once for this page, then in the settings.
   * Only this user's settings change; clearing them brings back the server's.
   */
  async useEndpoint(baseUrl: string, model: string): Promise<void> {
    this._values = { ...this._values, baseUrl, model };
    this._changed.emit();
    await this._settings?.set('baseUrl', baseUrl);
    await this._settings?.set('model', model);
  }

  private _read(): void {
    const composite = this._settings?.composite ?? {};
    const str = (key: string) =>
      typeof composite[key] === 'string' ? (composite[key] as string) : '';
    const approval = str('approval');
    this._values = {
      model: str('model'),
      baseUrl: str('baseUrl'),
      approval: approval === 'auto' || approval === 'ask' ? approval : '',
      maxTurns: Number(composite.maxTurns) || 0,
      describeNotebook: composite.describeNotebook !== false
    };
  }

  private _settings: ISettingRegistry.ISettings | null;
  private _values: IUserSettings = { ...DEFAULTS };
  private _changed = new Signal<this, void>(this);
}
