/**
 * The translation bundle of the chat, for React components that render deep
 * in the tree.
 */
import {
  ITranslator,
  TranslationBundle,
  nullTranslator
} from '@jupyterlab/translation';

import * as React from 'react';

/** The gettext domain of codeact-lab's strings. */
export const DOMAIN = 'codeact_lab';

export function bundle(translator: ITranslator | null): TranslationBundle {
  return (translator ?? nullTranslator).load(DOMAIN);
}

export const TransContext = React.createContext<TranslationBundle>(
  bundle(null)
);

export function useTrans(): TranslationBundle {
  return React.useContext(TransContext);
}
