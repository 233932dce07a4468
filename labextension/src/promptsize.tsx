/**
 * One line before a reply whose prompt was condensed to fit the model's
 * context: how large it was, and what of the history it shortened. The
 * record keeps everything whole; only the prompt was shortened.
 */
import * as React from 'react';

import { IAssistantData } from './model';

import { promptSummary } from './promptsummary';

import { useTrans } from './trans';

export function PromptSize(props: {
  data: IAssistantData;
}): JSX.Element | null {
  const trans = useTrans();
  const summary = promptSummary(trans, props.data);
  if (summary === null) {
    return null;
  }
  return (
    <div
      className="jp-codeact-prompt-size"
      data-testid="codeact-prompt-size"
      title={trans.__(
        "To fit the model's context, older parts of the history were shortened in what the model read. The episode's record keeps them whole."
      )}
    >
      {summary}
    </div>
  );
}
