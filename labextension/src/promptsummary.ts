/**
 * The size of a request's prompt and what it shortened to fit the model's
 * context, in a line (`IAssistantData.condensed`).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IAssistantData } from './model';

/**
 * "Prompt: 3,012 of 4,096 tokens; 12 older outputs shortened", or null when
 * the whole history was sent.
 */
export function promptSummary(
  trans: TranslationBundle,
  data: IAssistantData
): string | null {
  const condensed = data.condensed;
  if (!condensed || data.prompt_tokens === undefined) {
    return null;
  }
  const parts: string[] = [];
  const outputs =
    (condensed.cut?.length ?? 0) + (condensed.omitted?.length ?? 0);
  if (outputs) {
    parts.push(
      trans._n(
        '%1 older output shortened',
        '%1 older outputs shortened',
        outputs
      )
    );
  }
  const replies = condensed.code?.length ?? 0;
  if (replies) {
    parts.push(
      trans._n(
        '%1 older reply shortened',
        '%1 older replies shortened',
        replies
      )
    );
  }
  const notebooks = condensed.notebook?.length ?? 0;
  if (notebooks) {
    parts.push(
      trans._n(
        '%1 older notebook view shortened',
        '%1 older notebook views shortened',
        notebooks
      )
    );
  }
  const dropped = condensed.dropped?.messages ?? 0;
  if (dropped) {
    parts.push(
      trans._n(
        '%1 earlier message left out',
        '%1 earlier messages left out',
        dropped
      )
    );
  }
  const size = data.context_tokens
    ? trans.__(
        'Prompt: %1 of %2 tokens',
        data.prompt_tokens.toLocaleString('en-US'),
        data.context_tokens.toLocaleString('en-US')
      )
    : trans.__('Prompt: %1 tokens', data.prompt_tokens.toLocaleString('en-US'));
  return [size, ...parts].join('; ');
}
