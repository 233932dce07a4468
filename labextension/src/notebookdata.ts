/**
 * What codeact-lab reads from notebooks: the data of a `%codeact` display
 * (codeact_lab/magic.py) with the rule that decides whether rendering it may
 * start its episode, and the episode an exported notebook holds. No
 * JupyterLab runtime import here: node's test runner loads it as it is.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IEpisodeSettings } from './api';

/** The MIME type `%codeact` publishes. */
export const MAGIC_MIME_TYPE = 'application/vnd.codeact-lab.episode+json';

/** A display younger than this (seconds) may start its episode. */
export const FRESH_SECONDS = 5 * 60;

/** Tolerated clock skew between the kernel's machine and the browser (s). */
const SKEW_SECONDS = 60;

/**
 * The data of a `%codeact` display.
 */
export interface IMagicRequest {
  task: string;
  settings: IEpisodeSettings;
  request_id: string;
  /** When the magic ran (seconds since the epoch, the kernel's clock). */
  created: number;
  /** The magic's cell, as JupyterLab sent it in the execute request. */
  cell_id: string | null;
  /** The kernel that ran the magic, from its connection file name. */
  kernel_id: string | null;
}

/**
 * Check a display's data: the request, or why it is not one.
 */
export function parseMagicRequest(
  data: unknown,
  trans: TranslationBundle
): IMagicRequest | string {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return trans.__('This %codeact output holds no request.');
  }
  const d = data as { [key: string]: unknown };
  if (typeof d.task !== 'string' || !d.task.trim()) {
    return trans.__('This %codeact output has no task.');
  }
  if (typeof d.request_id !== 'string' || !d.request_id) {
    return trans.__('This %codeact output has no request id.');
  }
  const settings =
    d.settings && typeof d.settings === 'object' && !Array.isArray(d.settings)
      ? (d.settings as IEpisodeSettings)
      : {};
  const optional = (value: unknown) =>
    typeof value === 'string' && value ? value : null;
  return {
    task: d.task,
    settings,
    request_id: d.request_id,
    created: typeof d.created === 'number' ? d.created : 0,
    cell_id: optional(d.cell_id),
    kernel_id: optional(d.kernel_id)
  };
}

/**
 * Whether a display may start its episode by itself: recent (by the
 * kernel's clock, give or take some skew) and from a trusted output.
 */
export function mayStart(
  request: IMagicRequest,
  trusted: boolean,
  now = Date.now() / 1000
): boolean {
  const age = now - request.created;
  return trusted && age > -SKEW_SECONDS && age < FRESH_SECONDS;
}

/**
 * "3 minutes", "2 hours", "5 days": how old a display is.
 */
export function describeAge(trans: TranslationBundle, seconds: number): string {
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return trans._n('%1 minute', '%1 minutes', Math.max(1, minutes));
  }
  const hours = Math.round(minutes / 60);
  if (hours < 48) {
    return trans._n('%1 hour', '%1 hours', hours);
  }
  return trans._n('%1 day', '%1 days', Math.round(hours / 24));
}

/**
 * The episode an exported notebook holds (`metadata.codeact.record`).
 */
export interface IExportedEpisode {
  id: string;
  task: string;
  /** The notebook that holds it. */
  path: string;
}

/**
 * The episode of an exported notebook's metadata, if it holds one whole.
 */
export function exportedEpisode(
  metadata: unknown,
  path: string
): IExportedEpisode | null {
  const record = (metadata as any)?.record;
  if (
    !record ||
    typeof record !== 'object' ||
    typeof record.id !== 'string' ||
    !Array.isArray(record.steps)
  ) {
    return null;
  }
  return {
    id: record.id,
    task: typeof record.task === 'string' ? record.task : '',
    path
  };
}

/**
 * The settings a `%codeact` display's episode runs with.
 *
 * Consent comes from the user, never from a file: the endpoint never comes
 * from a display. A display the user just made (fresh and trusted: it starts
 * by itself) adds its magic's options (`--model`, `--max-turns`, `--auto` or
 * `--approve`) over the user's settings. Any other ("Run it here" on an old
 * or untrusted output) runs with the user's settings only; it may ask for
 * more caution (approval "ask"), never for less.
 */
export function magicSettings(
  user: IEpisodeSettings,
  request: IMagicRequest,
  ownRequest: boolean
): IEpisodeSettings {
  const asked = request.settings;
  const settings: IEpisodeSettings = { ...user };
  if (ownRequest) {
    if (typeof asked.model === 'string' && asked.model.trim()) {
      settings.model = asked.model.trim();
    }
    if (typeof asked.max_turns === 'number') {
      settings.max_turns = asked.max_turns;
    }
    if (asked.approval === 'auto' || asked.approval === 'ask') {
      settings.approval = asked.approval;
    }
  } else if (asked.approval === 'ask') {
    settings.approval = 'ask';
  }
  return settings;
}
