/**
 * Which detected model server the sidebar offers: "Use qwen2.5-coder:7b from
 * Ollama?". Nothing here switches anything; accepting sets the user's own
 * settings (baseUrl and model).
 */
import { IDetectedServer } from './api';

export interface ILocalOffer {
  /** "Ollama" */
  name: string;
  baseUrl: string;
  /** The model offered first. */
  model: string;
  /** Every model the server lists, the offered one first. */
  models: string[];
}

/** Models that cannot chat (embeddings, rerankers) are never offered. */
const NOT_CHAT = /embed|rerank|whisper/i;

/**
 * The model to offer: a code model if there is one, else the first that can
 * chat.
 */
export function pickModel(models: string[]): string | null {
  const chat = models.filter(model => !NOT_CHAT.test(model));
  return chat.find(model => /code/i.test(model)) ?? chat[0] ?? null;
}

/**
 * The offer to show, if any: the first detected server with a chat model,
 * unless the user already chose an endpoint or turned this server down.
 */
export function localOffer(
  detected: IDetectedServer[] | undefined,
  userBaseUrl: string,
  dismissed: readonly string[]
): ILocalOffer | null {
  if (userBaseUrl.trim()) {
    return null; // the user's own choice stands
  }
  for (const server of detected ?? []) {
    if (dismissed.includes(server.base_url)) {
      continue;
    }
    const model = pickModel(server.models);
    if (model !== null) {
      const rest = server.models.filter(m => m !== model && !NOT_CHAT.test(m));
      return {
        name: server.name,
        baseUrl: server.base_url,
        model,
        models: [model, ...rest]
      };
    }
  }
  return null;
}
